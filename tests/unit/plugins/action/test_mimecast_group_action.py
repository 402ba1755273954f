# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from types import SimpleNamespace

import pytest

from ansible_collections.community.mimecast.plugins.action import mimecast_group as action_plugin
from ansible_collections.community.mimecast.plugins.module_utils.credentials import tenant_key
from ansible_collections.community.mimecast.plugins.plugin_utils import tenant_action

URL = "http://127.0.0.1:8080"
API2 = {"client_id": "cid-1", "client_secret": "client-secret-1"}
API2_ENV = {"MIMECAST_BASE_URL": URL, "MIMECAST_CLIENT_ID": "cid-1", "MIMECAST_CLIENT_SECRET": "client-secret-1"}
EXPECTED = tenant_key(dict(API2, base_url=URL), {})


def action(args, environment=None, transport="local"):
    """The action plugin with just what its tenant key reads: the task's args and environment keyword,
    and the connection's transport."""
    plugin = action_plugin.ActionModule.__new__(action_plugin.ActionModule)
    plugin._task = SimpleNamespace(args=args, environment=[environment or {}], check_mode=False, async_val=0)
    plugin._templar = SimpleNamespace(template=lambda value: value)
    plugin._connection = SimpleNamespace(transport=transport, _shell=SimpleNamespace(env_prefix=lambda **env: ""))
    return plugin


@pytest.fixture
def clean_environ(monkeypatch):
    for name in list(API2_ENV) + ["MIMECAST_ACCESS_KEY", "MIMECAST_SECRET_KEY", "MIMECAST_APP_ID", "MIMECAST_APP_KEY"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_key_from_options(clean_environ):
    assert action(dict(API2, name="A", base_url=URL))._tenant().lock_key == EXPECTED


def test_key_from_the_environment_keyword_agrees(clean_environ):
    assert action({"name": "A"}, API2_ENV)._tenant().lock_key == EXPECTED


def test_key_from_the_controllers_variables_agrees_on_a_local_connection(clean_environ):
    for name, value in API2_ENV.items():
        clean_environ.setenv(name, value)
    assert action({"name": "A"})._tenant().lock_key == EXPECTED


def test_environment_keyword_wins_over_the_controllers_variables(clean_environ):
    for name, value in API2_ENV.items():
        clean_environ.setenv(name, value)
    other = dict(API2_ENV, MIMECAST_CLIENT_ID="cid-2")
    assert action({"name": "A"}, other)._tenant().lock_key == tenant_key({}, other)


def test_remote_module_does_not_see_the_controllers_variables(clean_environ):
    warnings = []
    clean_environ.setattr(tenant_action.display, "warning", warnings.append)
    for name, value in API2_ENV.items():
        clean_environ.setenv(name, value)
    assert action({"name": "A"}, transport="ssh")._tenant() is None
    assert len(warnings) == 1 and "without the per-tenant lock" in warnings[0]
    # it recommends module_defaults, never the environment keyword (Ansible prints that at -vvv)
    assert "module_defaults" in warnings[0] and "not with the task's environment keyword" in warnings[0]
    assert action({"name": "A"}, API2_ENV, transport="ssh")._tenant().lock_key == EXPECTED
