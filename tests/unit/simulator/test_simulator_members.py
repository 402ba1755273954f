"""Tests of the simulator's group members: get-group-members, add-group-member, remove-group-member and
the /_sim/members control call, driven over real HTTP like test_simulator.py (whose client this file reuses).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "simulator_test_helpers", Path(__file__).resolve().with_name("test_simulator.py")
)
helpers = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(helpers)
sim = helpers.sim

FIND = helpers.FIND
MEMBERS = "/api/directory/get-group-members"
ADD = "/api/directory/add-group-member"
REMOVE = "/api/directory/remove-group-member"


@pytest.fixture(scope="module")
def server():
    running = sim.start_server(
        log_requests=False,
        access_key=helpers.ACCESS_KEY,
        secret_key=helpers.SECRET_KEY,
        app_id=helpers.APP_ID,
        app_key=helpers.APP_KEY,
        client_id=helpers.CLIENT_ID,
        client_secret=helpers.CLIENT_SECRET,
    )
    yield running
    running.shutdown()


@pytest.fixture
def client(server):
    api = helpers.SimClient(server.url)
    api.control("POST", "/_sim/reset")
    return api


def members_of(client, group_id, page_size=100):
    """Every member record, following meta.pagination.next like a client must."""
    records, token, pages = [], None, 0
    while True:
        pagination = {"pageSize": page_size, **({"pageToken": token} if token else {})}
        answer = client.call(MEMBERS, [{"id": group_id}], meta={"pagination": pagination})
        assert answer.status == 200 and answer.body["fail"] == [], answer
        records.extend(answer.body["data"][0]["groupMembers"])
        pages += 1
        token = answer.body["meta"]["pagination"].get("next")
        if not token:
            return records, pages


def user_count(client, name):
    answer = client.call(FIND, [{"query": name}])
    return next(f["userCount"] for f in answer.body["data"][0]["folders"] if f["description"] == name)


def test_added_members_come_back_lower_case_with_the_shapes_mimecast_uses(client):
    group = client.create("Staff")
    answer = client.call(
        ADD,
        [{"id": group["id"], "emailAddress": "Alice@Example.COM"}, {"id": group["id"], "domain": "Partner.Example"}],
    )

    assert answer.status == 200 and answer.body["fail"] == []
    added = answer.body["data"]
    assert [set(record) for record in added] == [{"id", "folderId", "emailAddress", "internal"}] * 2
    assert [record["emailAddress"] for record in added] == ["alice@example.com", "partner.example"]
    assert {record["folderId"] for record in added} == {group["id"]}
    records, _pages = members_of(client, group["id"])
    assert [(r["emailAddress"], r["domain"]) for r in records] == [
        ("alice@example.com", "example.com"),  # an address carries the domain of its address
        ("partner.example", "partner.example"),  # a domain member: emailAddress = domain
    ]
    assert all(set(r) == {"emailAddress", "domain", "name", "type", "internal"} for r in records)
    assert {r["type"] for r in records} == {"created_manually"}
    assert user_count(client, "Staff") == 2
    assert client.control("GET", f"/_sim/members?id={group['id']}")["members"] == [
        "alice@example.com",
        "partner.example",
    ]


def test_each_item_of_a_batch_succeeds_or_fails_on_its_own_with_its_key_echoed(client):
    group = client.create("Staff")
    client.call(ADD, [{"id": group["id"], "emailAddress": "bob@example.com"}])
    items = [
        {"id": group["id"], "emailAddress": "carol@example.com", "notes": "new"},
        {"id": group["id"], "emailAddress": "BOB@example.com"},
        {"id": group["id"], "emailAddress": "not-an-address"},
        {"id": group["id"], "domain": "bad_domain"},
        {"id": "eNoUnknown", "emailAddress": "dave@example.com"},
        {"id": group["id"], "emailAddress": "erin@example.com", "domain": "example.com"},
        {"emailAddress": "frank@example.com"},
    ]
    answer = client.call(ADD, items)

    assert answer.status == 200 and answer.body["meta"]["status"] == 200
    assert [r["emailAddress"] for r in answer.body["data"]] == ["carol@example.com"]
    assert [(f["key"], f["errors"][0]["code"]) for f in answer.body["fail"]] == [
        (items[1], "err_folder_group_member_already_exists"),
        (items[2], "err_validation_invalid_email_address"),
        (items[3], "err_validation_invalid_domain"),
        (items[4], "err_folder_not_found"),
        (items[5], "err_validation_at_least_one_not_null"),
        (items[6], "err_validation_null"),
    ]
    assert client.control("GET", f"/_sim/members?id={group['id']}")["members"] == [
        "bob@example.com",
        "carol@example.com",
    ]
    assert user_count(client, "Staff") == 2


def test_remove_takes_members_out_and_reports_absent_ones_as_not_found(client):
    group = client.create("Staff")
    client.control("POST", "/_sim/members", {"id": group["id"], "members": ["a@example.com", "partner.example"]})
    items = [
        {"id": group["id"], "emailAddress": "A@EXAMPLE.com"},
        {"id": group["id"], "domain": "partner.example"},
        {"id": group["id"], "emailAddress": "absent@example.com"},
    ]
    answer = client.call(REMOVE, items)

    assert [set(r) for r in answer.body["data"]] == [{"folderId", "emailAddress", "id", "internal"}] * 2
    assert [(f["key"], f["errors"][0]["code"]) for f in answer.body["fail"]] == [
        (items[2], "err_folder_email_address_not_found")
    ]
    snapshot = client.control("GET", f"/_sim/members?id={group['id']}")
    assert snapshot["members"] == [] and snapshot["user_count"] == 0
    assert user_count(client, "Staff") == 0


def test_members_page_with_meta_pagination_until_next_is_absent(client):
    group = client.create("Big")
    seeded = client.control("POST", "/_sim/members", {"path": "Big", "count": 250, "domain": "corp.example"})
    assert seeded["added"] == 250 and seeded["count"] == 250 and seeded["user_count"] == 250

    records, pages = members_of(client, group["id"])
    first = client.call(MEMBERS, [{"id": group["id"]}], meta={"pagination": {"pageSize": 100}})

    assert pages == 3
    assert first.body["meta"]["pagination"]["totalCount"] == 250
    assert len(first.body["data"][0]["groupMembers"]) == 100
    assert sorted(r["emailAddress"] for r in records) == client.control("GET", "/_sim/members?path=Big")["members"]
    assert len({r["emailAddress"] for r in records}) == 250
    assert {r["type"] for r in records} == {"created_by_import"}


def test_page_size_is_capped_and_a_forged_page_token_fails_the_item(client):
    group = client.create("Big")
    client.control("POST", "/_sim/members", {"id": group["id"], "count": 120})
    capped = client.call(MEMBERS, [{"id": group["id"]}], meta={"pagination": {"pageSize": 1000}})
    forged = client.call(MEMBERS, [{"id": group["id"]}], meta={"pagination": {"pageToken": "forged"}})
    unknown = client.call(MEMBERS, [{"id": "eNoUnknown"}])

    assert len(capped.body["data"][0]["groupMembers"]) == 100
    assert helpers.error_code(forged) == "err_validation_page_token"
    assert helpers.error_code(unknown) == "err_folder_not_found"


def test_members_of_ldap_groups_cannot_be_changed(client):
    client.control("POST", "/_sim/seed", {"groups": [{"name": "Synced", "source": "ldap"}]})
    group_id = client.groups()["groups"][0]["id"]
    answer = client.call(ADD, [{"id": group_id, "emailAddress": "a@example.com"}])

    assert helpers.error_code(answer) == "err_folder_read_only"
    assert client.control("GET", f"/_sim/members?id={group_id}")["members"] == []


def test_old_ids_keep_working_for_members(client):
    group = client.create("Staff")
    client.control("POST", "/_sim/rotate-ids")
    answer = client.call(ADD, [{"id": group["id"], "emailAddress": "a@example.com"}])

    assert answer.body["fail"] == []
    assert answer.body["data"][0]["folderId"] == client.groups()["groups"][0]["id"] != group["id"]


def test_dropped_add_batch_still_ran(client):
    group = client.create("Staff")
    client.faults({"kind": "drop_after", "path": ADD, "times": 1})
    helpers._assert_dropped(
        lambda: client.call(ADD, [{"id": group["id"], "emailAddress": f"u{n}@example.com"} for n in range(3)])
    )

    assert client.control("GET", f"/_sim/members?id={group['id']}")["count"] == 3
    assert client.stats()["faults"] == {"drop_after": 1}


def test_stats_and_request_log_count_the_items_each_call_carried(client):
    group = client.create("Staff")
    client.control("POST", "/_sim/stats/reset")
    client.call(ADD, [{"id": group["id"], "emailAddress": f"u{n}@example.com"} for n in range(3)])
    client.call(REMOVE, [{"id": group["id"], "emailAddress": "u0@example.com"}])
    members_of(client, group["id"])

    stats = client.stats()
    assert stats["items"] == {ADD: 3, REMOVE: 1, MEMBERS: 1}
    assert stats["writes"] == 2
    assert stats["by_path"] == {ADD: 1, REMOVE: 1, MEMBERS: 1}
    assert [(r["path"], r["items"]) for r in client.control("GET", "/_sim/requests")] == [
        (ADD, 3),
        (REMOVE, 1),
        (MEMBERS, 1),
    ]


def test_control_seeds_thousands_of_members_in_one_call_and_refuses_bad_ones(client):
    client.control("POST", "/_sim/seed", {"groups": [{"name": "Huge", "parent": "Departments"}]})
    seeded = client.control(
        "POST", "/_sim/members", {"path": "Departments/Huge", "members": ["Boss@Corp.Example"], "count": 5000}
    )
    again = client.control("POST", "/_sim/members", {"path": "Departments/Huge", "members": ["boss@corp.example"]})

    assert seeded["count"] == 5001 and seeded["user_count"] == 5001
    assert again["added"] == 0 and again["count"] == 5001
    assert "boss@corp.example" in seeded["members"]
    for body in (
        {"path": "Departments/Huge", "members": ["two@@example.com"]},
        {"path": "Departments/Huge", "members": ["white space@example.com"]},
        {"path": "Nowhere"},
        {"members": []},
        {"path": "Departments/Huge", "count": -1},
    ):
        answer = client.request("POST", "/_sim/members", body, {"Content-Type": "application/json"})
        assert answer.status == 400, body
    assert client.control("GET", "/_sim/members?path=Departments/Huge")["count"] == 5001


def test_control_seeds_many_groups_in_one_call_and_seeds_none_when_one_entry_is_bad(client):
    seeded = client.control("POST", "/_sim/seed", {"groups": [{"name": "A", "parent": "Bulk"}, {"name": "B"}]})
    ids = [g["id"] for g in seeded["groups"]]
    answer = client.control(
        "POST", "/_sim/members", {"groups": [{"id": ids[0], "count": 3}, {"path": "B", "count": 2}]}
    )
    assert [(g["id"], g["count"], g["user_count"]) for g in answer["groups"]] == [(ids[0], 3, 3), (ids[1], 2, 2)]
    bad = {"groups": [{"path": "B", "members": ["new@example.com"]}, {"path": "Nowhere", "count": 1}]}
    assert client.request("POST", "/_sim/members", bad, {"Content-Type": "application/json"}).status == 400
    assert client.control("GET", "/_sim/members?path=B")["count"] == 2


@pytest.mark.parametrize(
    "value, kind",
    [
        ("a@example.com", "address"),
        ("first.last+tag@mail.example.co.uk", "address"),
        ("partner.example", "domain"),
        ("xn--bcher-kva.example", "domain"),
        ("", None),
        ("a@b@example.com", None),
        ("@example.com", None),
        ("user@", None),
        ("a b@example.com", None),
        ("user@localhost", None),
        ("user@exa_mple.com", None),
        ("user@-bad.example", None),
        ("user@1.2.3.4", None),
        ("a\x07@example.com", None),
        ("x" * 65 + "@example.com", None),
    ],
)
def test_member_values_are_judged_like_mimecast(value, kind):
    assert sim.member_kind(value) == kind


def test_refused_members_are_refused_one_by_one_while_the_rest_of_the_batch_runs(client):
    staff, other = client.create("Staff"), client.create("Other")
    client.control("POST", "/_sim/config", {"refused_members": ["Blocked@Example.com"]})
    items = [
        {"id": staff["id"], "emailAddress": "ok@example.com"},
        {"id": staff["id"], "emailAddress": "blocked@example.com"},
        {"id": other["id"], "emailAddress": "also@example.com"},
    ]
    answer = client.call(ADD, items)

    assert [r["emailAddress"] for r in answer.body["data"]] == ["ok@example.com", "also@example.com"]
    assert [(f["key"], f["errors"][0]["code"]) for f in answer.body["fail"]] == [
        (items[1], "err_folder_member_not_allowed")
    ]
    assert client.control("GET", f"/_sim/members?id={staff['id']}")["members"] == ["ok@example.com"]
    answer = client.request(
        "POST", "/_sim/config", {"refused_members": ["not valid"]}, {"Content-Type": "application/json"}
    )
    assert answer.status == 400


def test_a_group_whose_name_holds_a_slash_is_named_by_a_list_of_names(client):
    client.control("POST", "/_sim/seed", {"groups": [{"name": "Sales/Marketing", "parent": ["Org"]}]})
    seeded = client.control("POST", "/_sim/members", {"path": ["Org", "Sales/Marketing"], "members": ["a@example.com"]})

    assert seeded["members"] == ["a@example.com"]
    snapshot = client.control("GET", "/_sim/members", {"path": ["Org", "Sales/Marketing"]})
    assert snapshot["id"] == seeded["id"] and snapshot["count"] == 1
    answer = client.request("POST", "/_sim/members", {"path": ["Org", ""]}, {"Content-Type": "application/json"})
    assert answer.status == 400


def test_the_groups_snapshot_carries_every_groups_members_when_asked(client):
    staff, empty = client.create("Staff"), client.create("Empty")
    client.control("POST", "/_sim/members", {"id": staff["id"], "members": ["b@example.com", "a@example.com"]})

    with_members = client.control("GET", "/_sim/groups?members=1")["groups"]
    assert [(g["id"], g["members"]) for g in with_members] == [
        (staff["id"], ["a@example.com", "b@example.com"]),
        (empty["id"], []),
    ]
    assert all("members" not in g for g in client.control("GET", "/_sim/groups")["groups"])


def test_a_delayed_member_write_is_counted_on_arrival_and_runs_after_the_hold(client):
    # What the kill-anywhere target relies on for member writes, as for group writes: a request held by a delay
    # rule is in by_path as soon as it arrives, and in writes (and the directory) only once it has run.
    group = client.create("Staff")
    client.control("POST", "/_sim/stats/reset")
    client.faults({"kind": "delay", "ms": 600, "path": ADD})
    answers = []
    sender = threading.Thread(
        target=lambda: answers.append(client.call(ADD, [{"id": group["id"], "emailAddress": "amy@example.com"}]))
    )
    sender.start()
    deadline = time.monotonic() + 5
    while client.stats()["by_path"].get(ADD, 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    held = client.stats()
    held_members = client.control("GET", f"/_sim/members?id={group['id']}")["members"]
    sender.join(timeout=10)

    assert held["by_path"].get(ADD) == 1 and held["writes"] == 0 and held_members == []
    assert answers and answers[0].status == 200 and answers[0].body["fail"] == []
    assert client.stats()["writes"] == 1
    assert client.control("GET", f"/_sim/members?id={group['id']}")["members"] == ["amy@example.com"]


ODD = ["svc@mail_relay.example.com", "x" * 65 + "@example.com", "jurgen@münchen.de"]


def test_raw_seeding_holds_values_the_member_checks_refuse_and_reads_them_back(client):
    group = client.create("Odd")
    refused = client.request(
        "POST", "/_sim/members", {"id": group["id"], "members": ODD}, {"Content-Type": "application/json"}
    )
    assert refused.status == 400  # without raw, the simulator's own checks refuse them, as add-group-member does
    for bad in ([""], ["a b@example.com"], ["tab\t@example.com"]):
        body = {"id": group["id"], "members": bad, "raw": True}
        answer = client.request("POST", "/_sim/members", body, {"Content-Type": "application/json"})
        assert answer.status == 400, bad  # never a member, raw or not
    body = {"id": group["id"], "members": ODD + ["ok@example.com"], "raw": True}
    seeded = client.control("POST", "/_sim/members", body)
    assert seeded["added"] == 4 and seeded["user_count"] == 4
    records, _pages = members_of(client, group["id"])
    assert sorted(r["emailAddress"] for r in records) == sorted(ODD + ["ok@example.com"])
    # adding such a value through the API is still refused, as Mimecast refuses it
    answer = client.call(ADD, [{"id": group["id"], "emailAddress": "new@mail_relay.example.com"}])
    assert answer.body["fail"][0]["errors"][0]["code"] == "err_validation_invalid_email_address"
