"""Tests of the Mimecast API simulator (tests/simulator/mimecast_simulator.py).

The simulator is loaded by file path and driven over real HTTP with urllib, exactly the way the
integration tests and the modules talk to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import importlib.util
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import namedtuple
from pathlib import Path

import pytest

SIMULATOR_PATH = Path(__file__).resolve().parents[2] / "simulator" / "mimecast_simulator.py"


def _load_simulator():
    spec = importlib.util.spec_from_file_location("mimecast_simulator", SIMULATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sim = _load_simulator()

ACCESS_KEY = "mc-sim-access-key"
SECRET_KEY = base64.b64encode(b"mimecast-simulator-secret-key-0001").decode()
APP_ID = "mc-sim-app-id"
APP_KEY = "mc-sim-app-key"
CLIENT_ID = "mc-sim-client-id"
CLIENT_SECRET = "mc-sim-client-secret"

FIND = "/api/directory/find-groups"
CREATE = "/api/directory/create-group"
UPDATE = "/api/directory/update-group"
DELETE = "/api/directory/delete-group"

Response = namedtuple("Response", "status headers body")


def sign(secret_key, app_key, date, request_id, path):
    """An independent implementation of Mimecast's recipe, so the server is not checked against itself."""
    data_to_sign = f"{date}:{request_id}:{path}:{app_key}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(secret_key), data_to_sign, hashlib.sha1).digest()).decode()


def mc_date(offset_seconds=0, zone="UTC"):
    return time.strftime("%a, %d %b %Y %H:%M:%S ", time.gmtime(time.time() + offset_seconds)) + zone


def hmac_headers(path, *, access_key=ACCESS_KEY, secret_key=SECRET_KEY, app_id=APP_ID, app_key=APP_KEY, **given):
    """Mimecast API 1.0 headers; ``date``, ``request_id`` and ``signed_path`` may be forced to test refusals."""
    date = given.get("date") or mc_date()
    request_id = given.get("request_id") or str(uuid.uuid4())
    signed_path = given.get("signed_path")
    signature = sign(secret_key, app_key, date, request_id, signed_path or path)
    return {
        "Authorization": f"MC {access_key}:{signature}",
        "x-mc-date": date,
        "x-mc-req-id": request_id,
        "x-mc-app-id": app_id,
    }


class SimClient:
    """A tiny urllib client for the simulator's API and control API."""

    def __init__(self, url, ssl_context=None):
        self.url = url
        self.ssl_context = ssl_context

    def request(self, method, path, body=None, headers=None):
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.ssl_context) as answer:
                raw = answer.read()
                status, answer_headers = answer.status, answer.headers
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
                status, answer_headers = error.code, error.headers
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return Response(status, answer_headers, parsed)

    def control(self, method, path, body=None):
        answer = self.request(method, path, body, {"Content-Type": "application/json"})
        assert answer.status == 200, answer
        return answer.body

    def call(self, path, data=None, meta=None, headers=None, **auth):
        """A signed API 1.0 call (or a bearer call when headers are given)."""
        body = {"data": data if data is not None else []}
        if meta is not None:
            body["meta"] = meta
        headers = headers if headers is not None else hmac_headers(path, **auth)
        return self.request("POST", path, body, {"Content-Type": "application/json", **headers})

    def token(self, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, grant_type="client_credentials"):
        form = urllib.parse.urlencode(
            {"grant_type": grant_type, "client_id": client_id, "client_secret": client_secret}
        )
        return self.request(
            "POST", "/oauth/token", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def bearer(self, path, token, data=None, meta=None):
        return self.call(path, data, meta, headers={"Authorization": f"Bearer {token}"})

    def create(self, name, parent_id=None):
        item = {"description": name}
        if parent_id is not None:
            item["parentId"] = parent_id
        answer = self.call(CREATE, [item])
        assert answer.status == 200 and not answer.body["fail"], answer
        return answer.body["data"][0]

    def groups(self):
        return self.control("GET", "/_sim/groups")

    def stats(self):
        return self.control("GET", "/_sim/stats")

    def faults(self, *rules, seed=1):
        return self.control("POST", "/_sim/faults", {"seed": seed, "rules": list(rules)})


def error_code(answer):
    return answer.body["fail"][0]["errors"][0]["code"]


@pytest.fixture(scope="module")
def server():
    # Credentials are passed explicitly so MC_SIM_* variables in a developer's shell cannot interfere.
    running = sim.start_server(
        log_requests=False,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        app_id=APP_ID,
        app_key=APP_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    yield running
    running.shutdown()


@pytest.fixture
def client(server):
    api = SimClient(server.url)
    api.control("POST", "/_sim/reset")
    return api


# ---- API 1.0 authentication ------------------------------------------------------------------


def test_signature_matches_mimecast_known_answer():
    arguments = (base64.b64encode(b"SecretKey").decode(), "ApplicationKey", "Sun, 21 Aug 2022 13:49:40 UTC")
    arguments += ("3d796b76-4180-40e5-8f7c-6e0fd643b1a9", "/api/test/some-url")
    expected = "MC AccessKey:WOywLsnZlsE+D6bp/ug6uch5kxc="
    assert sim.authorization_header("AccessKey", *arguments) == expected
    assert f"MC AccessKey:{sign(*arguments)}" == expected


def test_signed_call_creates_group_with_mimecast_record_shape(client):
    answer = client.call(CREATE, [{"description": "Finance"}])

    assert answer.status == 200
    assert answer.body["meta"]["status"] == 200 and answer.body["fail"] == []
    record = answer.body["data"][0]
    assert set(record) == {"id", "description", "parentId", "source", "folderCount", "userCount"}
    assert record["description"] == "Finance" and record["source"] == "cloud"
    assert record["folderCount"] == 0 and record["userCount"] == 0
    state = client.groups()
    assert [(g["id"], g["name"], g["path"]) for g in state["groups"]] == [(record["id"], "Finance", "Finance")]


@pytest.mark.parametrize(
    "bad, code",
    [
        ({"secret_key": base64.b64encode(b"not-the-secret").decode()}, "err_xdk_invalid_signature"),
        ({"app_key": "wrong-app-key"}, "err_xdk_invalid_signature"),
        ({"app_id": "wrong-app-id"}, "err_xdk_invalid_signature"),
        ({"access_key": "unknown-access-key"}, "err_xdk_invalid_signature"),
        ({"signed_path": "https://eu-api.mimecast.com" + CREATE}, "err_xdk_invalid_signature"),
        ({"date": mc_date(-3600)}, "err_xdk_invalid_date"),
        ({"date": mc_date(+3600)}, "err_xdk_invalid_date"),
        ({"date": "2024-01-01T00:00:00Z"}, "err_xdk_invalid_date"),
    ],
)
def test_bad_credentials_are_rejected_with_401_and_nothing_runs(client, bad, code):
    answer = client.call(CREATE, [{"description": "Finance"}], **bad)

    assert answer.status == 401
    assert answer.body["meta"]["status"] == 401 and answer.body["data"] == []
    assert error_code(answer) == code and answer.body["fail"][0]["errors"][0]["retryable"] is False
    assert client.groups()["groups"] == []
    stats = client.stats()
    assert (stats["rejected"], stats["writes"]) == (1, 0)


def test_replayed_request_id_is_rejected(client):
    headers = hmac_headers(CREATE)
    first = client.call(CREATE, [{"description": "Finance"}], headers=headers)
    replay = client.call(CREATE, [{"description": "Finance"}], headers=headers)

    assert first.status == 200
    assert replay.status == 401 and error_code(replay) == "err_xdk_duplicate_request_id"
    assert len(client.groups()["groups"]) == 1


def test_gmt_date_and_query_string_outside_signed_path_are_accepted(client):
    headers = hmac_headers(FIND, date=mc_date(zone="GMT"))
    answer = client.request("POST", FIND + "?debug=1", {"data": []}, {"Content-Type": "application/json", **headers})

    assert answer.status == 200 and answer.body["fail"] == []


def test_missing_authorization_is_400(client):
    answer = client.request("POST", FIND, {"data": []}, {"Content-Type": "application/json"})

    assert answer.status == 400 and error_code(answer) == "err_xdk_missing_authorization"


def test_expired_binding_and_forbidden_path_are_refused(client):
    client.control("POST", "/_sim/config", {"binding_expired": True})
    expired = client.call(FIND, [{}])
    client.control("POST", "/_sim/config", {"binding_expired": False, "forbidden_paths": [CREATE]})
    forbidden = client.call(CREATE, [{"description": "Finance"}])
    allowed = client.call(FIND, [{}])

    assert expired.status == 418 and error_code(expired) == "err_xdk_binding_expired"
    assert forbidden.status == 403 and error_code(forbidden) == "app_forbidden"
    assert allowed.status == 200
    assert client.groups()["groups"] == []


# ---- API 2.0 authentication ------------------------------------------------------------------


def test_token_is_issued_and_bearer_calls_work(client):
    issued = client.token()
    token = issued.body["access_token"]
    answer = client.bearer(CREATE, token, [{"description": "Finance"}])

    assert issued.status == 200
    assert issued.body["token_type"] == "Bearer" and issued.body["expires_in"] == 1800 and token
    assert answer.status == 200 and answer.body["data"][0]["description"] == "Finance"
    stats = client.stats()
    assert stats["token_requests"] == 1 and stats["by_auth"] == {"hmac": 0, "bearer": 1}


def test_derived_secrets_record_tokens_and_signatures_for_leak_checks(client):
    token = client.token().body["access_token"]
    client.bearer(FIND, token)
    headers = hmac_headers(FIND)
    client.call(FIND, headers=headers)
    values = client.control("GET", "/_sim/derived-secrets")["values"]
    signature = headers["Authorization"].rpartition(":")[2]
    assert token in values and "Bearer " + token in values
    assert signature in values and headers["Authorization"] in values
    client.control("POST", "/_sim/reset")
    assert token in client.control("GET", "/_sim/derived-secrets")["values"]  # leak checks span resets
    client.control("DELETE", "/_sim/derived-secrets")
    assert client.control("GET", "/_sim/derived-secrets")["values"] == []


def test_token_endpoint_refuses_wrong_client_and_wrong_grant(client):
    wrong_secret = client.token(client_secret="nope")
    wrong_client = client.token(client_id="nope")
    wrong_grant = client.token(grant_type="password")

    assert wrong_secret.status == 401 and wrong_secret.body["error"] == "invalid_client"
    assert wrong_client.status == 401 and wrong_client.body["error"] == "invalid_client"
    assert wrong_grant.status == 400 and wrong_grant.body["error"] == "unsupported_grant_type"
    assert client.stats()["token_requests"] == 3


def test_expired_and_unknown_tokens_get_401_with_their_codes(client):
    token = client.token().body["access_token"]
    client.control("POST", "/_sim/expire-tokens")
    expired = client.bearer(FIND, token, [{}])
    unknown = client.bearer(FIND, "not-a-token", [{}])
    client.control("POST", "/_sim/config", {"token_ttl": 0})
    instantly_stale = client.bearer(FIND, client.token().body["access_token"], [{}])

    assert expired.status == 401 and error_code(expired) == "err_xdk_token_expired"
    assert unknown.status == 401 and error_code(unknown) == "err_xdk_invalid_token"
    assert instantly_stale.status == 401 and error_code(instantly_stale) == "err_xdk_token_expired"


# ---- find-groups -----------------------------------------------------------------------------


def test_find_groups_matches_part_of_the_name_ignoring_case_and_filters_source(client):
    client.control(
        "POST",
        "/_sim/seed",
        {"groups": [{"name": "Finance EMEA"}, {"name": "Sales"}, {"name": "finance-ldap", "source": "ldap"}]},
    )

    def names(item):
        folders = client.call(FIND, [item]).body["data"][0]["folders"]
        return [folder["description"] for folder in folders]

    assert names({"query": "FINANCE"}) == ["Finance EMEA", "finance-ldap"]
    assert names({"query": "nance", "source": "cloud"}) == ["Finance EMEA"]
    assert names({"source": "ldap"}) == ["finance-ldap"]
    assert names({}) == ["Finance EMEA", "Sales", "finance-ldap"]
    assert names({"query": ""}) == ["Finance EMEA", "Sales", "finance-ldap"]


def test_find_groups_pages_follow_next_until_it_is_absent(client):
    client.control("POST", "/_sim/seed", {"groups": [{"name": "Team", "count": 7}]})
    pages, token = [], None
    while True:
        pagination = {"pageSize": 3, **({"pageToken": token} if token else {})}
        answer = client.call(FIND, [{"query": "team"}], meta={"pagination": pagination})
        pages.append(answer.body)
        token = answer.body["meta"]["pagination"].get("next")
        if token is None:
            break

    assert [len(page["data"][0]["folders"]) for page in pages] == [3, 3, 1]
    assert all(page["meta"]["pagination"]["totalCount"] == 7 for page in pages)
    assert "previous" not in pages[0]["meta"]["pagination"] and "previous" in pages[1]["meta"]["pagination"]
    seen = [folder["id"] for page in pages for folder in page["data"][0]["folders"]]
    assert seen == [group["id"] for group in client.groups()["groups"]]


def test_page_size_is_capped_and_bad_page_token_fails_the_item(client):
    client.control("POST", "/_sim/config", {"page_size_max": 5})
    client.control("POST", "/_sim/seed", {"groups": [{"name": "Team", "count": 8}]})
    capped = client.call(FIND, [{}], meta={"pagination": {"pageSize": 500}})
    default = client.call(FIND, [{}])
    bad_token = client.call(FIND, [{"query": "x"}], meta={"pagination": {"pageToken": "garbage"}})

    assert capped.body["meta"]["pagination"]["pageSize"] == 5 and len(capped.body["data"][0]["folders"]) == 5
    assert default.body["meta"]["pagination"]["pageSize"] == 5  # the default of 25 is capped too
    assert bad_token.status == 200 and bad_token.body["data"] == []
    assert bad_token.body["fail"][0]["key"] == {"query": "x"}
    assert bad_token.body["fail"][0]["errors"][0]["code"] == "err_validation_page_token"


def test_root_level_groups_point_at_a_non_empty_invisible_root(client):
    made = client.create("Departments")
    root_id = client.groups()["root_id"]
    under_root = client.create("Explicit", parent_id=root_id)
    found = client.call(FIND, [{}]).body["data"][0]["folders"]

    assert root_id and made["parentId"] == root_id and under_root["parentId"] == root_id
    assert root_id not in [folder["id"] for folder in found] and len(found) == 2


def test_duplicate_names_are_allowed_even_under_one_parent(client):
    first = client.create("Finance")
    second = client.create("Finance")

    assert first["id"] != second["id"]
    assert [g["name"] for g in client.groups()["groups"]] == ["Finance", "Finance"]


# ---- create / update / delete ----------------------------------------------------------------


def test_create_items_fail_one_by_one_with_mimecast_codes(client):
    items = [{"description": "Good"}, {}, {"description": "  "}, {"description": "Orphan", "parentId": "eNoUnknown"}]
    answer = client.call(CREATE, items)

    assert answer.status == 200 and answer.body["meta"]["status"] == 200
    assert [record["description"] for record in answer.body["data"]] == ["Good"]
    failures = [
        (entry["key"], entry["errors"][0]["code"], entry["errors"][0]["field"]) for entry in answer.body["fail"]
    ]
    assert failures == [
        ({}, "err_validation_null", "description"),
        ({"description": "  "}, "err_validation_blank", "description"),
        ({"description": "Orphan", "parentId": "eNoUnknown"}, "err_folder_not_found", "parentId"),
    ]
    assert [g["name"] for g in client.groups()["groups"]] == ["Good"]


def test_update_renames_moves_and_refuses_cycles(client):
    parent = client.create("Parent")
    child = client.create("Child", parent_id=parent["id"])
    other = client.create("Other")

    renamed = client.call(UPDATE, [{"id": child["id"], "description": "Kid"}]).body["data"][0]
    moved = client.call(UPDATE, [{"id": child["id"], "parentId": other["id"]}]).body["data"][0]
    cycle = client.call(
        UPDATE, [{"id": other["id"], "parentId": child["id"]}, {"id": other["id"], "parentId": other["id"]}]
    )
    unknown = client.call(UPDATE, [{"id": "eNoMissing", "description": "X"}])

    assert renamed["description"] == "Kid" and renamed["parentId"] == parent["id"]
    assert moved["parentId"] == other["id"]
    assert [entry["errors"][0]["code"] for entry in cycle.body["fail"]] == ["err_folder_invalid_parent"] * 2
    assert error_code(unknown) == "err_folder_not_found"
    paths = {g["name"]: (g["path"], g["folder_count"]) for g in client.groups()["groups"]}
    assert paths == {"Parent": ("Parent", 0), "Kid": ("Other/Kid", 0), "Other": ("Other", 1)}


def test_ldap_groups_cannot_be_updated_or_deleted(client):
    seeded = client.control("POST", "/_sim/seed", {"groups": [{"name": "Synced", "source": "ldap"}]})
    ldap_id = seeded["groups"][0]["id"]

    update = client.call(UPDATE, [{"id": ldap_id, "description": "Renamed"}])
    delete = client.call(DELETE, [{"id": ldap_id}])

    assert error_code(update) == "err_folder_read_only" and error_code(delete) == "err_folder_read_only"
    assert [(g["name"], g["source"]) for g in client.groups()["groups"]] == [("Synced", "ldap")]


def test_delete_refuses_a_group_with_children_then_works_bottom_up(client):
    parent = client.create("Parent")
    child = client.create("Child", parent_id=parent["id"])

    refused = client.call(DELETE, [{"id": parent["id"]}])
    deleted = client.call(DELETE, [{"id": child["id"]}, {"id": parent["id"]}])
    again = client.call(DELETE, [{"id": child["id"]}])

    assert error_code(refused) == "err_folder_has_children"
    assert deleted.body["data"] == [{"id": child["id"]}, {"id": parent["id"]}] and deleted.body["fail"] == []
    assert error_code(again) == "err_folder_not_found"
    assert client.groups()["groups"] == []


# ---- identity traps --------------------------------------------------------------------------


def test_rotated_ids_are_new_but_old_ids_keep_working(client):
    made = client.create("Finance")
    old_root = client.groups()["root_id"]
    rotated = client.control("POST", "/_sim/rotate-ids")

    new_id = rotated["groups"][0]["id"]
    found = client.call(FIND, [{}]).body["data"][0]["folders"][0]
    renamed = client.call(UPDATE, [{"id": made["id"], "description": "Money"}]).body["data"][0]
    under_old_root = client.create("Second", parent_id=old_root)

    assert new_id != made["id"] and rotated["root_id"] != old_root
    assert found["id"] == new_id and found["parentId"] == rotated["root_id"]
    assert renamed["id"] == new_id and renamed["description"] == "Money"
    assert under_old_root["parentId"] == rotated["root_id"]


def test_per_response_mode_mints_fresh_aliases_that_all_keep_working(client):
    client.control("POST", "/_sim/config", {"id_mode": "per_response"})
    parent = client.create("Parent")
    client.create("Child", parent_id=parent["id"])

    first = client.call(FIND, [{}]).body["data"][0]["folders"]
    second = client.call(FIND, [{}]).body["data"][0]["folders"]

    assert first[0]["id"] != second[0]["id"] != parent["id"]
    assert first[1]["parentId"] == first[0]["id"]  # one response is self-consistent
    for alias in (parent["id"], first[0]["id"], second[0]["id"]):
        answer = client.call(UPDATE, [{"id": alias, "description": "Parent"}])
        assert answer.body["fail"] == [], alias
    canonical = client.groups()["groups"][0]
    assert canonical["id"] not in (parent["id"], first[0]["id"], second[0]["id"])  # never shown by the API
    assert {parent["id"], first[0]["id"], second[0]["id"]} <= set(canonical["aliases"])


# ---- rate limiting ---------------------------------------------------------------------------


def test_rate_limit_answers_429_with_reset_and_does_not_execute(client):
    client.control("POST", "/_sim/config", {"rate_limit": 2, "rate_window_ms": 60_000})
    first = client.call(CREATE, [{"description": "One"}])
    second = client.call(CREATE, [{"description": "Two"}])
    limited = client.call(CREATE, [{"description": "Three"}])
    other_credential = client.bearer(FIND, client.token().body["access_token"], [{}])

    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert first.headers["X-RateLimit-Reset"] == "0"
    assert second.headers["X-RateLimit-Remaining"] == "0" and int(second.headers["X-RateLimit-Reset"]) > 0
    assert limited.status == 429 and error_code(limited) == "err_rate_limit_exceeded"
    assert 0 < int(limited.headers["X-RateLimit-Reset"]) <= 60_000
    assert other_credential.status == 200  # limits are per credential
    assert [g["name"] for g in client.groups()["groups"]] == ["One", "Two"]
    assert client.stats()["rate_limited"] == 1


def test_rate_limit_window_reopens_after_reset(client):
    client.control("POST", "/_sim/config", {"rate_limit": 1, "rate_window_ms": 200})
    client.call(FIND, [{}])
    limited = client.call(FIND, [{}])
    time.sleep(int(limited.headers["X-RateLimit-Reset"]) / 1000 + 0.05)

    assert limited.status == 429
    assert client.call(FIND, [{}]).status == 200


def test_every_api_response_carries_rate_limit_headers(client):
    answers = [
        client.call(FIND, [{}]),
        client.call(FIND, [{}], secret_key=base64.b64encode(b"wrong").decode()),
        client.request("GET", FIND),
        client.request("POST", "/api/directory/nope", {"data": []}),
    ]

    assert [answer.status for answer in answers] == [200, 401, 405, 404]
    for answer in answers:
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(answer.headers.keys())


# ---- faults ----------------------------------------------------------------------------------


def _assert_dropped(call):
    with pytest.raises(OSError) as raised:  # RemoteDisconnected, ConnectionResetError or URLError
        call()
    assert not isinstance(raised.value, urllib.error.HTTPError)


def test_drop_before_closes_the_connection_without_executing(client):
    client.faults({"kind": "drop_before", "path": CREATE, "times": 1})
    _assert_dropped(lambda: client.call(CREATE, [{"description": "Lost"}]))

    assert client.groups()["groups"] == []
    assert client.stats()["faults"] == {"drop_before": 1}
    assert client.control("GET", "/_sim/requests")[-1]["status"] is None


def test_drop_after_executes_then_closes_the_connection(client):
    client.faults({"kind": "drop_after", "path": CREATE, "times": 1})
    _assert_dropped(lambda: client.call(CREATE, [{"description": "Ghost"}]))
    retry_without_looking = client.call(CREATE, [{"description": "Ghost"}])

    assert retry_without_looking.status == 200
    assert [g["name"] for g in client.groups()["groups"]] == ["Ghost", "Ghost"]  # the duplicate trap
    assert client.stats()["writes"] == 2


def test_server_error_non_json_and_fail_200_do_not_execute(client):
    client.faults(
        {"kind": "server_error", "status": 503, "times": 1},
        {"kind": "non_json", "times": 1},
        {"kind": "fail_200", "times": 1},
    )
    server_error = client.call(CREATE, [{"description": "A"}])
    non_json = client.call(CREATE, [{"description": "B"}])
    fail_200 = client.call(CREATE, [{"description": "C"}])

    assert server_error.status == 503
    assert non_json.status == 200 and non_json.headers["Content-Type"].startswith("text/html")
    assert non_json.body == b"<html>gateway error</html>"
    assert fail_200.status == 200 and fail_200.body["meta"]["status"] == 500
    fail_error = fail_200.body["fail"][0]["errors"][0]
    assert (fail_error["code"], fail_error["retryable"]) == ("err_internal", True)
    assert client.groups()["groups"] == []
    assert client.stats()["faults"] == {"server_error": 1, "non_json": 1, "fail_200": 1}


def test_partial_answer_runs_and_answers_only_the_first_items(client):
    client.faults({"kind": "partial_answer", "answered": 2, "path": CREATE, "times": 1})
    reply = client.call(CREATE, [{"description": name} for name in ("A", "B", "C", "D")])
    again = client.call(CREATE, [{"description": "E"}, {"description": "F"}, {"description": "G"}])

    assert reply.status == 200 and reply.body["fail"] == []
    assert [record["description"] for record in reply.body["data"]] == ["A", "B"]
    assert [g["name"] for g in client.groups()["groups"]] == ["A", "B", "E", "F", "G"]  # C and D never ran
    assert len(again.body["data"]) == 3
    assert client.stats()["faults"] == {"partial_answer": 1}


def test_not_found_answers_every_item_not_found_and_runs_none(client):
    created = client.call(CREATE, [{"description": "Stays"}]).body["data"][0]
    client.faults({"kind": "not_found", "path": DELETE, "times": 1})
    reply = client.call(DELETE, [{"id": created["id"]}])

    assert reply.status == 200 and reply.body["data"] == []
    assert [entry["errors"][0]["code"] for entry in reply.body["fail"]] == ["err_folder_not_found"]
    assert reply.body["fail"][0]["key"] == {"id": created["id"]}
    assert [g["name"] for g in client.groups()["groups"]] == ["Stays"]  # the group is still there
    assert client.call(DELETE, [{"id": created["id"]}]).body["fail"] == []


def test_deleted_first_deletes_each_items_group_then_runs_the_call(client):
    parent = client.call(CREATE, [{"description": "Parent"}]).body["data"][0]
    child = client.call(CREATE, [{"description": "Child", "parentId": parent["id"]}]).body["data"][0]
    other = client.call(CREATE, [{"description": "Other"}]).body["data"][0]
    client.faults({"kind": "deleted_first", "path": DELETE, "times": 1})
    reply = client.call(DELETE, [{"id": child["id"]}, {"id": parent["id"]}])

    # The child is deleted by "someone else" first, so this call's delete of it finds nothing; the parent (which had
    # a child when the fault ran) is left to the call, which deletes it.
    assert reply.status == 200 and reply.body["data"] == [{"id": parent["id"]}]
    assert [(e["key"], e["errors"][0]["code"]) for e in reply.body["fail"]] == [
        ({"id": child["id"]}, "err_folder_not_found")
    ]
    assert [g["id"] for g in client.groups()["groups"]] == [other["id"]]
    assert client.stats()["faults"] == {"deleted_first": 1}


def _wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_land_late_drops_the_connection_then_runs_the_call_later(client):
    client.faults({"kind": "land_late", "ms": 400, "answer": "drop", "path": CREATE, "times": 1})
    started = time.monotonic()
    _assert_dropped(lambda: client.call(CREATE, [{"description": "Late"}]))

    assert time.monotonic() - started < 0.4  # answered at once
    assert client.groups()["groups"] == []  # not run yet
    _wait_for(lambda: client.stats()["late_landings"] == 1)
    assert time.monotonic() - started >= 0.4
    assert [g["name"] for g in client.groups()["groups"]] == ["Late"]
    stats = client.stats()
    assert stats["faults"] == {"land_late": 1} and stats["late_landings"] == 1 and stats["writes"] == 1


def test_land_late_can_answer_a_server_error_and_still_run_later(client):
    client.faults({"kind": "land_late", "ms": 300, "answer": 503, "path": CREATE, "times": 1})
    answer = client.call(CREATE, [{"description": "Late"}])

    assert answer.status == 503 and error_code(answer) == "err_internal"
    assert client.groups()["groups"] == []
    _wait_for(lambda: client.stats()["late_landings"] == 1)
    assert [g["name"] for g in client.groups()["groups"]] == ["Late"]


def test_land_late_rejects_an_answer_that_is_not_drop_or_5xx(client):
    for answer in ("later", 200, 429, True):
        reply = client.request(
            "POST",
            "/_sim/faults",
            {"rules": [{"kind": "land_late", "answer": answer}]},
            {"Content-Type": "application/json"},
        )
        assert reply.status == 400 and "land_late answer" in reply.body["error"]


def test_rate_limit_fault_sets_reset_and_retry_after(client):
    client.faults({"kind": "rate_limit", "reset_ms": 1500, "retry_after": 2, "times": 1})
    limited = client.call(CREATE, [{"description": "A"}])
    retried = client.call(CREATE, [{"description": "A"}])

    assert limited.status == 429 and error_code(limited) == "err_rate_limit_exceeded"
    assert limited.headers["X-RateLimit-Reset"] == "1500" and limited.headers["Retry-After"] == "2"
    assert retried.status == 200
    assert len(client.groups()["groups"]) == 1


def test_delay_fault_answers_normally_after_waiting(client):
    client.faults({"kind": "delay", "ms": 300, "path": FIND})
    started = time.monotonic()
    answer = client.call(FIND, [{}])

    assert time.monotonic() - started >= 0.3
    assert answer.status == 200 and answer.body["fail"] == []


def test_expire_token_fault_turns_a_valid_token_stale(client):
    token = client.token().body["access_token"]
    client.faults({"kind": "expire_token", "times": 1})
    expired = client.bearer(FIND, token, [{}])
    fresh = client.bearer(FIND, client.token().body["access_token"], [{}])

    assert expired.status == 401 and error_code(expired) == "err_xdk_token_expired"
    assert fresh.status == 200


def test_fault_after_times_and_probability_are_reproducible(client):
    client.faults({"kind": "server_error", "path": FIND, "after": 1, "times": 2})
    statuses = [client.call(FIND, [{}]).status for _call in range(5)]

    def pattern():
        client.faults({"kind": "server_error", "path": FIND, "probability": 0.5}, seed=42)
        return [client.call(FIND, [{}]).status for _call in range(20)]

    first, second = pattern(), pattern()
    assert statuses == [200, 500, 500, 200, 200]
    assert first == second and {200, 500} == set(first)
    client.control("DELETE", "/_sim/faults")
    assert client.call(FIND, [{}]).status == 200


# ---- control API -----------------------------------------------------------------------------


def test_stats_count_paths_auth_writes_and_can_be_zeroed(client):
    client.call(FIND, [{}])
    client.create("A")
    client.call(FIND, [{}], app_id="wrong")
    client.bearer(FIND, client.token().body["access_token"], [{}])
    client.groups()  # control calls are never counted

    stats = client.stats()
    assert stats["total"] == 5
    assert stats["by_path"] == {FIND: 3, CREATE: 1, "/oauth/token": 1}
    assert stats["by_auth"] == {"hmac": 3, "bearer": 1}
    assert (stats["token_requests"], stats["writes"], stats["rejected"], stats["rate_limited"]) == (1, 1, 1, 0)
    client.control("POST", "/_sim/stats/reset")
    assert client.stats()["total"] == 0 and client.control("GET", "/_sim/requests") == []


def test_request_log_and_config_never_show_secrets(client):
    token = client.token().body["access_token"]
    headers = hmac_headers(FIND)
    client.call(FIND, [{}], headers=headers)
    client.bearer(FIND, token, [{}])

    log = client.control("GET", "/_sim/requests")
    config = client.control("GET", "/_sim/config")
    dumped = json.dumps([log, config])
    assert [(entry["path"], entry["auth"], entry["status"]) for entry in log] == [
        ("/oauth/token", "token", 200),
        (FIND, "hmac", 200),
        (FIND, "bearer", 200),
    ]
    for secret in (token, headers["Authorization"].rsplit(":", maxsplit=1)[-1], SECRET_KEY, APP_KEY, CLIENT_SECRET):
        assert secret not in dumped
    assert config["access_key"] == ACCESS_KEY and "secret_key" not in config and "client_secret" not in config


def test_config_credentials_change_and_reset_restores_defaults(client):
    client.control("POST", "/_sim/config", {"access_key": "rotated-key", "mc_sim_client_secret": "new-secret"})
    old_key = client.call(FIND, [{}])
    new_key = client.call(FIND, [{}], access_key="rotated-key")
    new_secret = client.token(client_secret="new-secret")
    client.control("POST", "/_sim/reset")
    after_reset = client.call(FIND, [{}])

    assert old_key.status == 401 and new_key.status == 200 and new_secret.status == 200
    assert after_reset.status == 200
    bad = client.request("POST", "/_sim/config", {"no_such_key": 1})
    assert bad.status == 400


def test_credentials_can_come_from_environment_variables():
    assert sim.credentials_from_env({"MC_SIM_ACCESS_KEY": "from-env", "HOME": "/x"}) == {"access_key": "from-env"}
    assert sim.SimulatorState().config["page_size_default"] == 25


def test_seed_creates_missing_path_parts_and_counts(client):
    seeded = client.control(
        "POST",
        "/_sim/seed",
        {
            "groups": [
                {"name": "Finance", "parent": "Departments/EMEA"},
                {"name": "Finance", "parent": "Departments/EMEA", "count": 2},
                {"name": "Payroll", "parent": "Departments/EMEA/Finance", "source": "ldap"},
            ]
        },
    )

    state = client.groups()
    paths = [(g["path"], g["source"]) for g in state["groups"]]
    assert [g["path"] for g in seeded["groups"]] == ["Departments/EMEA/Finance"] * 3 + [
        "Departments/EMEA/Finance/Payroll"
    ]
    assert paths == [
        ("Departments", "cloud"),
        ("Departments/EMEA", "cloud"),
        ("Departments/EMEA/Finance", "cloud"),
        ("Departments/EMEA/Finance", "cloud"),
        ("Departments/EMEA/Finance", "cloud"),
        ("Departments/EMEA/Finance/Payroll", "ldap"),
    ]
    # An ambiguous path part resolves to the first group of that name.
    assert seeded["groups"][3]["parent_id"] == seeded["groups"][0]["id"]
    assert state["groups"][0]["parent_id"] == state["root_id"]


def test_malformed_body_wrong_method_and_unknown_path(client):
    headers = {"Content-Type": "application/json", **hmac_headers(FIND)}
    not_json = client.request("POST", FIND, b"{not json", headers)
    wrong_method = client.request("GET", FIND)
    unknown = client.request("POST", "/api/directory/unknown", {"data": []})

    assert not_json.status == 400 and error_code(not_json) == "err_request_malformed"
    assert wrong_method.status == 405 and unknown.status == 404
    assert client.control("GET", "/_sim/health") == {"ok": True}


def test_concurrent_calls_are_all_counted_and_applied(client):
    def create_ten(worker):
        for number in range(10):
            client.create(f"Worker {worker} group {number}")

    threads = [threading.Thread(target=create_ten, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    groups = client.groups()["groups"]
    assert len(groups) == 80 and len({group["id"] for group in groups}) == 80
    assert client.stats()["writes"] == 80 and client.stats()["total"] == 80


# ---- running it ------------------------------------------------------------------------------


def test_command_line_writes_ready_file_logs_no_secrets_and_stops_on_sigterm(tmp_path):
    ready_file = tmp_path / "ready.json"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MC_SIM_")}
    process = subprocess.Popen(
        [sys.executable, str(SIMULATOR_PATH), "--port", "0", "--ready-file", str(ready_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    try:
        deadline = time.monotonic() + 15
        while not ready_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text())
        api = SimClient(ready["url"])
        token = api.token().body["access_token"]
        headers = hmac_headers(FIND)
        answer = api.call(FIND, [{}], headers=headers)
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert ready["url"] == f"http://127.0.0.1:{ready['port']}" and ready["pid"] == process.pid
    assert ready["ca_cert"] is None and answer.status == 200
    assert process.returncode == 0 and not ready_file.exists()
    log = stderr.decode()
    assert f"POST {FIND} 200" in log
    for secret in (token, headers["Authorization"].rsplit(":", maxsplit=1)[-1], SECRET_KEY, APP_KEY, CLIENT_SECRET):
        assert secret not in log


def test_tls_option_serves_https_trusted_through_the_generated_ca(tmp_path):
    pytest.importorskip("cryptography")
    running = sim.start_server(tls=True, cert_dir=str(tmp_path), log_requests=False)
    try:
        context = ssl.create_default_context(cafile=running.ca_cert)
        secure = SimClient(running.url, context)
        by_name = SimClient(running.url.replace("127.0.0.1", "localhost"), context)

        assert running.url.startswith("https://127.0.0.1:")
        assert secure.control("GET", "/_sim/health") == {"ok": True}
        assert by_name.control("GET", "/_sim/health") == {"ok": True}
        with pytest.raises(urllib.error.URLError):
            SimClient(running.url, ssl.create_default_context()).request("GET", "/_sim/health")
    finally:
        running.shutdown()


def test_start_server_runs_in_a_thread_and_shuts_down():
    running = sim.start_server(log_requests=False, seed={"groups": [{"name": "Seeded"}]})
    url = running.url
    try:
        assert SimClient(url).groups()["groups"][0]["name"] == "Seeded"
        assert running.state.groups_snapshot()["groups"][0]["name"] == "Seeded"
    finally:
        running.shutdown()
    with pytest.raises((OSError, http.client.HTTPException)):
        SimClient(url).request("GET", "/_sim/health")


def test_tokens_outlive_a_reset_of_the_directory_until_expired(client):
    token = client.token().body["access_token"]
    client.control("POST", "/_sim/reset")
    after_reset = client.bearer(FIND, token, [{}])
    client.control("POST", "/_sim/expire-tokens")
    after_expiry = client.bearer(FIND, token, [{}])

    assert after_reset.status == 200
    assert after_expiry.status == 401 and error_code(after_expiry) == "err_xdk_token_expired"
