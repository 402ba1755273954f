# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""API 2.0 tokens in the client: one retry budget per operation with the token request inside it, retry
warnings that name the request they retry, a token given as access_token, and the sealed token for reuse."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.auth import ClientCredentialsAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import REFUSED, MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import unseal
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    CLIENT_SECRET,
    FakeSession,
    envelope,
    response,
)

FIND = "/api/directory/find-groups"
CREATE = "/api/directory/create-group"
TOKEN = "/oauth/token"
GROUP = {"id": "g1", "description": "Finance", "parentId": "root", "source": "cloud", "folderCount": 0, "userCount": 0}


class Fixture:
    def __init__(self, script, max_retries=3, client_id="unit-client-id", client_secret=CLIENT_SECRET, token=None):
        self.warnings = []
        self.session = FakeSession(script)
        self.client = MimecastClient(
            "https://api.example.test",
            ClientCredentialsAuth(client_id, client_secret, token),
            session=self.session,
            warn=self.warnings.append,
            sleep=lambda seconds: None,
            max_retries=max_retries,
        )

    def paths(self):
        return [r["url"].replace("https://api.example.test", "") for r in self.session.requests]


def token_reply(value="tok-1", expires_in=1800):
    return response(body={"access_token": value, "token_type": "Bearer", "expires_in": expires_in})


def server_error():
    return response(status=500, body={"error": "server_error"})


def rate_limited():
    return response(status=429, body={"error": "rate_limited"}, headers={"X-RateLimit-Reset": "10"})


FAILURES = {
    "500": server_error,
    "429": rate_limited,
    "dropped": lambda: http_transport.ConnectionDropped("connection reset"),
    "timeout": lambda: http_transport.ReadTimeout("read timed out"),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
@pytest.mark.parametrize("max_retries", [0, 1, 3])
@pytest.mark.parametrize("operation", ["read", "write"])
def test_a_failing_token_endpoint_gets_at_most_max_retries_plus_one_requests(kind, max_retries, operation):
    fixture = Fixture([FAILURES[kind]() for attempt in range(max_retries + 1)], max_retries=max_retries)
    with pytest.raises(MimecastError) as info:
        if operation == "read":
            fixture.client.call(FIND)
        else:
            fixture.client.write(CREATE, [{"description": "Finance"}], confirm=lambda items: [None] * len(items))
    # The fake session raises on any request beyond its script: max_retries + 1 token requests, nothing else.
    assert fixture.paths() == [TOKEN] * (max_retries + 1)
    assert info.value.request == TOKEN
    assert len(fixture.warnings) == max_retries
    assert all(w.startswith("Retrying /oauth/token ") for w in fixture.warnings)
    if operation == "write":
        # the write was never sent: its item is not done (refused whole), never "unknown"
        assert [result.state for result in info.value.results] == [REFUSED]


def test_token_retries_and_call_retries_share_one_budget():
    # one token request and one call, plus max_retries retries between them, whichever fails
    fixture = Fixture([server_error(), token_reply(), server_error(), server_error(), server_error()], max_retries=3)
    with pytest.raises(MimecastError) as info:
        fixture.client.call(FIND)
    assert fixture.paths() == [TOKEN, TOKEN, FIND, FIND, FIND]
    assert info.value.request is None and info.value.status == 500
    assert [w.split(" ")[1] for w in fixture.warnings] == [TOKEN, FIND, FIND]


def test_a_token_request_that_failed_means_the_write_was_never_sent_so_nothing_is_confirmed():
    asked = []
    fixture = Fixture([server_error(), token_reply(), response(body=envelope([GROUP]))])
    results = fixture.client.write(CREATE, [{"description": "Finance"}], confirm=asked.append)
    assert [r.record for r in results] == [GROUP]
    assert asked == [] and fixture.paths() == [TOKEN, TOKEN, CREATE]


def test_a_given_access_token_is_used_without_a_token_request():
    fixture = Fixture([response(body=envelope())], token="given-1")
    fixture.client.call(FIND)
    assert fixture.paths() == [FIND]
    assert fixture.session.requests[0]["headers"]["Authorization"] == "Bearer given-1"
    assert fixture.client.auth.sealed_fetched_token() is None  # nothing fetched, nothing to hand back


def test_a_refused_access_token_is_replaced_when_client_credentials_are_known():
    expired = response(status=401, body=envelope(status=401, fail=[{"errors": [{"code": "err_xdk_token_expired"}]}]))
    fixture = Fixture([expired, token_reply("new-1"), response(body=envelope())], token="old-1")
    fixture.client.call(FIND)
    assert fixture.paths() == [FIND, TOKEN, FIND]
    assert fixture.session.requests[2]["headers"]["Authorization"] == "Bearer new-1"
    assert unseal(CLIENT_SECRET, fixture.client.auth.sealed_fetched_token()["sealed"]) == "new-1"


def test_a_refused_access_token_given_alone_is_a_clear_error():
    expired = response(status=401, body=envelope(status=401, fail=[{"errors": [{"code": "err_xdk_token_expired"}]}]))
    fixture = Fixture([expired], client_id=None, client_secret=None, token="old-1")
    with pytest.raises(MimecastError) as info:
        fixture.client.call(FIND)
    assert fixture.paths() == [FIND]
    assert "access_token was refused" in info.value.message
    assert "old-1" not in info.value.message


def test_the_fetched_token_is_handed_back_sealed_with_its_lifetime():
    fixture = Fixture([token_reply("tok-9", expires_in=1200), response(body=envelope())])
    fixture.client.call(FIND)
    sealed = fixture.client.auth.sealed_fetched_token()
    assert "tok-9" not in sealed["sealed"]
    assert unseal(CLIENT_SECRET, sealed["sealed"]) == "tok-9"
    assert 1190 <= sealed["expires_in"] <= 1200


def test_a_token_without_a_lifetime_is_not_handed_back():
    fixture = Fixture([response(body={"access_token": "tok-9"}), response(body=envelope())])
    fixture.client.call(FIND)
    assert fixture.client.auth.sealed_fetched_token() is None


def refused_token():
    return response(status=401, body=envelope(status=401, fail=[{"errors": [{"code": "err_xdk_token_expired"}]}]))


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_a_refused_given_token_is_replaced_once_without_spending_the_budget(max_retries):
    # Refused given token, one new token, the call again: three requests whatever max_retries, no retry spent ...
    fixture = Fixture([refused_token(), token_reply("new-1"), response(body=envelope())], max_retries, token="old-1")
    fixture.client.call(FIND)
    assert fixture.paths() == [FIND, TOKEN, FIND]
    # ... so the whole budget is left for what follows: max_retries more server errors are still retried.
    fixture = Fixture(
        [refused_token(), token_reply("new-1")] + [server_error()] * (max_retries + 1), max_retries, token="old-1"
    )
    with pytest.raises(MimecastError) as info:
        fixture.client.call(FIND)
    assert fixture.paths() == [FIND, TOKEN] + [FIND] * (max_retries + 1)
    assert info.value.status == 500


def test_a_fetched_token_refused_in_turn_spends_the_budget():
    fixture = Fixture([refused_token(), token_reply("new-1"), refused_token()], max_retries=0, token="old-1")
    with pytest.raises(MimecastError) as info:
        fixture.client.call(FIND)
    assert fixture.paths() == [FIND, TOKEN, FIND]
    assert "bearer token was rejected: check client_id and client_secret" in info.value.message


def test_a_given_token_refused_at_a_later_use_is_replaced_free_too():
    script = [response(body=envelope()), refused_token(), token_reply("new-1"), response(body=envelope())]
    fixture = Fixture(script, max_retries=0, token="old-1")
    fixture.client.call(FIND)
    fixture.client.call(FIND)
    assert fixture.paths() == [FIND, FIND, TOKEN, FIND]


def test_a_kept_token_refused_at_its_first_use_stops_everything_without_a_token_request():
    fixture = Fixture([refused_token()], token="kept-1")
    fixture.client.auth = ClientCredentialsAuth("unit-client-id", CLIENT_SECRET, "kept-1", kept=True)
    with pytest.raises(MimecastError) as info:
        fixture.client.call(FIND)
    assert info.value.status == 401 and "access_token was refused" in info.value.message
    assert "check client_id" not in info.value.message
    assert fixture.client.auth.kept_refused
    # nothing more is sent by this task, reads or writes: the action plugin renews the token under its lock
    with pytest.raises(MimecastError):
        fixture.client.call(FIND)
    results = None
    with pytest.raises(MimecastError) as info:
        results = fixture.client.write(CREATE, [{"description": "Finance"}], confirm=lambda items: [None] * len(items))
    assert results is None and [r.state for r in info.value.results] == [REFUSED]
    assert fixture.paths() == [FIND]
    assert fixture.client.auth.sealed_fetched_token() is None


def test_a_kept_token_accepted_first_then_refused_is_replaced_by_the_task_itself():
    script = [response(body=envelope()), refused_token(), token_reply("new-1"), response(body=envelope())]
    fixture = Fixture(script, max_retries=0)
    fixture.client.auth = ClientCredentialsAuth("unit-client-id", CLIENT_SECRET, "kept-1", kept=True)
    fixture.client.call(FIND)
    fixture.client.call(FIND)
    assert fixture.paths() == [FIND, FIND, TOKEN, FIND] and not fixture.client.auth.kept_refused
    assert unseal(CLIENT_SECRET, fixture.client.auth.sealed_fetched_token()["sealed"]) == "new-1"
