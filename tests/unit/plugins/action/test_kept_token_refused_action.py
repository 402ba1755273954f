# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A kept API 2.0 token that Mimecast refuses (revoked): the forks that meet it renew it once, under the tenant's
lock. The module is played by a function that behaves as the real one does with ``kept_token``: refused at its
first use, a kept token makes it stop and say so; any other refused token it replaces by fetching one."""

import threading

from ansible_collections.community.mimecast.plugins.action import mimecast_group_info as info_action
from ansible_collections.community.mimecast.plugins.module_utils.credentials import credential_key
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import REFUSED_RESULT_KEY as REFUSED_KEY
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import TOKEN_RESULT_KEY as RESULT_KEY
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import seal
from ansible_collections.community.mimecast.plugins.plugin_utils import tenant_action
from ansible_collections.community.mimecast.tests.unit.plugins.action.test_token_reuse_action import API2, task

REVOKED = "revoked-token-" + "r" * 30
FORKS = 8


class Module:
    """Plays the module; ``gate`` holds every first run until all forks have read the kept token."""

    def __init__(self, gate=None):
        self.lock = threading.Lock()
        self.runs = []
        self.fetched = 0
        self.gate = gate

    def __call__(self, module_args=None, task_vars=None, wrap_async=False):
        given = module_args.get("access_token")
        with self.lock:
            self.runs.append(dict(module_args))
        if self.gate is not None and module_args.get("kept_token"):
            self.gate.wait(timeout=10)
        result = {"changed": False, "invocation": {"module_args": dict(module_args)}}
        if given and given != REVOKED:
            return result
        if given and module_args.get("kept_token"):
            return dict(result, failed=True, msg="the access_token was refused", **{REFUSED_KEY: True})
        with self.lock:
            self.fetched += 1
            token = "token-%d-%s" % (self.fetched, "x" * 40)
        result[RESULT_KEY] = {"sealed": seal(module_args["client_secret"], token), "expires_in": 1800}
        return result


def keep_revoked(run_dir):
    tenant_action.RunStore(str(run_dir)).put(credential_key(API2, {}), "token", REVOKED, 1800)


def test_eight_forks_meeting_a_revoked_kept_token_fetch_one_new_token(run_dir):
    keep_revoked(run_dir)
    module = Module(gate=threading.Barrier(FORKS))
    results = [None] * FORKS

    def fork(index):  # reads: no write lock, so the eight first runs overlap, as forks of a read task do
        results[index] = task(module, dict(API2, name="G%d" % index), plugin_module=info_action)

    threads = [threading.Thread(target=fork, args=(i,)) for i in range(FORKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert module.fetched == 1
    assert not any(result.get("failed") for result in results)
    assert all(REFUSED_KEY not in result and RESULT_KEY not in result for result in results)
    first_runs = [run for run in module.runs if run.get("kept_token")]
    assert len(first_runs) == FORKS and all(run["access_token"] == REVOKED for run in first_runs)
    # the second runs: one without a token (it fetched), the others with the one it kept
    second = [run.get("access_token") for run in module.runs if not run.get("kept_token")]
    assert sorted(second, key=str) == sorted([None] + ["token-1-" + "x" * 40] * (FORKS - 1), key=str)
    assert tenant_action.RunStore(str(run_dir)).get(credential_key(API2, {}), "token") == ("token-1-" + "x" * 40)


def test_writing_forks_meet_a_revoked_kept_token_once(run_dir):
    keep_revoked(run_dir)
    module = Module()
    results = [task(module, dict(API2, name="G%d" % index)) for index in range(FORKS)]
    assert module.fetched == 1 and not any(result.get("failed") for result in results)
    assert [run.get("access_token") for run in module.runs] == [REVOKED, None] + ["token-1-" + "x" * 40] * 7


def test_a_writing_task_reads_the_kept_token_again_inside_the_lock(run_dir, monkeypatch):
    keep_revoked(run_dir)
    store = tenant_action.RunStore(str(run_dir))
    key = credential_key(API2, {})
    real_lock = tenant_action.TenantAction._lock

    def lock_after_a_fork_renewed(self, lock_key):
        if lock_key is not None:  # another fork renewed the token while this one waited for the lock
            store.put(key, "token", "renewed-" + "y" * 40, 1800)
        return real_lock(self, lock_key)

    monkeypatch.setattr(tenant_action.TenantAction, "_lock", lock_after_a_fork_renewed)
    module = Module()
    result = task(module, dict(API2, name="A"))
    assert [run["access_token"] for run in module.runs] == ["renewed-" + "y" * 40]
    assert module.fetched == 0 and not result.get("failed")


def test_a_task_given_a_token_by_the_user_is_never_run_twice(run_dir):
    module = Module()
    result = task(module, dict(API2, name="A", access_token=REVOKED))
    assert len(module.runs) == 1 and module.runs[0]["kept_token"] is False
    assert module.fetched == 1 and not result.get("failed")


def test_kept_token_given_in_a_task_is_replaced_and_shown_as_given(run_dir):
    module = Module()
    result = task(module, dict(API2, name="A", kept_token=True))
    assert module.runs[0]["kept_token"] is False
    assert result["invocation"]["module_args"]["kept_token"] is True


def test_requests_of_the_run_stopped_by_the_refused_token_are_counted_in_the_task(run_dir):
    # The first run sent one request (refused with the revoked token); the second fetched a token and listed.
    keep_revoked(run_dir)
    module = Module()
    counts = iter(
        [
            {"total": 1, "by_endpoint": {"/api/directory/find-groups": 1}, "limit": 50, "remaining": 49},
            {
                "total": 2,
                "by_endpoint": {"/oauth/token": 1, "/api/directory/find-groups": 1},
                "limit": 50,
                "remaining": 48,
            },
        ]
    )

    def counted(module_args=None, task_vars=None, wrap_async=False):
        return dict(module(module_args, task_vars, wrap_async), requests=next(counts))

    result = task(counted, dict(API2, name="G"))
    assert not result.get("failed") and module.fetched == 1
    assert result["requests"] == {
        "total": 3,
        "by_endpoint": {"/oauth/token": 1, "/api/directory/find-groups": 2},
        "limit": 50,
        "remaining": 48,
    }
