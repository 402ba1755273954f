# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.plugin_utils import tenant_action


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """The run's own local temporary directory, where the action plugins keep what a run remembers."""
    directory = tmp_path / "ansible-local-1abc"
    directory.mkdir(mode=0o700)
    monkeypatch.setattr(tenant_action.C, "DEFAULT_LOCAL_TMP", str(directory))
    monkeypatch.setattr(tenant_action.ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    for name in ("MIMECAST_BASE_URL", "MIMECAST_CLIENT_ID", "MIMECAST_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return directory
