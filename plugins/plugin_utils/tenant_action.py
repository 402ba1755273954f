# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller side of the community.mimecast modules that write: each has an action plugin of its own name
(plugins/action/<module>.py) that is this class. The module runs while the task holds its tenant's lock, so
forks never list the directory while another task of the same tenant is between its own listing and its
write. Different tenants do not wait for each other; check mode, which writes nothing, takes no lock.
Internal use only: this API may change without notice.
"""

import os

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.community.mimecast.plugins.module_utils.credentials import (
    ConnectionOptionsError,
    tenant_key,
)
from ansible_collections.community.mimecast.plugins.plugin_utils.tenant_lock import lock_path, tenant_lock

display = Display()


class TenantLockAction(ActionBase):
    """The action of every module that writes: run the module while holding its tenant's lock."""

    _supports_check_mode = True
    # An async job would outlive the lock, which ends when the job has started: refused, not left unguarded.
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        key = None if self._task.check_mode else self._tenant_key()
        try:
            if key is None:
                result = merge_hash(result, self._execute_module(task_vars=task_vars))
            else:
                # The parent of this run's local temporary directory is the configured local_tmp (by default
                # ~/.ansible/tmp, created 0700): private to the user, and the same for every ansible-playbook
                # run of that user, so concurrent runs on this controller wait for each other too.
                path = lock_path(os.path.dirname(C.DEFAULT_LOCAL_TMP), key)
                with tenant_lock(path) as waited:
                    display.vvv("community.mimecast: waited %.2fs for the tenant lock %s" % (waited, path))
                    result = merge_hash(result, self._execute_module(task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _tenant_key(self):
        """The tenant key of this task, from its options and the environment its module will run with."""
        environment = {}
        self._compute_environment_string(environment)  # the task's `environment:` keyword, templated
        local = self._connection.transport == "local"
        if local:  # the module inherits the controller's environment under the task's own variables
            environment = dict(os.environ, **environment)
        try:
            return tenant_key(self._task.args, environment)
        except ConnectionOptionsError as exc:
            if not local:  # the module may still find its credentials in the remote host's own environment
                display.warning(
                    "community.mimecast: the controller cannot tell which tenant this task writes to from its "
                    "options and environment keyword (%s), so it runs without the per-tenant lock; set the "
                    "connection options on the task (module_defaults) or in its environment keyword." % exc
                )
            return None  # locally the module refuses these options itself, before any request
