# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a module run returns about its API 2.0 token: sealed for its action plugin, never in clear."""

import json

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import REFUSED_RESULT_KEY as REFUSED_KEY
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import TOKEN_RESULT_KEY as RESULT_KEY
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import unseal
from ansible_collections.community.mimecast.plugins.modules import mimecast_group_info
from ansible_collections.community.mimecast.tests.unit.plugins.modules.test_mimecast_group import module_args

API2 = {"client_id": "cid", "client_secret": "client-secret-value", "base_url": "https://api.example.test"}
TOKEN = "issued-token-value-0123456789"
LISTING = {"meta": {"status": 200, "pagination": {}}, "data": [{"folders": []}], "fail": []}
EXPIRED = {"meta": {"status": 401}, "data": [], "fail": [{"errors": [{"code": "err_xdk_token_expired"}]}]}


@pytest.fixture
def server(monkeypatch):
    """A token endpoint issuing TOKEN, and find-groups refusing any other bearer token."""
    sent = []

    def post(self, url, **kwargs):
        sent.append((url, (kwargs.get("headers") or {}).get("Authorization")))
        reply = http_transport.HttpResponse()
        if url.endswith("/oauth/token"):
            reply.status_code, body = 200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 1800}
        elif kwargs["headers"]["Authorization"] == "Bearer " + TOKEN:
            reply.status_code, body = 200, LISTING
        else:
            reply.status_code, body = 401, EXPIRED
        reply.content = json.dumps(body).encode()
        return reply

    monkeypatch.setattr(http_transport.HttpSession, "post", post)
    for name in ("MIMECAST_CLIENT_ID", "MIMECAST_CLIENT_SECRET", "MIMECAST_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return sent


def run(capsys, args):
    with module_args(args):
        with pytest.raises(SystemExit) as info:
            mimecast_group_info.main()
    output = capsys.readouterr().out
    return info.value.code, output, json.loads(output)


def test_a_fetched_token_is_returned_sealed_and_never_in_clear(capsys, server):
    code, output, result = run(capsys, dict(API2, name="Finance"))
    assert code == 0 and [url.rsplit("/", 1)[1] for url, _auth in server] == ["token", "find-groups"]
    assert TOKEN not in output
    assert unseal("client-secret-value", result[RESULT_KEY]["sealed"]) == TOKEN
    assert 1790 <= result[RESULT_KEY]["expires_in"] <= 1800


def test_a_given_token_that_works_is_not_returned(capsys, server):
    code, output, result = run(capsys, dict(API2, name="Finance", access_token=TOKEN))
    assert code == 0 and [url.rsplit("/", 1)[1] for url, _auth in server] == ["find-groups"]
    assert RESULT_KEY not in result and TOKEN not in output


def test_a_refused_given_token_is_replaced_and_the_new_one_returned(capsys, server):
    code, output, result = run(capsys, dict(API2, name="Finance", access_token="revoked-token-value"))
    assert code == 0 and [url.rsplit("/", 1)[1] for url, _auth in server] == ["find-groups", "token", "find-groups"]
    assert unseal("client-secret-value", result[RESULT_KEY]["sealed"]) == TOKEN
    assert TOKEN not in output and "revoked-token-value" not in output


def test_reuse_token_false_returns_nothing(capsys, server):
    code, output, result = run(capsys, dict(API2, name="Finance", reuse_token=False))
    assert code == 0 and RESULT_KEY not in result and TOKEN not in output


def test_an_argument_spec_failure_returns_no_token(capsys, server):
    code, output, result = run(capsys, dict(API2, name="Finance", parent_id="no-such-id", parent="P"))
    # refused by the argument spec: no client, no token
    assert code == 1 and RESULT_KEY not in result


def test_a_refused_token_given_alone_fails_clearly(capsys, server):
    args = {"base_url": API2["base_url"], "name": "Finance", "access_token": "revoked-token-value"}
    code, output, result = run(capsys, args)
    assert code == 1 and "access_token was refused" in result["msg"]
    assert "revoked-token-value" not in output and RESULT_KEY not in result


def test_a_kept_token_refused_at_its_first_use_is_reported_and_nothing_more_is_sent(capsys, server):
    args = dict(API2, name="Finance", access_token="revoked-token-value", kept_token=True, max_retries=0)
    code, output, result = run(capsys, args)
    assert code == 1 and result[REFUSED_KEY] is True
    assert [url.rsplit("/", 1)[1] for url, _auth in server] == ["find-groups"]  # no token request, no retry
    assert RESULT_KEY not in result and "revoked-token-value" not in output
    assert "check client_id" not in result["msg"]


def test_with_max_retries_0_a_refused_given_token_is_still_replaced(capsys, server):
    args = dict(API2, name="Finance", access_token="revoked-token-value", max_retries=0)
    code, output, result = run(capsys, args)
    assert code == 0 and REFUSED_KEY not in result
    assert [url.rsplit("/", 1)[1] for url, _auth in server] == ["find-groups", "token", "find-groups"]
