# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller side of every community.mimecast module: each has an action plugin of its own name
(plugins/action/<module>.py) that is one of these classes. Three jobs, all per tenant:

* The lock (modules that write): the module runs while the task holds its tenant's lock, so forks never list
  the directory while another task of the same tenant is between its own listing and its write. Different
  tenants do not wait for each other; check mode, which writes nothing, takes no lock for that reason.
* API 2.0 token reuse (every module): a token a module fetched comes back to this plugin sealed with the client
  secret (module_utils/token_seal.py), is removed from the result before anything else sees it, and is kept in
  the run's store (run_store.py) under a key of base URL, client_id and a hash of client_secret; the next task
  with the same credentials gets it as ``access_token`` and fetches a new one only when it is refused. A token
  with less than REUSE_MARGIN seconds left is not passed on. A task that would fetch the first token of the run
  for its credentials holds the tenant's lock while it does (whatever the module), so forks share one token.
* The directory's root (every module): what a module's full listing proved of the tenant's invisible root
  (module_utils/group_resolve.py) comes back in a private result key, is removed from the result, kept in the
  run's store under the tenant's key and passed to the next task of the tenant as ``directory_root`` (replacing
  any value the task gave), so that task can find its group by name searches. Not a secret; it ends with the run.

Internal use only: this API may change without notice.
"""

import contextlib
import os

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.community.mimecast.plugins.module_utils.credentials import (
    BASE_URL_ENV,
    KEPT_OPTION,
    LOCKED_OPTION,
    TOKEN_OPTION,
    ConnectionOptionsError,
    tenant_keys,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_resolve import (
    ROOT_OPTION,
    ROOT_RESULT_KEY,
    known_root,
)
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import REFUSED_KEY, RESULT_KEY, unseal
from ansible_collections.community.mimecast.plugins.plugin_utils.run_store import RunStore
from ansible_collections.community.mimecast.plugins.plugin_utils.tenant_lock import lock_path, tenant_lock

display = Display()

# Seconds a kept token must still have to be passed on: a task that starts with it should not see it expire.
REUSE_MARGIN = 300
TOKEN_FACT = "token"
ROOT_FACT = "directory_root"


def added_requests(earlier, later):
    """The ``requests`` of a task whose module ran twice (a first run stopped by a refused kept token): the sums of
    both runs' counts, with the later run's rate-limit figures (the newest). Either may be missing."""
    if not isinstance(earlier, dict):
        return later
    if not isinstance(later, dict):
        return earlier
    by_endpoint = dict(earlier.get("by_endpoint") or {})
    for path, count in (later.get("by_endpoint") or {}).items():
        by_endpoint[path] = by_endpoint.get(path, 0) + count
    added = dict(later, by_endpoint=by_endpoint, total=(earlier.get("total") or 0) + (later.get("total") or 0))
    for figure in ("limit", "remaining"):
        if added.get(figure) is None:
            added[figure] = earlier.get(figure)
    return added


class Tenant:
    """What the controller can tell about a task's tenant: its lock key, and when the module's credentials are
    certain here, the key and client secret its token is kept under (else None)."""

    def __init__(self, lock_key, token_key=None, client_secret=None):
        self.lock_key = lock_key
        self.token_key = token_key
        self.client_secret = client_secret


class TenantAction(ActionBase):
    """The action of every community.mimecast module; ``_writes`` says whether it holds the tenant's lock."""

    _writes = False
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        try:
            tenant = self._tenant()
            args = dict(self._task.args)
            # The run's own local temporary directory: private to the user and removed when the run ends.
            store = RunStore(C.DEFAULT_LOCAL_TMP)
            reuse = tenant is not None and tenant.token_key is not None and self._reuse_wanted(args) and not wrap_async
            cached = store.get(tenant.token_key, TOKEN_FACT, REUSE_MARGIN) if reuse else None
            locked = tenant is not None and self._writes and not self._task.check_mode
            if reuse and cached is None:
                locked = True  # the first token of the run for these credentials: one fork fetches it
            with self._lock(tenant.lock_key if locked else None):
                if locked and reuse:
                    # re-read under the lock: a fork may have kept a token, or replaced a refused one, meanwhile
                    cached = store.get(tenant.token_key, TOKEN_FACT, REUSE_MARGIN)
                injected = reuse and cached is not None and not args.get(TOKEN_OPTION)
                if injected:
                    args[TOKEN_OPTION] = cached
                args[KEPT_OPTION] = injected  # replacing any value the task gave
                args[LOCKED_OPTION] = locked  # the same: only this plugin can know it holds the lock
                if not reuse:
                    args["reuse_token"] = False  # nothing here could keep it: the module returns none
                # The directory's root, as a listing of this run proved it for the tenant (group_resolve.py).
                root_key = tenant.lock_key if tenant is not None and not wrap_async else None
                args[ROOT_OPTION] = store.get(root_key, ROOT_FACT) if root_key else None
                module_result = self._run_module(args, task_vars, wrap_async, store, tenant, reuse, root_key)
                if module_result.pop(REFUSED_KEY, False) and injected:
                    # The kept token was refused at its first use, so the module ran nothing: run it once more,
                    # under the lock, with the token another fork kept meanwhile, or with none (it fetches one).
                    with self._lock(None if locked else tenant.lock_key):
                        renewed = store.get(tenant.token_key, TOKEN_FACT, REUSE_MARGIN)
                        if renewed is not None and renewed != cached:
                            args[TOKEN_OPTION] = renewed
                            display.vvv("community.mimecast: the kept API 2.0 token was refused; using a newer one")
                        else:
                            store.forget(tenant.token_key, TOKEN_FACT)
                            del args[TOKEN_OPTION]
                            display.vvv("community.mimecast: the kept API 2.0 token was refused; fetching a new one")
                        args[KEPT_OPTION] = False
                        args[LOCKED_OPTION] = True  # this run holds the lock
                        refused = module_result.get("requests")
                        module_result = self._run_module(args, task_vars, wrap_async, store, tenant, reuse, root_key)
                        # The task's requests include the one its first run sent with the refused token.
                        module_result["requests"] = added_requests(refused, module_result.get("requests"))
            # the task's own arguments, as the user gave them
            module_args = (module_result.get("invocation") or {}).get("module_args")
            if isinstance(module_args, dict):
                if injected and TOKEN_OPTION in module_args:
                    module_args[TOKEN_OPTION] = None
                for option in (ROOT_OPTION, KEPT_OPTION, LOCKED_OPTION):
                    if option in module_args:
                        module_args[option] = self._task.args.get(option)
            result = merge_hash(result, module_result)
        finally:
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _run_module(self, args, task_vars, wrap_async, store, tenant, reuse, root_key):
        """Run the module; keep what it returned for later tasks of the run (removed from its result)."""
        module_result = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        sealed = module_result.pop(RESULT_KEY, None)
        if reuse and sealed is not None:
            self._keep(store, tenant, sealed)
        learnt = known_root(module_result.pop(ROOT_RESULT_KEY, None))
        if root_key and learnt is not None and learnt != args.get(ROOT_OPTION):  # nothing new: no file written
            store.put(root_key, ROOT_FACT, learnt)
            display.vvv("community.mimecast: kept the directory's root id for later tasks of this run")
        return module_result

    @contextlib.contextmanager
    def _lock(self, key):
        if key is None:
            yield
            return
        # The parent of this run's local temporary directory is the configured local_tmp (by default
        # ~/.ansible/tmp, created 0700): private to the user, and the same for every ansible-playbook run of
        # that user, so concurrent runs on this controller wait for each other too.
        path = lock_path(os.path.dirname(C.DEFAULT_LOCAL_TMP), key)
        with tenant_lock(path) as waited:
            display.vvv("community.mimecast: waited %.2fs for the tenant lock %s" % (waited, path))
            yield

    @staticmethod
    def _reuse_wanted(args):
        try:
            return boolean(args.get("reuse_token", True), strict=True)
        except TypeError:
            return False  # the module refuses the value itself

    @staticmethod
    def _keep(store, tenant, sealed):
        try:
            token = unseal(tenant.client_secret, sealed["sealed"])
            lifetime = int(sealed["expires_in"])
        except (TypeError, KeyError, ValueError):
            display.vvv("community.mimecast: the module's token could not be opened; it is not kept")
            return
        store.put(tenant.token_key, TOKEN_FACT, token, expires_in=lifetime)
        display.vvv("community.mimecast: kept the API 2.0 token for later tasks of this run (%ds left)" % lifetime)

    def _tenant(self):
        """The task's Tenant, from its options and the environment its module will run with; None when unknown."""
        environment = {}
        self._compute_environment_string(environment)  # the task's `environment:` keyword, templated
        local = self._connection.transport == "local"
        if local:  # the module inherits the controller's environment under the task's own variables
            environment = dict(os.environ, **environment)
        args = self._task.args
        try:
            lock_key, token_key, client_secret = tenant_keys(args, environment)  # one resolution a task
        except ConnectionOptionsError as exc:
            if not local and self._writes and not self._task.check_mode:
                # the module may still find its credentials in the remote host's own environment
                display.warning(
                    "community.mimecast: the controller cannot tell which tenant this task writes to from its "
                    "options (%s), so it runs without the per-tenant lock. Set the connection options with "
                    "module_defaults, from a vault; not with the task's environment keyword, which Ansible prints "
                    "at -vvv." % exc
                )
            return None  # locally the module refuses these options itself, before any request
        if token_key is None:
            return Tenant(lock_key)
        if not local and args.get("base_url") is None and BASE_URL_ENV not in environment:
            return Tenant(lock_key)  # the remote host's MIMECAST_BASE_URL may choose another host: no reuse
        return Tenant(lock_key, token_key, client_secret)


class TenantLockAction(TenantAction):
    """The action of every module that writes: run the module while holding its tenant's lock (not async: the
    job would outlive the lock, so it is refused rather than left unguarded)."""

    _writes = True
    _supports_async = False
