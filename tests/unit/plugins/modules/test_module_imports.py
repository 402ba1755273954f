# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What importing each module costs a task: code a task may not need is imported where it is needed, so a task
without it does not compile it (docs/performance.md). Checked in a fresh interpreter, since this one has imported
everything already."""

import json
import os
import subprocess
import sys

import pytest

PACKAGE = "ansible_collections.community.mimecast.plugins."


def imported_after(module, then="pass"):
    """The collection's module_utils a fresh interpreter holds after importing ``module`` (``modules.X`` or
    ``module_utils.X``) and running ``then``, and the top-level packages it holds."""
    code = "import importlib, json, sys; importlib.import_module(%r); %s; print(json.dumps(sorted(sys.modules)))" % (
        PACKAGE + module,
        then,
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    names = json.loads(output)
    ours = set(name.rsplit(".", 1)[1] for name in names if name.startswith(PACKAGE + "module_utils."))
    return ours, set(name.split(".", 1)[0] for name in names)


@pytest.mark.parametrize("module", ["mimecast_group", "mimecast_group_info"])
def test_a_task_without_members_does_not_import_the_member_code(module):
    loaded, _packages = imported_after("modules." + module)
    assert "client" in loaded  # the check sees the module's imports at all
    assert "members" not in loaded
    assert not loaded & {"tree_plan", "tree_apply", "tree_members", "write_engine"}


def test_the_tree_module_imports_no_member_code_and_no_write_engine():
    loaded, _packages = imported_after("modules.mimecast_group_tree")
    assert "tree_apply" in loaded and "tree_plan" in loaded  # the check sees the module's imports at all
    assert not loaded & {"members", "tree_members", "write_engine"}


@pytest.mark.parametrize("module", ["mimecast_group", "mimecast_group_info", "mimecast_group_tree"])
def test_no_module_imports_requests_or_urllib3(module):
    loaded, packages = imported_after("modules." + module)
    assert "http_transport" in loaded  # the module's transport is imported: the check sees its imports at all
    assert not packages & {"requests", "urllib3"}  # about 45 ms a task (docs/performance.md)


def test_members_that_need_no_change_do_not_import_the_write_engine():
    # A tree task with members that are already as wanted writes nothing: the one member write returns at once.
    then = "m = sys.modules[%r]; assert list(m.send_member_writes(None, [('p', 'gid', [], [])])) == []" % (
        PACKAGE + "module_utils.members"
    )
    loaded, _packages = imported_after("module_utils.members", then)
    assert "members" in loaded and "write_engine" not in loaded
