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
    ConnectionOptionsError,
    tenant_keys,
)
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import (
    INJECTED_OPTIONS,
    KEPT_OPTION,
    LOCKED_OPTION,
    REUSE_OPTION,
    ROOT_FACT,
    ROOT_OPTION,
    TOKEN_FACT,
    TOKEN_OPTION,
    detach,
)
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import unseal
from ansible_collections.community.mimecast.plugins.plugin_utils.run_store import RunStore
from ansible_collections.community.mimecast.plugins.plugin_utils.tenant_lock import lock_path, tenant_lock

display = Display()

# Seconds a kept token must still have to be passed on: a task that starts with it should not see it expire.
REUSE_MARGIN = 300


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


class Decision:
    """What the controller decided for one task before its module runs (TenantAction._decide), and the kept token
    it passed in (TenantAction._inject)."""

    def __init__(self, tenant, reuse, locked, root_key, kept=None):
        self.tenant = tenant
        self.reuse = reuse  # a kept token may be passed in, and the one the module fetches is kept
        self.locked = locked  # the module runs holding the tenant's lock
        self.root_key = root_key  # the key the directory's root is kept under, None when nothing is kept
        self.kept = kept  # the run's kept token as read before the lock
        self.token = None  # the kept token passed in, if any

    @property
    def lock_key(self):
        return self.tenant.lock_key if self.locked else None


class TenantAction(ActionBase):
    """The action of every community.mimecast module; ``_writes`` says whether it holds the tenant's lock.

    Per task: decide (tenant, lock, token reuse), inject the options of the contract (module_utils/run_contract.py),
    run the module, detach the private keys from its result, and keep what they carry in the run's store."""

    _writes = False
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        try:
            # The run's own local temporary directory: private to the user and removed when the run ends.
            store = RunStore(C.DEFAULT_LOCAL_TMP)
            decision = self._decide(store, wrap_async)
            with self._lock(decision.lock_key):
                args = self._inject(decision, store)
                module_result, refused = self._run_and_keep(args, task_vars, wrap_async, store, decision)
                if refused and decision.token is not None:
                    module_result = self._run_renewed(args, task_vars, wrap_async, store, decision, module_result)
            result = merge_hash(result, self._as_given(module_result, decision))
        finally:
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _decide(self, store, wrap_async):
        """Which tenant the task talks to, whether it holds the tenant's lock, and whether tokens are reused."""
        tenant = self._tenant()
        reuse = tenant is not None and tenant.token_key is not None and self._reuse_wanted(self._task.args)
        reuse = reuse and not wrap_async
        kept = store.get(tenant.token_key, TOKEN_FACT, REUSE_MARGIN) if reuse else None
        locked = tenant is not None and self._writes and not self._task.check_mode
        if reuse and kept is None:
            locked = True  # the first token of the run for these credentials: one fork fetches it
        # The directory's root, as a listing of this run proved it for the tenant (group_resolve.py).
        root_key = tenant.lock_key if tenant is not None and not wrap_async else None
        return Decision(tenant, reuse, locked, root_key, kept)

    def _inject(self, decision, store):
        """The module's arguments: the task's, with the contract's options set (replacing any value the task gave)."""
        args = dict(self._task.args)
        kept = decision.kept
        if decision.locked and decision.reuse:
            # re-read under the lock: a fork may have kept a token, or replaced a refused one, meanwhile
            kept = store.get(decision.tenant.token_key, TOKEN_FACT, REUSE_MARGIN)
        if decision.reuse and kept is not None and not args.get(TOKEN_OPTION):
            decision.token = kept
        if decision.token is not None:
            args[TOKEN_OPTION] = decision.token
        args[KEPT_OPTION] = decision.token is not None
        args[LOCKED_OPTION] = decision.locked  # only this plugin can know it holds the lock
        if not decision.reuse:
            args[REUSE_OPTION] = False  # nothing here could keep it: the module returns none
        args[ROOT_OPTION] = store.get(decision.root_key, ROOT_FACT) if decision.root_key else None
        return args

    def _run_and_keep(self, args, task_vars, wrap_async, store, decision):
        """Run the module, detach the contract's keys from its result and keep what they carry for later tasks of
        the run; return ``(result, whether the kept token was refused)``."""
        module_result = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        sealed, refused, learnt = detach(module_result)
        if decision.reuse and sealed is not None:
            self._keep(store, decision.tenant, sealed)
        if decision.root_key and learnt is not None and learnt != args.get(ROOT_OPTION):  # nothing new: no write
            store.put(decision.root_key, ROOT_FACT, learnt)
            display.vvv("community.mimecast: kept the directory's root id for later tasks of this run")
        return module_result, refused

    def _run_renewed(self, args, task_vars, wrap_async, store, decision, refused_result):
        """The kept token was refused at its first use, so the module ran nothing: run it once more, under the
        lock, with the token another fork kept meanwhile, or with none (it fetches one)."""
        tenant = decision.tenant
        with self._lock(None if decision.locked else tenant.lock_key):
            renewed = store.get(tenant.token_key, TOKEN_FACT, REUSE_MARGIN)
            if renewed is not None and renewed != decision.token:
                args[TOKEN_OPTION] = renewed
                display.vvv("community.mimecast: the kept API 2.0 token was refused; using a newer one")
            else:
                store.forget(tenant.token_key, TOKEN_FACT)
                del args[TOKEN_OPTION]
                display.vvv("community.mimecast: the kept API 2.0 token was refused; fetching a new one")
            args[KEPT_OPTION] = False
            args[LOCKED_OPTION] = True  # this run holds the lock
            module_result = self._run_and_keep(args, task_vars, wrap_async, store, decision)[0]
        # The task's requests include the one its first run sent with the refused token.
        module_result["requests"] = added_requests(refused_result.get("requests"), module_result.get("requests"))
        return module_result

    def _as_given(self, module_result, decision):
        """The module's result, its ``invocation`` showing the task's own arguments, as the user gave them."""
        module_args = (module_result.get("invocation") or {}).get("module_args")
        if isinstance(module_args, dict):
            if decision.token is not None and TOKEN_OPTION in module_args:
                module_args[TOKEN_OPTION] = None
            for option in INJECTED_OPTIONS:
                if option in module_args:
                    module_args[option] = self._task.args.get(option)
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
            return boolean(args.get(REUSE_OPTION, True), strict=True)
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
