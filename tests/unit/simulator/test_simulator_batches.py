"""Batch writes in the Mimecast API simulator: per-item outcomes, the per-request item cap, and seeding
thousands of groups.

The simulator is loaded by file path and driven over real HTTP, like the integration tests drive it.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

SIMULATOR_PATH = Path(__file__).resolve().parents[2] / "simulator" / "mimecast_simulator.py"


def _load_simulator():
    spec = importlib.util.spec_from_file_location("mimecast_simulator_batches", SIMULATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sim = _load_simulator()

FIND = "/api/directory/find-groups"
CREATE = "/api/directory/create-group"
DELETE = "/api/directory/delete-group"
UPDATE = "/api/directory/update-group"


class Api:
    """Signed API 1.0 calls and control calls over urllib; answers as (status, body)."""

    def __init__(self, server):
        self.url = server.url
        self.config = server.state.config

    def _send(self, method, path, body, headers):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")

    def call(self, path, items):
        date, request_id = sim.format_mc_date(), str(uuid.uuid4())
        config = self.config
        headers = {
            "Content-Type": "application/json",
            "Authorization": sim.authorization_header(
                config["access_key"], config["secret_key"], config["app_key"], date, request_id, path
            ),
            "x-mc-date": date,
            "x-mc-req-id": request_id,
            "x-mc-app-id": config["app_id"],
        }
        return self._send("POST", path, {"data": items}, headers)

    def control(self, method, path, body=None):
        status, answer = self._send(method, path, body, {"Content-Type": "application/json"})
        assert status == 200, answer
        return answer


@pytest.fixture(scope="module")
def server():
    running = sim.start_server(log_requests=False)
    yield running
    running.shutdown()


@pytest.fixture
def api(server):
    client = Api(server)
    client.control("POST", "/_sim/reset")
    return client


def paths(api):
    return sorted(g["path"] for g in api.control("GET", "/_sim/groups")["groups"])


# ---- each item its own outcome ----------------------------------------------------------------


def test_create_batch_answers_successes_in_item_order_and_echoes_each_failure_in_key(api):
    parent = api.call(CREATE, [{"description": "Parent"}])[1]["data"][0]
    items = [
        {"description": "B", "parentId": parent["id"]},
        {"description": "Lost", "parentId": "eNoNoSuchGroup"},
        {"description": "A", "parentId": parent["id"]},
        {"description": " "},
        {"description": "C"},
    ]

    status, body = api.call(CREATE, items)

    assert status == 200 and body["meta"]["status"] == 200
    assert [(r["description"], r["parentId"]) for r in body["data"]] == [
        ("B", parent["id"]),
        ("A", parent["id"]),
        ("C", parent["parentId"]),
    ]
    assert [(f["key"], [e["code"] for e in f["errors"]]) for f in body["fail"]] == [
        (items[1], ["err_folder_not_found"]),
        (items[3], ["err_validation_blank"]),
    ]
    assert paths(api) == ["C", "Parent", "Parent/A", "Parent/B"]


def test_delete_batch_keeps_the_successes_of_a_partly_failed_batch(api):
    api.control("POST", "/_sim/seed", {"groups": [{"name": "Leaf", "parent": "Top"}, {"name": "Other"}]})
    groups = {g["path"]: g["id"] for g in api.control("GET", "/_sim/groups")["groups"]}
    items = [{"id": groups["Top/Leaf"]}, {"id": groups["Top"]}, {"id": "eNoGone"}, {"id": groups["Other"]}]

    status, body = api.call(DELETE, items)

    # Items run in order: Leaf goes first, so Top has no child left when its own item runs.
    assert status == 200
    assert body["data"] == [{"id": groups["Top/Leaf"]}, {"id": groups["Top"]}, {"id": groups["Other"]}]
    assert [(f["key"], f["errors"][0]["code"]) for f in body["fail"]] == [({"id": "eNoGone"}, "err_folder_not_found")]
    assert paths(api) == []


def test_delete_batch_in_the_wrong_order_refuses_the_parent_item_only(api):
    api.control("POST", "/_sim/seed", {"groups": [{"name": "Leaf", "parent": "Top"}]})
    groups = {g["path"]: g["id"] for g in api.control("GET", "/_sim/groups")["groups"]}

    status, body = api.call(DELETE, [{"id": groups["Top"]}, {"id": groups["Top/Leaf"]}])

    assert status == 200
    assert body["data"] == [{"id": groups["Top/Leaf"]}]
    assert [(f["key"], f["errors"][0]["code"]) for f in body["fail"]] == [
        ({"id": groups["Top"]}, "err_folder_has_children")
    ]
    assert paths(api) == ["Top"]


# ---- the per-request item cap -----------------------------------------------------------------


def test_item_cap_refuses_a_larger_request_whole_and_runs_nothing(api):
    api.control("POST", "/_sim/config", {"max_items_per_request": 3})
    api.control("POST", "/_sim/stats/reset")

    refused_status, refused = api.call(CREATE, [{"description": f"G{n}"} for n in range(4)])
    accepted_status, accepted = api.call(CREATE, [{"description": f"G{n}"} for n in range(3)])
    listing_status, _listing = api.call(FIND, [{}])

    assert refused_status == 400
    assert refused["meta"]["status"] == 400 and refused["data"] == []
    assert refused["fail"][0]["errors"][0]["code"] == "err_request_too_many_items"
    assert "at most 3" in refused["fail"][0]["errors"][0]["message"]
    assert accepted_status == 200 and len(accepted["data"]) == 3
    assert listing_status == 200
    assert paths(api) == ["G0", "G1", "G2"]
    stats = api.control("GET", "/_sim/stats")
    assert (stats["rejected"], stats["writes"]) == (1, 1)
    log = api.control("GET", "/_sim/requests")
    assert [(entry["path"], entry["status"]) for entry in log] == [(CREATE, 400), (CREATE, 200), (FIND, 200)]


def test_item_cap_applies_to_update_and_delete_and_zero_means_no_cap(api):
    seeded = api.control("POST", "/_sim/seed", {"groups": [{"name": "G", "count": 5}]})["groups"]
    api.control("POST", "/_sim/config", {"max_items_per_request": 2})

    rename_status, _rename = api.call(UPDATE, [{"id": g["id"], "description": "H"} for g in seeded[:3]])
    delete_status, _delete = api.call(DELETE, [{"id": g["id"]} for g in seeded[:3]])
    api.control("POST", "/_sim/config", {"max_items_per_request": 0})
    uncapped_status, uncapped = api.call(DELETE, [{"id": g["id"]} for g in seeded])

    assert (rename_status, delete_status) == (400, 400)
    assert uncapped_status == 200 and len(uncapped["data"]) == 5
    assert paths(api) == []


def test_item_cap_is_a_start_option_and_reset_restores_it():
    server = sim.start_server(log_requests=False, max_items_per_request=1)
    try:
        api = Api(server)
        assert api.control("GET", "/_sim/config")["max_items_per_request"] == 1
        assert api.call(CREATE, [{"description": "A"}, {"description": "B"}])[0] == 400
        api.control("POST", "/_sim/config", {"max_items_per_request": 5})
        api.control("POST", "/_sim/reset")
        assert api.control("GET", "/_sim/config")["max_items_per_request"] == 1
    finally:
        server.shutdown()
    assert sim.parse_args(["--max-items-per-request", "7"]).max_items_per_request == 7
    with pytest.raises(sim.ControlError):
        sim.validate_config({"max_items_per_request": -1})


# ---- seeding thousands of groups --------------------------------------------------------------


def test_seed_of_thousands_of_groups_resolves_every_path_part_to_the_oldest_group(api):
    # Two groups named Dept exist before the seed: path parts must resolve to the older one, also for
    # groups created earlier by other calls and for parts created within the same seed.
    api.control("POST", "/_sim/seed", {"groups": [{"name": "Dept", "parent": "Org"}]})
    api.call(CREATE, [{"description": "Dept", "parentId": api.control("GET", "/_sim/groups")["groups"][0]["id"]}])
    entries = [{"name": f"Team{t}", "parent": f"Org/Dept/Unit{u}"} for u in range(40) for t in range(50)]

    seeded = api.control("POST", "/_sim/seed", {"groups": entries})["groups"]

    state = api.control("GET", "/_sim/groups")
    by_id = {g["id"]: g for g in state["groups"]}
    oldest_dept = state["groups"][1]
    assert oldest_dept["path"] == "Org/Dept"
    assert len(seeded) == 2000 and len(state["groups"]) == 2 + 1 + 40 + 2000
    assert [g["path"] for g in seeded] == [f"Org/Dept/Unit{u}/Team{t}" for u in range(40) for t in range(50)]
    units = {by_id[g["parent_id"]]["id"] for g in seeded}
    assert len(units) == 40 and {by_id[u]["parent_id"] for u in units} == {oldest_dept["id"]}
