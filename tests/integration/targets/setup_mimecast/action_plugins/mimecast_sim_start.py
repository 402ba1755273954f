# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helper: start the Mimecast simulator of this ansible-test run, or find the one it runs already.

    - name: The simulator of this run
      mimecast_sim_start:
      register: mimecast_sim   # url, ca_cert, credentials (the simulator's accounts: use no_log)

On the controller, through setup_mimecast's files/mimecast_sim.py, which says how long the simulator lives.
"""

import importlib.util
import os

from ansible.plugins.action import ActionBase

HELPER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "files", "mimecast_sim.py")


def _helper():
    spec = importlib.util.spec_from_file_location("mimecast_sim", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        helper = _helper()
        try:
            info = helper.ensure()
        except (helper.SimulatorError, OSError) as exc:
            result.update(failed=True, msg="cannot start the Mimecast simulator: %s" % exc)
            return result
        result.update(changed=False, url=info["url"], ca_cert=info.get("ca_cert"), credentials=info["credentials"])
        return result
