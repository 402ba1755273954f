# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helper: one call to the Mimecast simulator's control API, made on the controller.

    - name: Empty the simulator
      mimecast_sim_control:
        call: reset          # path under <mimecast_sim_url>/_sim/
        method: POST         # default GET
        body: {}             # JSON body of a POST, optional
      register: sim          # sim.status, sim.json

Every target depends on setup_mimecast (meta/main.yml), which puts this plugin on the action plugin path;
playbooks run by a runme.sh find it through ANSIBLE_ACTION_PLUGINS. A target makes a few hundred of these
calls: as ansible.builtin.uri tasks each one shipped and ran a module, and as an include of a task file each
one cost an include on top; here each is one task and one HTTP request from the controller process.
Returns ``status`` and ``json`` like uri with return_content; fails on an HTTP error, like uri.
"""

import json

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        url = "%s/_sim/%s" % (task_vars["mimecast_sim_url"], args["call"])
        method = args.get("method", "GET").upper()
        body = args.get("body") or {}
        data = json.dumps(body) if method != "GET" else None
        result["changed"] = False
        try:
            response = open_url(
                url, data=data, method=method, headers={"Content-Type": "application/json"}, timeout=120
            )
            text = response.read()
            result["status"] = response.getcode()
        except HTTPError as exc:
            result.update(failed=True, status=exc.code, msg="HTTP %s from %s: %s" % (exc.code, url, exc.read()))
            return result
        except URLError as exc:
            result.update(failed=True, msg="cannot reach %s: %s" % (url, exc.reason))
            return result
        result["json"] = json.loads(text) if text else None
        return result
