# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import re

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.credentials import (
    CREDENTIAL_ENV,
    ConnectionOptionsError,
    tenant_key,
)

URL = "https://eu-api.mimecast.com"
SECRET_KEY = base64.b64encode(b"tenant-key-test-secret").decode()
API1 = {"access_key": "ak-1", "secret_key": SECRET_KEY, "app_id": "app-1", "app_key": "app-key-secret-1"}
API2 = {"client_id": "cid-1", "client_secret": "client-secret-1"}


def as_environment(options, base_url=None):
    """The same credentials as MIMECAST_* variables, as a module would find them."""
    environ = dict((CREDENTIAL_ENV[k], v) for k, v in options.items())
    if base_url is not None:
        environ["MIMECAST_BASE_URL"] = base_url
    return environ


@pytest.mark.parametrize("options", [API1, API2], ids=["api1", "api2"])
def test_key_holds_no_secret_and_does_not_change_with_the_secrets(options):
    key = tenant_key(dict(options, base_url=URL), {})
    assert re.match("^[0-9a-f]{64}$", key)
    for secret in ("secret_key", "app_key", "client_secret"):
        if secret in options:
            assert options[secret] not in key
    other_secrets = dict(options, base_url=URL)
    for secret in ("secret_key", "app_key", "client_secret"):
        if secret in other_secrets:
            other_secrets[secret] = base64.b64encode(b"another secret").decode()
    assert tenant_key(other_secrets, {}) == key


@pytest.mark.parametrize(
    "options, other",
    [
        (dict(API2, base_url=URL), dict(API2, base_url="https://us-api.mimecast.com")),
        (dict(API2, base_url=URL), dict(API2, base_url=URL, client_id="cid-2")),
        (dict(API1, base_url=URL), dict(API1, base_url=URL, access_key="ak-2")),
        (dict(API1, base_url=URL), dict(API1, base_url="https://de-api.mimecast.com")),
        # an API 2.0 client whose id happens to equal an API 1.0 access key is another credential
        (dict(API1, base_url=URL), dict(client_id="ak-1", client_secret="s", base_url=URL)),
    ],
    ids=["api2-host", "api2-client", "api1-access-key", "api1-host", "kind"],
)
def test_different_tenants_get_different_keys(options, other):
    assert tenant_key(options, {}) != tenant_key(other, {})


@pytest.mark.parametrize("options", [API1, API2], ids=["api1", "api2"])
def test_same_tenant_from_options_and_from_mimecast_variables_agrees(options):
    from_options = tenant_key(dict(options, base_url=URL), {})
    assert tenant_key({}, as_environment(options, URL)) == from_options
    # base_url as an option, credentials from the variables; and the other way round
    assert tenant_key({"base_url": URL}, as_environment(options)) == from_options
    assert tenant_key(dict(options), {"MIMECAST_BASE_URL": URL}) == from_options


def test_options_win_over_variables_as_the_module_decides():
    environ = as_environment(dict(client_id="cid-from-env", client_secret="s"), URL)
    assert tenant_key(dict(API2, base_url=URL), environ) == tenant_key(dict(API2, base_url=URL), {})
    assert tenant_key(dict(API2, base_url=URL), environ) != tenant_key({}, environ)


def test_spellings_of_one_base_url_agree():
    key = tenant_key(dict(API2), {})  # API 2.0 without base_url: the global gateway
    for spelling in ("https://api.services.mimecast.com", " https://API.services.mimecast.com/ "):
        assert tenant_key(dict(API2, base_url=spelling), {}) == key


@pytest.mark.parametrize(
    "options, environ",
    [
        ({}, {}),
        (dict(API2, client_secret=None), {}),
        (API1, {}),  # API 1.0 needs base_url
        (dict(API2, base_url="http://api.example.com"), {}),
    ],
    ids=["no-credentials", "incomplete", "api1-without-base-url", "plain-http"],
)
def test_options_the_module_refuses_have_no_key(options, environ):
    with pytest.raises(ConnectionOptionsError):
        tenant_key(options, environ)
