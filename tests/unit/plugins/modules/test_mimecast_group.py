# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import contextlib
import json

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils import module as module_base
from ansible_collections.community.mimecast.plugins.modules import mimecast_group

SECRET_KEY = base64.b64encode(b"module-test-secret").decode()
API1 = {"access_key": "ak", "secret_key": SECRET_KEY, "app_id": "app", "app_key": "appkey-value"}
API2 = {"client_id": "cid", "client_secret": "client-secret-value"}
ENV = {
    "MIMECAST_ACCESS_KEY": "env-ak",
    "MIMECAST_SECRET_KEY": SECRET_KEY,
    "MIMECAST_APP_ID": "env-app",
    "MIMECAST_APP_KEY": "env-appkey",
}


@contextlib.contextmanager
def module_args(args):
    """Feed args to AnsibleModule, on every supported ansible-core."""
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
    except ImportError:
        from ansible.module_utils import basic
        from ansible.module_utils.common.text.converters import to_bytes

        previous = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = previous
    else:
        with patch_module_args(args):
            yield


def run_module(capsys, args):
    with module_args(args):
        with pytest.raises(SystemExit) as info:
            mimecast_group.main()
    return info.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture
def no_network(monkeypatch):
    """Any HTTP request at all fails the test: bad input must be refused before one is sent."""
    sent = []

    def refuse(self, url, *args, **kwargs):
        sent.append(url)
        raise AssertionError("a request was sent to %s" % url)

    monkeypatch.setattr(http_transport.HttpSession, "post", refuse)
    for name in list(ENV) + ["MIMECAST_CLIENT_ID", "MIMECAST_CLIENT_SECRET", "MIMECAST_BASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    return sent


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(API2, name=""), "must not be empty"),
        (dict(API2, name="   "), "blank"),
        (dict(API2, name="A", parent="P", parent_id="x"), "mutually exclusive"),
        ({"name": "A"}, "No Mimecast credentials"),
        (dict(API1, name="A", client_id="cid", client_secret="s", base_url="https://eu-api.mimecast.com"), "not both"),
        (dict(API2, name="A", client_secret=None), "missing client_secret"),
        (
            {"name": "A", "access_key": "ak", "secret_key": SECRET_KEY, "base_url": "https://x"},
            "missing app_id, app_key",
        ),
        (dict(API1, name="A"), "base_url is required with API 1.0 keys"),
        (dict(API1, name="A", base_url="https://eu-api.mimecast.com", secret_key="***"), "not valid base64"),
        (dict(API2, name="A", base_url="http://api.example.com"), "plain http"),
        (dict(API2, name="A", base_url="ftp://api.example.com"), "https:// URL"),
        (dict(API2, name="A", base_url="https://api.example.com/api"), "without a path"),
        (dict(API2, name="A", timeout=0), "timeout must be a positive"),
        (dict(API2, name="A", state="gone"), "value of state must be one of"),
    ],
)
def test_bad_input_fails_before_any_request(capsys, no_network, args, message):
    code, result = run_module(capsys, args)
    assert code == 1 and result["failed"]
    assert message in result["msg"]
    assert no_network == []
    for secret in (SECRET_KEY, "appkey-value", "client-secret-value"):
        assert secret not in json.dumps(result)


@pytest.mark.parametrize("password", ["proxy-pass-word", "proxy%40pass-word"])
def test_a_proxy_password_is_masked_when_the_task_fails_before_its_client_is_built(capsys, no_network, password):
    args = dict(API1, base_url="https://eu-api.mimecast.com", name="A", state="absent", members={"add": ["x@y.z"]})
    code, result = run_module(capsys, dict(args, proxy="http://proxyuser:%s@proxy.example:3128" % password))
    assert code == 1 and "members is only used with state=present" in result["msg"]
    assert "pass-word" not in json.dumps(result) and no_network == []
    if "invocation" in result:  # ansible-core 2.21 leaves it out of a failed result
        assert "proxy.example" in result["invocation"]["module_args"]["proxy"]  # the rest of the URL stays readable


def test_environment_credentials_are_used_only_when_no_credential_option_is_set():
    kind, values = module_base.resolve_credentials({}, ENV)
    assert kind == "api1" and values["access_key"] == "env-ak"
    kind, values = module_base.resolve_credentials(dict(API2), ENV)
    assert kind == "api2" and values == API2


def test_partial_environment_credentials_name_what_is_missing():
    with pytest.raises(ValueError) as info:
        module_base.resolve_credentials({}, {"MIMECAST_CLIENT_ID": "cid"})
    assert "environment variables: missing client_secret" in str(info.value)


@pytest.mark.parametrize(
    "url, expected",
    [
        (None, "https://api.services.mimecast.com"),
        ("https://uk-api.services.mimecast.com/", "https://uk-api.services.mimecast.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_base_url_defaults_and_loopback_http(url, expected):
    assert module_base.validate_base_url(url, "api2") == expected


def test_api1_keys_create_a_group_and_return_its_facts(capsys, monkeypatch):
    replies = [
        {"meta": {"status": 200, "pagination": {}}, "data": [{"folders": []}], "fail": []},
        {
            "meta": {"status": 200},
            "fail": [],
            "data": [
                {
                    "id": "g1",
                    "description": "Finance",
                    "parentId": "r",
                    "source": "cloud",
                    "folderCount": 0,
                    "userCount": 0,
                }
            ],
        },
    ]
    sent = []

    def post(self, url, **kwargs):
        sent.append((url, kwargs["headers"]))
        reply = http_transport.HttpResponse()
        reply.status_code = 200
        reply.content = json.dumps(replies.pop(0)).encode()
        return reply

    monkeypatch.setattr(http_transport.HttpSession, "post", post)
    code, result = run_module(
        capsys, dict(API1, name="Finance", base_url="https://eu-api.mimecast.com", _ansible_diff=True)
    )
    assert code == 0 and result["changed"]
    assert result["group"] == {
        "id": "g1",
        "name": "Finance",
        "description": "Finance",
        "parent_id": "r",
        "source": "cloud",
        "folder_count": 0,
        "user_count": 0,
    }
    assert result["diff"] == {"before": {}, "after": result["group"]}
    assert [url for url, _headers in sent] == [
        "https://eu-api.mimecast.com/api/directory/find-groups",
        "https://eu-api.mimecast.com/api/directory/create-group",
    ]
    signature = sent[0][1]["Authorization"].split(":", 1)[1]
    assert signature not in json.dumps(result)


def test_unexpected_error_fails_cleanly_without_a_bare_traceback(capsys, monkeypatch):
    from ansible_collections.community.mimecast.plugins.module_utils import group_api

    def broken(self):
        raise KeyError("folders")

    monkeypatch.setattr(group_api.GroupDirectory, "tree", broken)
    code, result = run_module(capsys, dict(API2, name="Finance"))
    assert code == 1 and result["failed"]
    assert result["msg"] == "Unexpected error (KeyError): 'folders'"
    assert "Traceback" not in result["msg"]
