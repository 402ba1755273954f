# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mimecast_group_tree writes to Mimecast, so it runs under its tenant's lock on the controller,
and shares the run's API 2.0 token with the other modules.

See plugins/plugin_utils/tenant_action.py.
"""

from ansible_collections.community.mimecast.plugins.plugin_utils.tenant_action import TenantLockAction


class ActionModule(TenantLockAction):
    pass
