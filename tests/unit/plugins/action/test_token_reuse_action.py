# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugins' API 2.0 token reuse, with the module replaced by a function that plays its part: it
records the arguments it was given and returns a result with a sealed token, as the real module does."""

import os
import stat
from types import SimpleNamespace

import pytest

from ansible_collections.community.mimecast.plugins.action import mimecast_group as group_action
from ansible_collections.community.mimecast.plugins.action import mimecast_group_info as info_action
from ansible_collections.community.mimecast.plugins.module_utils.credentials import credential_key
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import TOKEN_RESULT_KEY as RESULT_KEY
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import seal
from ansible_collections.community.mimecast.plugins.plugin_utils import tenant_action

URL = "http://127.0.0.1:8080"
API2 = {"client_id": "cid-1", "client_secret": "client-secret-1", "base_url": URL}


class Module:
    """Plays the module: returns a new sealed token when it was given none (or the one it got was 'refused')."""

    def __init__(self, refuse=()):
        self.calls = []
        self.issued = 0
        self.refuse = set(refuse)

    def __call__(self, module_args=None, task_vars=None, wrap_async=False):
        self.calls.append(dict(module_args))
        result = {"changed": False, "invocation": {"module_args": dict(module_args)}}
        given = module_args.get("access_token")
        if given and given not in self.refuse:
            return result
        self.issued += 1
        token = "token-%d-%s" % (self.issued, "x" * 40)
        if module_args.get("reuse_token", True) is not False:
            result[RESULT_KEY] = {"sealed": seal(module_args["client_secret"], token), "expires_in": 1800}
        return result


def task(module, args, plugin_module=group_action, transport="local", check_mode=False, async_val=0):
    plugin = plugin_module.ActionModule.__new__(plugin_module.ActionModule)
    plugin._task = SimpleNamespace(args=args, environment=[{}], check_mode=check_mode, async_val=async_val)
    plugin._templar = SimpleNamespace(template=lambda value: value)
    plugin._connection = SimpleNamespace(
        transport=transport,
        has_native_async=False,
        _shell=SimpleNamespace(env_prefix=lambda **env: "", tmpdir=None),
    )
    plugin._execute_module = module
    plugin._remove_tmp_path = lambda path: None
    return plugin.run(task_vars={})


def test_the_token_of_the_first_task_is_given_to_the_next_and_never_returned(run_dir):
    module = Module()
    first = task(module, dict(API2, name="A"))
    second = task(module, dict(API2, name="B"), plugin_module=info_action)
    third = task(module, dict(API2, name="C"))
    assert module.issued == 1
    assert "access_token" not in module.calls[0]
    assert module.calls[1]["access_token"] == module.calls[2]["access_token"] == "token-1-" + "x" * 40
    for result in (first, second, third):
        assert RESULT_KEY not in result and "token-1" not in repr(result)
        assert result["invocation"]["module_args"].get("access_token") is None
    files = os.listdir(str(run_dir))
    assert len(files) == 1 and files[0].startswith("community.mimecast-run-") and files[0].endswith("-token.json")
    assert stat.S_IMODE(os.stat(os.path.join(str(run_dir), files[0])).st_mode) == 0o600


def test_a_refused_token_is_replaced_and_the_new_one_kept(run_dir):
    module = Module(refuse={"token-1-" + "x" * 40})
    task(module, dict(API2, name="A"))
    task(module, dict(API2, name="B"))  # given token-1, refused, fetches token-2
    task(module, dict(API2, name="C"))
    assert module.issued == 2
    assert module.calls[2]["access_token"] == "token-2-" + "x" * 40


def test_other_credentials_never_get_the_token(run_dir):
    module = Module()
    task(module, dict(API2, name="A"))
    task(module, dict(API2, name="B", client_secret="wrong-secret"))
    task(module, dict(API2, name="B", client_id="cid-2"))
    task(module, dict(API2, name="B", base_url="http://127.0.0.1:8081"))
    assert [("access_token" in call) for call in module.calls] == [False] * 4


def test_reuse_token_false_keeps_and_passes_nothing(run_dir):
    module = Module()
    first = task(module, dict(API2, name="A", reuse_token=False))
    task(module, dict(API2, name="B", reuse_token="no"))
    assert module.issued == 2 and [c["reuse_token"] for c in module.calls] == [False, False]
    assert RESULT_KEY not in first and os.listdir(str(run_dir)) == []


def test_a_token_close_to_its_expiry_is_not_passed_on(run_dir):
    module = Module()
    task(module, dict(API2, name="A"))
    store = tenant_action.RunStore(str(run_dir))
    key = credential_key(API2, {})
    store.put(key, "token", "old-token", expires_in=tenant_action.REUSE_MARGIN - 1)
    task(module, dict(API2, name="B"))
    assert "access_token" not in module.calls[1] and module.issued == 2


def test_a_token_the_user_gives_is_not_replaced_by_the_kept_one(run_dir):
    module = Module()
    task(module, dict(API2, name="A"))
    task(module, dict(API2, name="B", access_token="users-token"))
    assert module.calls[1]["access_token"] == "users-token"


def test_no_reuse_when_a_remote_host_may_choose_the_base_url(run_dir):
    module = Module()
    remote = {"client_id": "cid-1", "client_secret": "client-secret-1", "name": "A"}
    task(module, remote, transport="ssh")
    task(module, remote, transport="ssh")
    assert module.issued == 2 and all(c["reuse_token"] is False for c in module.calls)
    task(module, dict(remote, base_url=URL), transport="ssh")
    task(module, dict(remote, base_url=URL), transport="ssh")
    assert module.issued == 3 and module.calls[3]["access_token"].startswith("token-3")


def test_no_reuse_for_an_async_info_task(run_dir):
    module = Module()
    task(module, dict(API2, name="A"), plugin_module=info_action, async_val=60)
    assert module.calls[0]["reuse_token"] is False and os.listdir(str(run_dir)) == []


def test_a_read_that_fetches_the_first_token_holds_the_lock_and_later_reads_do_not(run_dir, monkeypatch):
    locked = []
    real_lock = tenant_action.tenant_lock

    def recording_lock(path):
        locked.append(path)
        return real_lock(path)

    monkeypatch.setattr(tenant_action, "tenant_lock", recording_lock)
    module = Module()
    task(module, dict(API2, name="A"), plugin_module=info_action)
    task(module, dict(API2, name="B"), plugin_module=info_action)
    task(module, dict(API2, name="C"), plugin_module=info_action, check_mode=True)
    task(module, dict(API2, name="D"))  # a write always locks
    assert len(locked) == 2 and locked[0] == locked[1]


@pytest.mark.parametrize("value", [8080, ["x"]])
def test_a_base_url_of_another_type_reaches_the_module_which_refuses_it(run_dir, value):
    module = Module()
    task(module, dict(API2, name="A", base_url=value))
    assert module.calls[0]["base_url"] == value and module.calls[0]["reuse_token"] is False
