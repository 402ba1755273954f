# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helper: one call to the Mimecast simulator's control API (/_sim/...), made on the controller.

A target makes a few hundred of these; as ansible.builtin.uri tasks each one shipped and ran a module
(about half a second on the CI machine), here each is one HTTP request from the controller process.
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
        method = args.get("method", "GET").upper()
        body = args.get("body")
        data = json.dumps(body) if method != "GET" else None
        result["changed"] = False
        try:
            response = open_url(
                args["url"], data=data, method=method, headers={"Content-Type": "application/json"}, timeout=120
            )
            text = response.read()
            result["status"] = response.getcode()
        except HTTPError as exc:
            result.update(failed=True, status=exc.code, msg="HTTP %s from %s: %s" % (exc.code, args["url"], exc.read()))
            return result
        except URLError as exc:
            result.update(failed=True, msg="cannot reach %s: %s" % (args["url"], exc.reason))
            return result
        result["json"] = json.loads(text) if text else None
        return result
