# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connection values as the controller and the module both read them: access_token, values of other types, and
one key per tenant whatever the spelling of its base URL."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.credentials import (
    ConnectionOptionsError,
    credential_key,
    effective_base_url,
    resolve_credentials,
    tenant_key,
)

URL = "https://eu-api.mimecast.com"
API1 = {"access_key": "ak-1", "secret_key": "c2VjcmV0", "app_id": "app-1", "app_key": "app-key-secret-1"}
API2 = {"client_id": "cid-1", "client_secret": "client-secret-1"}
API2_ENV = {"MIMECAST_CLIENT_ID": "cid-1", "MIMECAST_CLIENT_SECRET": "client-secret-1"}


def test_access_token_joins_api2_credentials_from_options_or_variables():
    assert resolve_credentials(dict(API2, access_token="tok"), {}) == ("api2", dict(API2, access_token="tok"))
    assert resolve_credentials({"access_token": "tok"}, API2_ENV) == ("api2", dict(API2, access_token="tok"))


def test_access_token_alone_is_an_api2_credential():
    assert resolve_credentials({"access_token": " tok "}, {}) == ("api2", {"access_token": "tok"})


def test_access_token_with_api1_keys_is_refused():
    with pytest.raises(ConnectionOptionsError, match="access_token is an API 2.0 bearer token"):
        resolve_credentials(dict(API1, access_token="tok"), {})


@pytest.mark.parametrize("value", [8080, 3.5, True])
def test_a_base_url_that_is_not_text_gets_the_modules_own_message(value):
    # the controller reads the raw (templated) value; the module gets it as text: both refuse it the same way
    with pytest.raises(ConnectionOptionsError, match="base_url must be an https:// URL"):
        tenant_key(dict(API2, base_url=value), {})


@pytest.mark.parametrize("option", ["base_url", "client_id", "client_secret", "access_token"])
def test_a_list_or_mapping_is_a_clear_error_not_a_crash(option):
    for value in (["https://eu-api.mimecast.com"], {"a": 1}):
        with pytest.raises(ConnectionOptionsError, match="%s must be a string" % option):
            tenant_key(dict(dict(API2, base_url=URL), **{option: value}), {})


def test_numeric_client_id_is_read_as_text_as_the_module_does():
    assert tenant_key({"client_id": 1234, "client_secret": "s", "base_url": URL}, {}) == tenant_key(
        {"client_id": "1234", "client_secret": "s", "base_url": URL}, {}
    )


@pytest.mark.parametrize(
    "spelling",
    ["https://eu-api.mimecast.com:443", "https://EU-API.mimecast.com/", "HTTPS://eu-api.mimecast.com:443/"],
)
def test_one_tenant_whatever_the_spelling_of_its_host(spelling):
    assert tenant_key(dict(API2, base_url=spelling), {}) == tenant_key(dict(API2, base_url=URL), {})
    assert credential_key(dict(API2, base_url=spelling), {}) == credential_key(dict(API2, base_url=URL), {})


def test_another_port_is_another_tenant():
    assert tenant_key(dict(API2, base_url=URL + ":8443"), {}) != tenant_key(dict(API2, base_url=URL), {})
    assert tenant_key(dict(API2, base_url="http://127.0.0.1:80"), {}) == tenant_key(
        dict(API2, base_url="http://127.0.0.1"), {}
    )


def test_null_base_url_falls_back_to_the_variable_for_the_key_and_the_module_alike():
    environ = {"MIMECAST_BASE_URL": URL}
    assert effective_base_url({"base_url": None}, environ) == URL  # what the module's client uses
    assert tenant_key(dict(API2, base_url=None), environ) == tenant_key(dict(API2, base_url=URL), {})
    # unset and empty: the API 2.0 default
    assert tenant_key(dict(API2, base_url=""), {}) == tenant_key(dict(API2), {})


def test_credential_key_changes_with_the_secret_and_not_the_source():
    key = credential_key(dict(API2, base_url=URL), {})
    assert key == credential_key({"base_url": URL}, API2_ENV)
    assert key != credential_key(dict(API2, base_url=URL, client_secret="another"), {})
    assert key != credential_key(dict(API2, base_url=URL, client_id="cid-2"), {})
    assert key != credential_key(dict(API2, base_url="https://us-api.services.mimecast.com"), {})
    assert "client-secret-1" not in key


def test_credential_key_is_none_without_a_client_secret():
    assert credential_key(dict(API1, base_url=URL), {}) is None
    assert credential_key({"access_token": "tok", "base_url": URL}, {}) is None
