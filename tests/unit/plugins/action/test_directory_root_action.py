# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugins keep what a module's listing proved of the directory's root for the tenant and the run (the
run store that keeps the API 2.0 token), and pass it to the next task of the tenant as ``directory_root``."""

import os
import stat

from ansible_collections.community.mimecast.plugins.action import mimecast_group_info as info_action
from ansible_collections.community.mimecast.plugins.action import mimecast_group_tree as tree_action
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import ROOT_OPTION, ROOT_RESULT_KEY
from ansible_collections.community.mimecast.plugins.plugin_utils.run_store import RunStore
from ansible_collections.community.mimecast.tests.unit.plugins.action.test_token_reuse_action import URL, task

API1 = {"access_key": "ak-1", "secret_key": "c2VjcmV0", "app_id": "app-1", "app_key": "key-1", "base_url": URL}
OTHER = dict(API1, base_url="http://127.0.0.1:9090")


class Module:
    """Plays the module: records its arguments; returns ``learnt`` (when given) as its listing's root fact."""

    def __init__(self, learnt=None):
        self.calls = []
        self.learnt = learnt

    def __call__(self, module_args=None, task_vars=None, wrap_async=False):
        self.calls.append(dict(module_args))
        result = {"changed": False, "invocation": {"module_args": dict(module_args)}}
        if self.learnt is not None:
            result[ROOT_RESULT_KEY] = self.learnt
        return result


def test_the_root_a_listing_proved_goes_to_the_next_task_of_the_tenant_only(run_dir):
    fact = {"id": "eNoROOT", "groups": 10000}
    first = task(Module(learnt=fact), dict(API1, name="A"), plugin_module=tree_action)
    assert ROOT_RESULT_KEY not in first
    later = Module()
    second = task(later, dict(API1, name="B"))
    task(later, dict(OTHER, name="C"))
    assert later.calls[0][ROOT_OPTION] == fact
    assert later.calls[1][ROOT_OPTION] is None  # another tenant
    assert second["invocation"]["module_args"][ROOT_OPTION] is None  # the task's own arguments
    kept = [name for name in os.listdir(str(run_dir)) if "directory_root" in name]
    assert len(kept) == 1
    assert stat.S_IMODE(os.stat(os.path.join(str(run_dir), kept[0])).st_mode) == 0o600


def test_a_value_the_task_gives_is_replaced_and_a_malformed_one_never_kept(run_dir):
    module = Module(learnt={"id": "", "groups": 3})
    task(module, dict(API1, name="A", directory_root={"id": "made-up", "groups": 10000}))
    assert module.calls[0][ROOT_OPTION] is None
    task(module, dict(API1, name="B"))
    assert module.calls[1][ROOT_OPTION] is None


def test_nothing_is_kept_or_passed_for_an_async_task(run_dir):
    module = Module(learnt={"id": "eNoROOT", "groups": 500})
    task(module, dict(API1, name="A"), plugin_module=info_action, async_val=10)
    assert module.calls[0][ROOT_OPTION] is None
    assert [name for name in os.listdir(str(run_dir)) if "directory_root" in name] == []


def test_a_root_the_task_was_given_is_not_written_again_and_a_new_one_is(run_dir, monkeypatch):
    fact = {"id": "eNoROOT", "groups": 10000, "witness": "Finance"}
    task(Module(learnt=fact), dict(API1, name="A"))
    written = []
    real_put = RunStore.put
    monkeypatch.setattr(RunStore, "put", lambda self, *a, **k: written.append(a) or real_put(self, *a, **k))
    again = Module(learnt=dict(fact))  # the next listing proves the same root: the kept file stays as it is
    task(again, dict(API1, name="B"))
    assert again.calls[0][ROOT_OPTION] == fact
    assert written == []
    moved = dict(fact, groups=10001)  # a group more: the fact changed, so it is kept
    task(Module(learnt=moved), dict(API1, name="C"))
    assert [a[1:] for a in written] == [("directory_root", moved)]
    later = Module()
    task(later, dict(API1, name="D"))
    assert later.calls[0][ROOT_OPTION] == moved
