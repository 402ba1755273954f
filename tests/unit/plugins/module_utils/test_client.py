# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import hashlib
import hmac
import json

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.auth import ApiKeyAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    MimecastError,
    OutcomeUnknown,
    WriteError,
)
from ansible_collections.community.mimecast.plugins.module_utils.retry import Backoff, header, server_wait_hint
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    APP_KEY,
    CLIENT_SECRET,
    SECRET_KEY,
    envelope,
    response,
)

GROUP = {"id": "g1", "description": "Finance", "parentId": "root", "source": "cloud", "folderCount": 0, "userCount": 0}


def test_call_returns_data_and_meta_of_a_successful_envelope(make_client):
    client, session = make_client([response(body=envelope([{"folders": [GROUP]}]))])
    data, meta = client.call("/api/directory/find-groups", [{"query": "Finance"}])
    assert data == [{"folders": [GROUP]}]
    assert meta["status"] == 200
    assert session.bodies() == [{"data": [{"query": "Finance"}]}]


def test_write_returns_each_items_record(make_client):
    client, session = make_client([response(body=envelope([GROUP]))])
    results = client.write("/api/directory/create-group", [{"description": "Finance"}])
    assert [(r.ok, r.item, r.record) for r in results] == [(True, {"description": "Finance"}, GROUP)]
    assert session.bodies() == [{"data": [{"description": "Finance"}]}]


def test_call_sends_several_items_in_one_request(make_client):
    client, session = make_client([response(body=envelope([GROUP, GROUP]))])
    results = client.write("/api/directory/create-group", [{"description": "A"}, {"description": "B"}])
    assert len(session.requests) == 1 and all(r.ok for r in results)
    assert session.bodies()[0]["data"] == [{"description": "A"}, {"description": "B"}]


def test_api1_request_is_signed_over_path_only_with_fresh_request_ids(make_client, recorder):
    client, session = make_client([response(body=envelope()), response(body=envelope())])
    client.call("/api/directory/find-groups")
    client.call("/api/directory/find-groups")
    first, second = session.requests
    assert first["url"] == "https://api.example.test/api/directory/find-groups"
    headers = first["headers"]
    data_to_sign = ":".join([headers["x-mc-date"], headers["x-mc-req-id"], "/api/directory/find-groups", APP_KEY])
    expected = base64.b64encode(
        hmac.new(base64.b64decode(SECRET_KEY), data_to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    assert headers["Authorization"] == "MC unit-access-key:" + expected
    assert headers["x-mc-app-id"] == "unit-app-id"
    assert headers["x-mc-req-id"] != second["headers"]["x-mc-req-id"]
    assert expected in recorder.secrets and headers["Authorization"] in recorder.secrets


def test_tls_timeout_and_proxy_choices_reach_the_transport(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    auth = ApiKeyAuth("unit-access-key", SECRET_KEY, "unit-app-id", APP_KEY)
    session = MimecastClient("https://api.example.test", auth).session
    assert isinstance(session, http_transport.HttpSession)
    assert (session.validate_certs, session.ca_path, session.timeout) == (True, None, 30)
    assert session.proxy_for("https://api.example.test") is None
    session = MimecastClient("https://api.example.test", auth, ca_path="/etc/private-ca.pem", timeout=7).session
    assert (session.validate_certs, session.ca_path, session.timeout) == (True, "/etc/private-ca.pem", 7)
    session = MimecastClient("https://api.example.test", auth, validate_certs=False, proxy="http://proxy:3128").session
    assert session.validate_certs is False
    assert session.proxy_for("https://api.example.test").address == "proxy:3128"
    assert session.headers == {"Accept": "application/json", "User-Agent": "community.mimecast"}


def test_fail_entry_in_http_200_is_an_error_with_mimecast_code(make_client):
    fail = [
        {
            "key": {"description": ""},
            "errors": [{"code": "err_validation_blank", "message": "blank", "field": "description"}],
        }
    ]
    client, _session = make_client([response(body=envelope(fail=fail))])
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups", [{"description": ""}])
    assert info.value.code == "err_validation_blank"
    assert "err_validation_blank: blank" in info.value.message
    assert info.value.errors == [
        {"code": "err_validation_blank", "message": "blank", "field": "description", "retryable": False}
    ]


def test_meta_status_other_than_200_is_an_error_even_without_fail(make_client):
    client, session = make_client([response(body=envelope(status=400))])
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert "status 400" in info.value.message
    assert len(session.requests) == 1  # not transient: not retried


def test_retryable_fail_in_http_200_is_retried_for_reads(make_client, recorder):
    transient = envelope(status=500, fail=[{"errors": [{"code": "err_internal", "message": "m", "retryable": True}]}])
    client, session = make_client([response(body=transient), response(body=envelope([GROUP]))])
    data, _meta = client.call("/api/directory/find-groups")
    assert data == [GROUP] and len(session.requests) == 2 and len(recorder.warnings) == 1


def test_retryable_fail_in_http_200_leaves_a_write_uncertain(make_client):
    transient = envelope(status=500, fail=[{"errors": [{"code": "err_internal", "message": "m", "retryable": True}]}])
    client, session = make_client([response(body=transient)])
    with pytest.raises(MimecastError) as info:
        client.write("/api/directory/create-group", [{"description": "Finance"}])
    assert info.value.uncertain and info.value.code == "err_internal"
    assert len(session.requests) == 1


@pytest.mark.parametrize(
    "status, code, expected",
    [
        (401, "err_xdk_invalid_signature", "machine's clock"),
        (403, "app_forbidden", "permissions and products"),
        (418, "err_xdk_binding_expired", "binding has expired"),
        (404, None, "check base_url"),
    ],
)
def test_http_errors_say_what_to_check(make_client, status, code, expected):
    body = envelope(status=status, fail=[{"errors": [{"code": code, "message": "m"}]}] if code else None)
    client, session = make_client([response(status=status, body=body)])
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert expected in info.value.message
    assert info.value.status == status
    assert info.value.code == code
    assert len(session.requests) == 1  # not retried


def test_non_json_reply_is_quoted_briefly_and_sanitised(make_client):
    page = "<html>\x00\x1b[31mgateway error" + "x" * 500 + "</html>"
    client, _session = make_client([response(status=502, text=page, content_type="text/html")], max_retries=0)
    with pytest.raises(MimecastError) as info:
        client.write("/api/directory/create-group", [{}])
    message = info.value.message
    assert "HTTP 502" in message and "not JSON (text/html)" in message and "gateway error" in message
    assert "\x00" not in message and "\x1b" not in message
    assert len(message) < 400


def test_non_json_200_reply_names_content_type_and_snippet(make_client):
    client, _session = make_client([response(text="<html>login</html>", content_type="text/html")], max_retries=0)
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert "not JSON" in info.value.message and "text/html" in info.value.message
    assert "<html>login</html>" in info.value.message


def test_empty_400_says_an_id_may_be_malformed(make_client):
    client, _session = make_client([response(status=400, text="")])
    with pytest.raises(MimecastError) as info:
        client.write("/api/directory/create-group", [{"parentId": "trunc"}])
    assert "malformed" in info.value.message


def test_429_is_retried_after_the_reset_header_even_for_writes(make_client, recorder):
    limited = response(status=429, body=envelope(status=429), headers={"x-ratelimit-reset": "1500"})
    client, session = make_client([limited, response(body=envelope([GROUP]))])
    results = client.write("/api/directory/create-group", [{"description": "Finance"}])
    assert results[0].record == GROUP
    assert len(session.requests) == 2
    assert 1.5 <= recorder.sleeps[0] <= 2.0
    assert len(recorder.warnings) == 1 and "Retrying /api/directory/create-group" in recorder.warnings[0]


def test_read_is_retried_after_server_error_and_dropped_connection(make_client, recorder):
    client, session = make_client(
        [
            response(status=503, body=envelope(status=503)),
            http_transport.ConnectionDropped("connection reset by peer"),
            response(body=envelope([GROUP])),
        ]
    )
    data, _meta = client.call("/api/directory/find-groups")
    assert data == [GROUP]
    assert len(session.requests) == 3
    assert len(recorder.warnings) == 2


@pytest.mark.parametrize(
    "failure",
    [
        response(status=500, body=envelope(status=500)),
        http_transport.ConnectionDropped("connection reset by peer"),
        http_transport.ReadTimeout("read timed out"),
    ],
)
def test_write_that_may_have_run_is_not_resent_and_is_marked_uncertain(make_client, failure):
    client, session = make_client([failure, response(body=envelope([GROUP]))])
    with pytest.raises(MimecastError) as info:
        client.write("/api/directory/create-group", [{"description": "Finance"}])
    assert info.value.uncertain
    assert len(session.requests) == 1


def test_write_is_resent_after_a_connect_timeout_that_never_reached_the_server(make_client):
    client, session = make_client([http_transport.ConnectTimeout("connect"), response(body=envelope([GROUP]))])
    results = client.write("/api/directory/create-group", [{"description": "Finance"}])
    assert results[0].record == GROUP and len(session.requests) == 2


def test_retries_stop_at_max_retries(make_client, recorder):
    script = [response(status=429, body=envelope(status=429), headers={"X-RateLimit-Reset": "10"})] * 3
    client, session = make_client(script, max_retries=2)
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert info.value.status == 429
    assert len(session.requests) == 3 and len(recorder.sleeps) == 2


def test_max_retries_zero_disables_retries(make_client):
    client, session = make_client([response(status=503, body=envelope(status=503))], max_retries=0)
    with pytest.raises(MimecastError):
        client.call("/api/directory/find-groups")
    assert len(session.requests) == 1


def test_api2_fetches_one_token_and_sends_it_as_bearer(make_client, recorder):
    token = {"access_token": "tok-123", "token_type": "Bearer", "expires_in": 1800}
    client, session = make_client(
        [response(body=token), response(body=envelope()), response(body=envelope())], kind="api2"
    )
    client.call("/api/directory/find-groups")
    client.call("/api/directory/find-groups")
    token_request = session.requests[0]
    assert token_request["url"] == "https://api.example.test/oauth/token"
    assert token_request["data"] == {
        "grant_type": "client_credentials",
        "client_id": "unit-client-id",
        "client_secret": CLIENT_SECRET,
    }
    assert [r["headers"]["Authorization"] for r in session.requests[1:]] == ["Bearer tok-123"] * 2
    assert "tok-123" in recorder.secrets


def test_api2_refreshes_an_expired_token_once(make_client):
    expired = response(status=401, body=envelope(status=401, fail=[{"errors": [{"code": "err_xdk_token_expired"}]}]))
    client, session = make_client(
        [
            response(body={"access_token": "old"}),
            expired,
            response(body={"access_token": "new"}),
            response(body=envelope([GROUP])),
        ],
        kind="api2",
    )
    results = client.write("/api/directory/create-group", [{"description": "Finance"}])
    assert results[0].record == GROUP
    assert session.requests[3]["headers"]["Authorization"] == "Bearer new"


def test_api2_rejected_client_credentials_say_what_to_check(make_client):
    client, session = make_client([response(status=401, body={"error": "invalid_client"})], kind="api2")
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert "client_id and client_secret" in info.value.message
    assert CLIENT_SECRET not in info.value.message
    assert len(session.requests) == 1


def test_error_text_never_carries_a_registered_secret(make_client):
    client, _session = make_client(
        [response(status=400, body={"error": "bad", "error_description": "token tok-9 bad"})]
    )
    client.register_secret("tok-9")
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert "tok-9" not in info.value.message and "********" in info.value.message


def test_pagination_follows_next_until_absent(make_client):
    pages = [
        response(body=envelope([{"folders": [1]}], pagination={"next": "p2"})),
        response(body=envelope([{"folders": [2]}], pagination={"next": "p3", "previous": "p1"})),
        response(body=envelope([{"folders": [3]}], pagination={"previous": "p2"})),
    ]
    client, session = make_client(pages)
    entries = list(client.paginate("/api/directory/find-groups", {"query": "Fin"}))
    assert [e["folders"] for e in entries] == [[1], [2], [3]]
    metas = [b["meta"]["pagination"] for b in session.bodies()]
    assert metas == [{"pageSize": 100}, {"pageSize": 100, "pageToken": "p2"}, {"pageSize": 100, "pageToken": "p3"}]
    assert all(b["data"] == [{"query": "Fin"}] for b in session.bodies())


def test_pagination_stops_on_a_repeated_token(make_client):
    loop = response(body=envelope([{"folders": []}], pagination={"next": "same"}))
    client, _session = make_client([loop, loop])
    with pytest.raises(MimecastError) as info:
        list(client.paginate("/api/directory/find-groups"))
    assert "twice" in info.value.message


def test_dns_failure_is_named(make_client):
    error = http_transport.ResolveError("could not resolve api.example.test: [Errno -2] Name or service not known")
    client, _session = make_client([error])
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert "resolve" in info.value.message and "DNS" in info.value.message


def test_tls_failure_is_named(make_client):
    client, _session = make_client([http_transport.TLSError("certificate verify failed")])
    with pytest.raises(MimecastError) as info:
        client.call("/api/directory/find-groups")
    assert "TLS failure" in info.value.message and "ca_path" in info.value.message


def test_header_lookup_is_case_insensitive_on_plain_dicts():
    assert header({"X-RATELIMIT-RESET": "5"}, "x-ratelimit-reset") == "5"
    assert server_wait_hint({"x-ratelimit-reset": "2500"}) == 2.5
    assert server_wait_hint({"Retry-After": "3", "X-RateLimit-Reset": "9000"}) == 3.0
    assert server_wait_hint({}) is None
    # An HTTP-date Retry-After is passed over for the Mimecast header; nonsense in either is no hint.
    assert server_wait_hint({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT", "X-RateLimit-Reset": "500"}) == 0.5
    assert server_wait_hint({"X-RateLimit-Reset": "soon"}) is None


def test_backoff_grows_is_capped_and_jittered():
    backoff = Backoff(base=1, cap=8)
    delays = [backoff.delay(n) for n in range(1, 8)]
    assert all(d <= 8 for d in delays)
    assert 0.5 <= delays[0] <= 1 and 4 <= delays[3] <= 8
    assert 2.0 <= backoff.delay(1, hint=2.0) <= 2.3
    assert backoff.delay(1, hint=500) == 8


def test_error_details_for_task_results():
    error = MimecastError("m", status=403, code="app_forbidden", errors=[{"code": "app_forbidden"}])
    assert error.details() == {"http_status": 403, "error_code": "app_forbidden", "errors": [{"code": "app_forbidden"}]}
    assert json.dumps(MimecastError("plain").details()) == "{}"


def test_api2_refreshes_a_token_that_expired_during_a_rate_limit_wait(make_client):
    limited = response(status=429, body=envelope(status=429), headers={"X-RateLimit-Reset": "10"})
    expired = response(status=401, body=envelope(status=401, fail=[{"errors": [{"code": "err_xdk_token_expired"}]}]))
    client, session = make_client(
        [
            response(body={"access_token": "old"}),
            limited,
            limited,
            expired,
            response(body={"access_token": "new"}),
            response(body=envelope([GROUP])),
        ],
        kind="api2",
    )
    data, _meta = client.call("/api/directory/find-groups")
    assert data == [GROUP]
    assert session.requests[-1]["headers"]["Authorization"] == "Bearer new"


# -- writes: per-item outcomes and one retry budget --------------------------------------------------

CREATE = "/api/directory/create-group"
ITEMS = [{"description": "A"}, {"description": "B"}, {"description": "C"}]


def record(name):
    return dict(GROUP, id="id-" + name, description=name)


def refused(item, code="err_folder_name_invalid", retryable=False):
    return {"key": item, "errors": [{"code": code, "message": "no", "retryable": retryable}]}


class Confirm:
    """A confirm() that answers from a dict of name -> record, and remembers what it was asked."""

    def __init__(self, found=None):
        self.found = found or {}
        self.asked = []

    def __call__(self, pending):
        self.asked.append([item["description"] for item in pending])
        return [self.found.get(item["description"]) for item in pending]


def test_partly_failed_batch_keeps_its_successes_matched_in_order(make_client):
    reply = envelope([record("A"), record("C")], fail=[refused(ITEMS[1])])
    client, session = make_client([response(body=reply)])
    results = client.write(CREATE, ITEMS, Confirm())
    assert [(r.ok, r.record and r.record["id"]) for r in results] == [(True, "id-A"), (False, None), (True, "id-C")]
    assert results[1].codes == {"err_folder_name_invalid"}
    assert "err_folder_name_invalid: no" in results[1].error(CREATE).message
    assert len(session.requests) == 1


def test_dropped_batch_is_confirmed_and_only_what_did_not_happen_is_sent_again(make_client, recorder):
    confirm = Confirm({"A": record("A"), "C": record("C")})
    client, session = make_client([http_transport.ConnectionDropped("reset"), response(body=envelope([record("B")]))])
    results = client.write(CREATE, ITEMS, confirm)
    assert [r.record["id"] for r in results] == ["id-A", "id-B", "id-C"]
    # The dropped connection may have reached Mimecast: B is looked for over the whole window before it is resent.
    assert confirm.asked == [["A", "B", "C"], ["B"], ["B"]]
    assert [body["data"] for body in session.bodies()] == [ITEMS, [{"description": "B"}]]
    assert "Mimecast may still be running it" in recorder.warnings[0]
    assert results[1].resent and not results[0].resent and not results[2].resent


def test_items_refused_as_retryable_are_confirmed_then_sent_again(make_client):
    first = envelope([record("A"), record("C")], fail=[refused(ITEMS[1], "err_internal", retryable=True)])
    client, session = make_client([response(body=first), response(body=envelope([record("B")]))])
    confirm = Confirm()
    results = client.write(CREATE, ITEMS, confirm)
    assert all(r.ok for r in results) and results[1].record["id"] == "id-B"
    assert confirm.asked == [["B"], ["B"], ["B"]]  # read over the settle window before B is sent again
    assert session.bodies()[1]["data"] == [{"description": "B"}]


def test_a_fail_entry_that_names_no_sent_item_puts_the_batch_in_doubt(make_client):
    stray = envelope([record("A")], fail=[refused({"description": "Z"})])
    client, session = make_client([response(body=stray)])
    confirm = Confirm({"A": record("A"), "B": record("B"), "C": record("C")})
    results = client.write(CREATE, ITEMS, confirm)
    assert all(r.ok for r in results) and confirm.asked == [["A", "B", "C"]]
    assert len(session.requests) == 1


def test_success_without_a_record_is_confirmed_for_every_write(make_client):
    client, session = make_client([response(body=envelope([]))])
    confirm = Confirm({"A": record("A")})
    assert client.write(CREATE, ITEMS[:1], confirm)[0].record["id"] == "id-A"
    # A delete (or member write) answered without its record is in doubt too: confirmed, never assumed.
    client, session = make_client([response(body=envelope([]))])
    gone = Confirm({"x": {}})
    results = client.write("/api/directory/delete-group", [{"description": "x", "id": "x"}], gone)
    assert results[0].ok and gone.asked == [["x"]] and len(session.requests) == 1


def test_partial_answer_is_confirmed_and_only_the_items_that_did_not_run_are_sent_again(make_client):
    # The server ran and answered only A and B of A, B, C, with no fail entry: none of the three is proven.
    client, session = make_client(
        [response(body=envelope([record("A"), record("B")])), response(body=envelope([record("C")]))]
    )
    confirm = Confirm({"A": record("A"), "B": record("B")})
    results = client.write(CREATE, ITEMS, confirm)
    assert [r.record["id"] for r in results] == ["id-A", "id-B", "id-C"]
    assert confirm.asked == [["A", "B", "C"], ["C"], ["C"]]  # C is looked for over the whole window first
    assert len(session.requests) == 2
    assert [item["description"] for item in json.loads(session.requests[1]["data"])["data"]] == ["C"]


LIMITED = response(status=429, body=envelope(status=429), headers={"X-RateLimit-Reset": "10"})
FAILED = response(status=500, body=envelope(status=500))


@pytest.mark.parametrize("max_retries", [0, 1, 3])
@pytest.mark.parametrize(
    "pattern",
    [[LIMITED, LIMITED, LIMITED, FAILED], [FAILED], [FAILED, LIMITED]],
    ids=["429-429-429-500", "500", "500-429"],
)
def test_rate_limits_server_errors_and_confirmations_share_one_budget(make_client, max_retries, pattern):
    client, session = make_client(pattern * 16, max_retries=max_retries)
    confirm = Confirm()
    with pytest.raises(MimecastError):
        client.write(CREATE, ITEMS[:1], confirm)
    assert len(session.requests) == max_retries + 1


def test_max_retries_bounds_each_request_so_a_confirming_read_has_a_budget_of_its_own(make_client):
    # The write spends its whole budget (a 429, then a dropped connection with no retry left); the read that
    # confirms it is a request of its own, retried within max_retries of its own: at max_retries 1, two sends of
    # the write and two of the read, never more (docs: the max_retries option, design.md, requests.md).
    find = "/api/directory/find-groups"
    client, session = make_client(
        [LIMITED, http_transport.ConnectionDropped("reset"), LIMITED, LIMITED, FAILED], max_retries=1
    )

    def confirm(pending):
        client.call(find)
        return [None for _item in pending]

    with pytest.raises(WriteError) as info:
        client.write(CREATE, ITEMS[:1], confirm)
    assert [r.state for r in info.value.results] == ["unknown"]
    assert "confirming what it did failed" in info.value.message
    assert client.request_counts()["by_endpoint"] == {CREATE: 2, find: 2}
    assert len(session.requests) == 4


def test_confirm_that_answers_for_the_wrong_number_of_items_is_a_bug_not_a_resend(make_client):
    client, session = make_client([http_transport.ConnectionDropped("reset")])
    with pytest.raises(ValueError):
        client.write(CREATE, ITEMS, lambda pending: [None])
    assert len(session.requests) == 1


# -- the outcome model: every item done, refused or unknown ------------------------------------------


class LateConfirm(Confirm):
    """A confirm() that finds the items only from its ``from_read``-th read on: Mimecast finished late."""

    def __init__(self, found, from_read):
        super().__init__(found)
        self.from_read = from_read

    def __call__(self, pending):
        self.asked.append([item["description"] for item in pending])
        if len(self.asked) < self.from_read:
            return [None for _item in pending]
        return [self.found.get(item["description"]) for item in pending]


def test_a_timed_out_write_that_lands_late_is_found_over_the_settle_window_and_not_resent(make_client, recorder):
    # Case 1: Mimecast finishes the create after the client gave up; sending it again would duplicate it.
    client, session = make_client([http_transport.ReadTimeout("read timed out")], timeout=1)
    confirm = LateConfirm({"A": record("A")}, from_read=2)
    results = client.write(CREATE, ITEMS[:1], confirm)
    assert results[0].ok and results[0].record["id"] == "id-A"
    assert len(session.requests) == 1 and len(confirm.asked) == 2
    assert sum(recorder.sleeps) == pytest.approx(1.0)  # the second read at half the window (2 x timeout)
    assert "Mimecast may still be running it" in recorder.warnings[0]


# Every failure after the request may have reached Mimecast: a proxy or load balancer that closed the connection or
# answered 503 says nothing about whether Mimecast went on with it, so each gets the whole settle window.
MAY_HAVE_REACHED = [
    http_transport.ReadTimeout("read timed out"),
    response(status=504),
    response(status=502, text="<html>"),
    http_transport.ConnectionDropped("connection reset by peer"),
    response(status=500, body=envelope(status=500)),
    response(status=503, body=envelope(status=503)),
    response(status=200, text="<html>gateway error</html>"),
]
MAY_HAVE_REACHED_IDS = ["read-timeout", "504", "502", "closed", "500", "503", "gateway-page"]


@pytest.mark.parametrize("failure", MAY_HAVE_REACHED, ids=MAY_HAVE_REACHED_IDS)
def test_a_write_that_may_still_run_is_sent_again_only_once_the_window_is_over(make_client, recorder, failure):
    client, session = make_client([failure, response(body=envelope([record("A")]))], timeout=3)
    confirm = Confirm()
    results = client.write(CREATE, ITEMS[:1], confirm)
    assert results[0].ok and len(session.requests) == 2
    assert len(confirm.asked) == 3  # read more than once, spread over the window
    assert sum(recorder.sleeps) >= 2 * 3  # nothing sent again before the whole window had passed
    assert "Mimecast may still be running it" in recorder.warnings[0]


@pytest.mark.parametrize("failure", MAY_HAVE_REACHED, ids=MAY_HAVE_REACHED_IDS)
def test_a_write_that_lands_late_after_any_failure_that_reached_mimecast_is_found_not_resent(
    make_client, recorder, failure
):
    # Case 3 of issue 28: the proxy dropped the connection (or answered 503), Mimecast lands the create 1.5 s later.
    client, session = make_client([failure], timeout=1)
    confirm = LateConfirm({"A": record("A")}, from_read=3)
    results = client.write(CREATE, ITEMS[:1], confirm)
    assert results[0].ok and results[0].record["id"] == "id-A" and not results[0].resent
    assert len(session.requests) == 1 and len(confirm.asked) == 3
    assert sum(recorder.sleeps) == pytest.approx(2.0)  # the last read at the end of the window (2 x timeout)


def refused_connection():
    """What the transport raises when nothing listens: the connection never stood, so nothing was sent."""
    return http_transport.ConnectError("[Errno 111] Connection refused")


@pytest.mark.parametrize(
    "failure",
    [refused_connection(), http_transport.ConnectTimeout("connect timed out")],
    ids=["refused", "connect-timeout"],
)
def test_a_write_that_never_left_is_sent_again_at_once_without_a_read(make_client, recorder, failure):
    client, session = make_client([failure, response(body=envelope([record("A")]))], timeout=30)
    confirm = Confirm()
    results = client.write(CREATE, ITEMS[:1], confirm)
    assert results[0].ok and not results[0].resent
    assert confirm.asked == [] and len(session.requests) == 2
    assert len(recorder.sleeps) == 1 and recorder.sleeps[0] <= 0.5  # a backoff, no window
    assert "Could not connect" in recorder.warnings[0] or "connecting" in recorder.warnings[0]


def test_a_rate_limited_write_has_no_window(make_client, recorder):
    limited = response(status=429, body=envelope(status=429), headers={"X-RateLimit-Reset": "10"})
    client, session = make_client([limited, response(body=envelope([record("A")]))], timeout=30)
    confirm = Confirm()
    assert client.write(CREATE, ITEMS[:1], confirm)[0].ok
    assert confirm.asked == [] and len(session.requests) == 2 and sum(recorder.sleeps) < 1


def test_a_failing_confirmation_leaves_the_items_unknown_never_refused(make_client):
    # Case 3: the write ran, its answer was lost, and the read that should confirm it is rate-limited.
    client, session = make_client([http_transport.ConnectionDropped("reset")])

    def rate_limited(pending):
        raise MimecastError("Mimecast answered /api/directory/find-groups with HTTP 429", status=429)

    with pytest.raises(WriteError) as info:
        client.write(CREATE, ITEMS[:2], rate_limited)
    assert [r.state for r in info.value.results] == ["unknown", "unknown"]
    assert info.value.uncertain and not any(r.errors for r in info.value.results)
    assert "confirming what it did failed" in info.value.message and len(session.requests) == 1


def test_confirmed_results_survive_a_resend_that_fails(make_client):
    # Case 4: A was confirmed after the drop; the resend of B and C is then refused whole (429, no retry left).
    limited = response(status=429, body=envelope(status=429), headers={"X-RateLimit-Reset": "10"})
    client, session = make_client([http_transport.ConnectionDropped("reset"), limited], max_retries=1)
    with pytest.raises(WriteError) as info:
        client.write(CREATE, ITEMS, Confirm({"A": record("A")}))
    results = info.value.results
    assert [r.state for r in results] == ["done", "refused", "refused"]
    assert results[0].record["id"] == "id-A"
    assert results[1].codes == {"http_429"} and "HTTP 429" in results[1].errors[0]["message"]
    assert not info.value.uncertain and info.value.status == 429
    assert session.bodies()[1]["data"] == ITEMS[1:]


def test_confirmed_results_survive_a_resend_whose_outcome_is_unknown(make_client):
    client, session = make_client([http_transport.ConnectionDropped("reset")] * 2, max_retries=1)
    with pytest.raises(WriteError) as info:
        client.write(CREATE, ITEMS, Confirm({"A": record("A")}))
    assert [r.state for r in info.value.results] == ["done", "unknown", "unknown"]
    assert info.value.uncertain and len(session.requests) == 2


def test_with_no_retry_left_a_write_is_still_confirmed_before_it_is_called_unknown(make_client):
    client, session = make_client([http_transport.ReadTimeout("read timed out")], max_retries=0, timeout=1)
    confirm = LateConfirm({"A": record("A")}, from_read=3)
    assert client.write(CREATE, ITEMS[:1], confirm)[0].ok
    assert len(session.requests) == 1 and len(confirm.asked) == 3


def test_an_unknown_outcome_names_the_writes_and_says_a_rerun_converges():
    cause = MimecastError("Timed out after 1s", status=None)
    error = OutcomeUnknown(["create Departments/EMEA", "add jane@example.com"], cause)
    assert error.message.startswith("The outcome of 2 write(s) is unknown: create Departments/EMEA, add jane@")
    assert "Timed out after 1s" in error.message and "Re-run the task" in error.message
    assert "none of it was done" not in error.message
    assert error.details() == {"changed": True, "unknown": ["create Departments/EMEA", "add jane@example.com"]}
