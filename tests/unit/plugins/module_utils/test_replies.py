# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reading of Mimecast's answers and of transport failures (module_utils/replies.py), on stub responses alone:
no client, no session, no request."""

from types import SimpleNamespace

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.auth import ApiKeyAuth, ClientCredentialsAuth
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.replies import Replies
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    APP_KEY,
    SECRET_KEY,
    envelope,
    response,
)

URL = "https://api.example.test"
API1 = ApiKeyAuth("unit-access-key", SECRET_KEY, "unit-app-id", APP_KEY)


def replies(auth=API1, secret="s3cret-token"):
    return Replies(
        SimpleNamespace(base_url=URL, timeout=7, auth=auth, redact=lambda text: text.replace(secret, "****"))
    )


def test_an_answer_that_ran_gives_its_body_and_per_item_failures_stay_in_it():
    body = envelope([{"id": "g1"}], fail=[{"key": {"description": "B"}, "errors": [{"code": "err_x"}]}])
    assert replies().api("/api/x", response(body=body), per_item=True) == body
    with pytest.raises(MimecastError) as failure:
        replies().api("/api/x", response(body=body))
    assert failure.value.code == "err_x" and not failure.value.uncertain


def test_a_retryable_fail_entry_is_transient_and_leaves_a_write_in_doubt():
    body = envelope(fail=[{"errors": [{"code": "err_busy", "message": "try later", "retryable": True}]}])
    with pytest.raises(MimecastError) as failure:
        replies().api("/api/x", response(body=body))
    assert failure.value.retryable and failure.value.uncertain


def test_a_gateway_page_is_quoted_briefly_redacted_and_in_doubt():
    page = "<html>502 Bad Gateway s3cret-token " + "x" * 400 + "</html>"
    with pytest.raises(MimecastError) as failure:
        replies().api("/api/x", response(status=502, text=page, content_type="text/html"))
    message = failure.value.message
    assert "HTTP 502" in message and "s3cret-token" not in message and len(message) < 400
    assert failure.value.uncertain and failure.value.retryable


def test_a_refused_token_gives_advice_for_the_credential_kind():
    with pytest.raises(MimecastError) as failure:
        replies().api("/api/x", response(status=401, body={"fail": [{"errors": [{"code": "err_sig"}]}]}))
    assert "machine's clock" in failure.value.message
    given = ClientCredentialsAuth(None, None, access_token="t")
    with pytest.raises(MimecastError) as failure:
        replies(auth=given).api("/api/x", response(status=401, body={}))
    assert "give a new one" in failure.value.message


def test_a_rate_limit_carries_the_servers_wait_and_is_not_in_doubt():
    with pytest.raises(MimecastError) as failure:
        replies().api("/api/x", response(status=429, body={}, headers={"X-RateLimit-Reset": "1500"}))
    assert failure.value.wait_hint == 1.5 and failure.value.retryable and not failure.value.uncertain


@pytest.mark.parametrize(
    "failure, retryable, uncertain, still_running, words",
    [
        (http_transport.ConnectError("refused"), True, False, False, "Could not connect"),
        (http_transport.ResolveError("no such host"), False, False, False, "resolve"),
        (http_transport.ReadTimeout("read timed out"), True, True, True, "Timed out after 7s waiting"),
        (http_transport.ConnectionDropped("reset by peer"), True, True, True, "Connection to"),
    ],
)
def test_a_transport_failure_says_what_it_means_for_a_write(failure, retryable, uncertain, still_running, words):
    error = replies().transport_error("/api/x", failure)
    assert (error.retryable, error.uncertain, error.still_running) == (retryable, uncertain, still_running)
    assert words in error.message
