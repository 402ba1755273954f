# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Carrying out tree plans through the real MimecastClient, against an in-memory directory."""

import json

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.group_api import GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupError
from ansible_collections.community.mimecast.plugins.module_utils.tree_apply import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    converge_tree,
    validate_batch_size,
)
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import parse_request
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.directory_fake import (
    ROOT,
    DirectorySession,
)
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    envelope,
    response,
    with_client,
)


class TreeSession(DirectorySession):
    """DirectorySession that can refuse chosen items with chosen codes, drop or rate-limit one write request,
    and records the items of every write request."""

    def __init__(self):
        super().__init__(page_size=100)
        self.refuse = {}  # name or id -> error code, for every request
        self.batches = []  # (kind, [name or id, ...]) per write request
        self.drop_request = None  # number of the write request (1-based) whose answer is lost after it ran
        self.rate_limit_request = None  # number of the write request answered 429 (not run)
        self.lost_request = None  # number of the write request whose connection breaks before it runs
        self.strip_ids = False  # answer creates with records that carry no id
        self.during_request = None  # called while a write request runs (another client at work)
        self.partial_request = None  # (number, k): the write request runs its first k items, then drops
        self.late_request = None  # (number, n): the write request times out; it runs at the n-th listing after
        self._late = None  # [listings to go, body, kind] of a request still running at Mimecast

    def _find(self, body):
        if self._late and (body.get("meta") or {}).get("pagination", {}).get("pageToken") is None:
            self._late[0] -= 1
            if self._late[0] == 0:
                _countdown, late_body, kind = self._late
                self._late = None
                for item in late_body["data"]:
                    self.calls.append((kind, item.get("description", item.get("id"))))
                    getattr(self, "_" + kind)(item)
        return super()._find(body)

    def post(self, url, data=None, **kwargs):
        body = json.loads(data)
        kind = url.rsplit("/", 1)[-1].split("-")[0]
        if kind == "find":
            return super().post(url, data=data, **kwargs)
        number = len(self.batches) + 1
        self.batches.append((kind, [item.get("description", item.get("id")) for item in body["data"]]))
        if number == self.rate_limit_request:
            return response(429, envelope(status=429), headers={"X-RateLimit-Reset": "10"})
        if number == self.lost_request:
            raise http_transport.ConnectionDropped("connection reset by peer")
        if self.during_request:
            self.during_request()
        if self.late_request and number == self.late_request[0]:
            self._late = [self.late_request[1], body, kind]
            raise http_transport.ReadTimeout("read timed out")
        if self.partial_request and number == self.partial_request[0]:
            body = dict(body, data=body["data"][: self.partial_request[1]])
        answers, fails = [], []
        for item in body["data"]:
            label = item.get("description", item.get("id"))
            self.calls.append((kind, label))
            if label in self.refuse:
                fails.append({"key": item, "errors": [{"code": self.refuse[label], "message": "refused"}]})
            else:
                answers.append(getattr(self, "_" + kind)(item))
        if number == self.drop_request or (self.partial_request and number == self.partial_request[0]):
            raise http_transport.ConnectionDropped("connection reset by peer")
        if self.strip_ids:
            answers = [dict((k, v) for k, v in answer.items() if k != "id") for answer in answers]
        return response(body=envelope(answers, fail=fails))

    def paths(self):
        by_id = dict((r["id"], r) for r in self.records)

        def path(record):
            parent = by_id.get(record["parentId"])
            return record["description"] if parent is None else path(parent) + "/" + record["description"]

        return sorted(path(r) for r in self.records)

    def add_path(self, path, source="cloud"):
        parent = ROOT
        for name in path.split("/"):
            found = [r for r in self.records if r["description"] == name and r["parentId"] == parent]
            parent = found[0]["id"] if found else self.add(name, parent, source)
        return parent


@pytest.fixture
def api(recorder):
    session = TreeSession()
    return with_client(session, recorder)


def converge(api, groups, root=None, **options):
    root_path, entries = parse_request(groups, root)
    return converge_tree(GroupDirectory(api.client), entries, root_path, **options)


def finds(api):
    return len([c for c in api.calls if c[0] == "find"])


CHART = ["A/A1", "A/A2", "A/A3", "B/B1", "B/B2", "C"]
CHART_PATHS = ["Org", "Org/A", "Org/A/A1", "Org/A/A2", "Org/A/A3", "Org/B", "Org/B/B1", "Org/B/B2", "Org/C"]


# ---- creates ----------------------------------------------------------------------------------


def test_creates_go_level_by_level_in_batches_with_the_ids_of_the_level_above(api):
    outcome = converge(api, CHART, root="Org", batch_size=2)

    assert not outcome.failed and outcome.changed
    assert api.batches == [
        ("create", ["Org"]),
        ("create", ["A", "B"]),
        ("create", ["C"]),
        ("create", ["A1", "A2"]),
        ("create", ["A3", "B1"]),
        ("create", ["B2"]),
    ]
    assert api.paths() == CHART_PATHS
    assert finds(api) == 1
    result = outcome.result(diff=True)
    assert result["created"] == ["Org", "Org/A", "Org/B", "Org/C", "Org/A/A1", "Org/A/A2", "Org/A/A3"] + [
        "Org/B/B1",
        "Org/B/B2",
    ]
    assert [g["path"] for g in result["groups"]] == CHART_PATHS[1:]
    assert result["diff"] == {"before": {"paths": []}, "after": {"paths": CHART_PATHS}}
    by_path = dict((g["path"], g) for g in result["groups"])
    assert by_path["Org/A"]["folder_count"] == 3 and by_path["Org/A/A1"]["parent_id"] == by_path["Org/A"]["id"]


def test_a_second_run_only_lists(api):
    converge(api, CHART, root="Org")
    api.calls[:] = []
    api.batches[:] = []

    outcome = converge(api, CHART, root="Org")

    assert not outcome.changed and api.batches == [] and finds(api) == 1
    assert [g["path"] for g in outcome.result()["groups"]] == CHART_PATHS[1:]


def test_check_mode_plans_the_same_and_writes_nothing(api):
    api.add_path("Org/A")

    outcome = converge(api, CHART, root="Org", check_mode=True)

    result = outcome.result(diff=True)
    assert api.batches == []
    # Whatever hangs under an existing group (A's children, B, C) goes in the first level.
    assert result["changed"] and result["created"] == [
        "Org/A/A1",
        "Org/A/A2",
        "Org/A/A3",
        "Org/B",
        "Org/C",
        "Org/B/B1",
        "Org/B/B2",
    ]
    assert [g["path"] for g in result["groups"]] == CHART_PATHS[1:]
    planned = [g for g in result["groups"] if g["id"] is None]
    assert len(planned) == 7
    assert result["diff"]["before"]["paths"] == ["Org", "Org/A"]


def test_a_dropped_create_batch_is_confirmed_by_a_listing_and_never_sent_again(api, recorder):
    api.drop_request = 2  # A and B are created, but the answer is lost

    outcome = converge(api, CHART, root="Org", batch_size=2)

    assert not outcome.failed
    assert api.paths() == CHART_PATHS  # no duplicate
    assert [kind for kind, _names in api.batches].count("create") == 6
    assert finds(api) == 2  # the plan's listing and the confirmation (both found by the window's first read)
    assert any("Mimecast may still be running it" in w for w in recorder.warnings)


def test_a_rate_limited_batch_is_sent_again_without_a_listing(api):
    api.rate_limit_request = 2  # a 429: not run, sent again without a listing

    outcome = converge(api, CHART, root="Org", batch_size=2)

    assert not outcome.failed and api.paths() == CHART_PATHS
    assert api.batches[1] == api.batches[2] == ("create", ["A", "B"])
    assert finds(api) == 1


def test_a_partly_failed_batch_keeps_its_successes_and_skips_only_what_depends_on_the_failure(api):
    api.add_path("Org/Old")
    api.refuse["B"] = "err_validation_blank"

    outcome = converge(api, CHART, root="Org", purge=True)

    result = outcome.result()
    assert outcome.failed
    assert api.paths() == ["Org", "Org/A", "Org/A/A1", "Org/A/A2", "Org/A/A3", "Org/C", "Org/Old"]
    assert result["created"] == ["Org/A", "Org/C", "Org/A/A1", "Org/A/A2", "Org/A/A3"]
    assert result["skipped"] == ["Org/B/B1", "Org/B/B2", "Org/Old"]  # B's children, and the purge
    assert result["deleted"] == []
    message = outcome.failure_message()
    assert "create 'Org/B': err_validation_blank: refused" in message
    assert "done before the failure and kept: 5 created, 0 deleted" in message


# ---- deletes ----------------------------------------------------------------------------------


def test_purge_deletes_leaves_first_in_batches(api):
    for path in ("Org/Keep", "Org/X/X1", "Org/X/X2", "Org/Y", "Outside"):
        api.add_path(path)

    outcome = converge(api, ["Keep"], root="Org", purge=True, batch_size=2)

    assert not outcome.failed
    # Every leaf first, whatever its depth, two a request; X once its children are gone.
    assert [(kind, len(items)) for kind, items in api.batches] == [("delete", 2), ("delete", 1), ("delete", 1)]
    assert outcome.result()["deleted"] == ["Org/Y", "Org/X/X1", "Org/X/X2", "Org/X"]
    assert api.paths() == ["Org", "Org/Keep", "Outside"]


def test_a_refused_delete_keeps_its_ancestors_and_the_rest_goes_on(api):
    for path in ("Org/X/X1", "Org/X/X2", "Org/Y"):
        api.add_path(path)
    x1 = next(r["id"] for r in api.records if r["description"] == "X1")
    api.refuse[x1] = "err_folder_read_only"

    outcome = converge(api, [], root="Org", purge=True)

    result = outcome.result()
    assert outcome.failed
    assert result["deleted"] == ["Org/Y", "Org/X/X2"]
    assert result["skipped"] == ["Org/X"]
    assert api.paths() == ["Org", "Org/X", "Org/X/X1"]
    assert "delete 'Org/X/X1': err_folder_read_only" in outcome.failure_message()


def test_a_delete_answered_not_found_while_its_path_still_holds_the_group_is_not_done(api):
    # Case 2: the id read is answered "not found" (ids drifted), yet Org/X/X1 is still listed.
    for path in ("Org/X/X1", "Org/Y"):
        api.add_path(path)
    x1 = next(r["id"] for r in api.records if r["description"] == "X1")
    api.refuse[x1] = "err_folder_not_found"

    outcome = converge(api, [], root="Org", purge=True)

    result = outcome.result()
    assert outcome.failed and outcome.changed  # Y was deleted
    assert result["deleted"] == ["Org/Y"] and result["skipped"] == ["Org/X"]
    assert "already_absent" not in result
    message = outcome.failure_message()
    assert "delete 'Org/X/X1': err_folder_not_found" in message
    assert "for the id %s, but 'Org/X/X1' is still listed, now with the id %s" % (x1, x1) in message
    assert api.paths() == ["Org", "Org/X", "Org/X/X1"]


def test_state_absent_answered_not_found_while_the_group_stays_is_not_done(api):
    api.add_path("Org/Old")
    old = next(r["id"] for r in api.records if r["description"] == "Old")
    api.refuse[old] = "err_folder_not_found"

    outcome = converge(api, ["Old"], root="Org", state="absent")

    assert outcome.failed and outcome.result()["deleted"] == []
    assert "'Org/Old' is still listed" in outcome.failure_message()


def deleted_by_someone_else(api, group_id):
    """A ``during_request`` that deletes the group ``group_id`` as another client would, once."""

    def remove():
        for record in [r for r in api.records if r["id"] == group_id]:
            api.records.remove(record)

    return remove


def test_a_group_deleted_by_someone_else_between_read_and_write_is_already_absent(api):
    for path in ("Org/X/X1", "Org/Y"):
        api.add_path(path)
    y = next(r["id"] for r in api.records if r["description"] == "Y")
    api.refuse[y] = "err_folder_not_found"
    api.during_request = deleted_by_someone_else(api, y)

    outcome = converge(api, [], root="Org", purge=True)

    result = outcome.result(diff=True)
    assert not outcome.failed
    assert result["deleted"] == ["Org/X/X1", "Org/X"] and result["already_absent"] == ["Org/Y"]
    assert result["diff"]["after"]["paths"] == ["Org"]
    assert [g["path"] for g in result["groups"]] == []
    warnings = outcome.warnings()
    assert len(warnings) == 1 and "deleted by someone else" in warnings[0] and "'Org/Y'" in warnings[0]
    assert api.paths() == ["Org"]


def test_only_groups_someone_else_deleted_is_no_change(api):
    api.add_path("Org/Y")
    y = next(r["id"] for r in api.records if r["description"] == "Y")
    api.refuse[y] = "err_folder_not_found"
    api.during_request = deleted_by_someone_else(api, y)

    outcome = converge(api, ["Y"], root="Org", state="absent")

    assert not outcome.failed and not outcome.changed
    assert outcome.result()["deleted"] == [] and outcome.result()["already_absent"] == ["Org/Y"]


def test_a_resent_delete_answered_not_found_after_its_first_try_landed_late_is_done(api):
    # Case 5: the first try's connection broke before it ran; the listing still shows Y, so it is sent again, and the
    # first try lands just before the resend, which is answered "not found": this task's own delete, done.
    api.add_path("Org/Y")
    y = next(r["id"] for r in api.records if r["description"] == "Y")
    api.lost_request = 1

    def first_try_lands_late():
        if len(api.batches) == 2:
            api.records.remove(next(r for r in api.records if r["id"] == y))
            api.refuse[y] = "err_folder_not_found"

    api.during_request = first_try_lands_late

    outcome = converge(api, ["Y"], root="Org", state="absent")

    assert not outcome.failed and outcome.changed
    assert outcome.result()["deleted"] == ["Org/Y"] and "already_absent" not in outcome.result()
    assert len(api.batches) == 2


def test_after_an_unknown_create_what_was_never_attempted_is_listed_under_skipped(api):
    # Case 8: the first create request's connection breaks before it runs, no retry is left, and the listing does not
    # show A or B: their outcome is unknown, and every write after them is listed as not attempted.
    api.add_path("Org/Old")
    api.lost_request = 1
    api.client.max_retries = 0

    outcome = converge(api, CHART, root="Org", batch_size=2, purge=True)

    result = outcome.result()
    assert outcome.failed and outcome.changed
    assert result["created"] == [] and result["deleted"] == []
    assert result["unknown"] == ["create Org/A", "create Org/B"]
    assert result["skipped"] == ["Org/C", "Org/A/A1", "Org/A/A2", "Org/A/A3", "Org/B/B1", "Org/B/B2", "Org/Old"]
    assert "not attempted because of the failures above: 7 (create, delete)" in outcome.failure_message()
    assert [kind for kind, _items in api.batches] == ["create"]


def test_after_a_request_refused_whole_what_was_never_attempted_is_listed_under_skipped(api):
    api.rate_limit_request = 2  # [C] is refused whole (429, no retry left)
    api.client.max_retries = 0

    outcome = converge(api, ["A/A1", "C"], root="Org", batch_size=2)

    result = outcome.result()
    assert outcome.failed and result["created"] == ["Org"]
    assert result["skipped"] == ["Org/A/A1"]  # A and C were refused whole, and named so; A1 was never attempted
    assert "so these were not done: create 'Org/A', create 'Org/C'" in outcome.failure_message()
    assert "unknown" not in result


def test_a_dropped_delete_batch_is_confirmed_and_not_sent_again(api):
    for path in ("Org/X/X1", "Org/Y"):
        api.add_path(path)
    api.drop_request = 1

    outcome = converge(api, [], root="Org", purge=True)

    assert not outcome.failed
    assert [kind for kind, _items in api.batches] == ["delete", "delete"]  # Y and X1, then X
    assert outcome.result()["deleted"] == ["Org/Y", "Org/X/X1", "Org/X"]
    assert api.paths() == ["Org"]


# ---- errors and options -----------------------------------------------------------------------


def test_an_error_part_way_is_kept_with_what_was_done(api):
    api.rate_limit_request = 3  # the third write request is rate-limited, and no retry is allowed
    api.client.max_retries = 0

    outcome = converge(api, CHART, root="Org")

    assert outcome.failed and outcome.error is not None
    assert outcome.details()["http_status"] == 429
    assert outcome.result()["created"] == ["Org", "Org/A", "Org/B", "Org/C"]
    assert "done before the failure and kept: 4 created" in outcome.failure_message()
    refused = "Mimecast refused the request whole, so these were not done: create 'Org/A/A1'"
    assert refused in outcome.failure_message()
    assert "unknown" not in outcome.result() and not outcome.unknown


def test_a_plan_refusal_is_raised_before_any_write(api):
    api.add_path("Org/A")
    api.add("A", api.add_path("Org"))

    with pytest.raises(GroupError, match="2 groups named 'A'"):
        converge(api, CHART, root="Org")
    assert api.batches == []


@pytest.mark.parametrize("size", [0, -1, MAX_BATCH_SIZE + 1])
def test_batch_size_outside_1_to_500_is_refused(size):
    with pytest.raises(GroupError, match="batch_size must be between 1 and 500"):
        validate_batch_size(size)
    assert validate_batch_size(MAX_BATCH_SIZE) == MAX_BATCH_SIZE
    assert DEFAULT_BATCH_SIZE == 100


def test_a_delete_batch_lost_before_it_ran_is_sent_again_after_confirming(api):
    api.add_path("Org/Y")
    api.lost_request = 1

    outcome = converge(api, [], root="Org", purge=True)

    assert not outcome.failed and outcome.result()["deleted"] == ["Org/Y"]
    assert [kind for kind, _items in api.batches] == ["delete", "delete"]
    # the plan's listing, then three over the settle window (the lost request may have reached Mimecast)
    assert finds(api) == 4 and api.paths() == ["Org"]


def test_create_answers_without_ids_are_completed_from_the_listing(api):
    api.strip_ids = True

    outcome = converge(api, ["A/A1"], root="Org")

    assert not outcome.failed and api.paths() == ["Org", "Org/A", "Org/A/A1"]
    groups = outcome.result()["groups"]
    assert all(g["id"] for g in groups) and groups[1]["parent_id"] == groups[0]["id"]


def test_a_created_group_whose_id_cannot_be_listed_is_still_filed_as_created(api):
    # The answer carries no id and the listing that would tell it fails: Org was created all the same, so it is
    # in created (the task changed something), and only what hangs under it is skipped.
    api.strip_ids = True
    real_find = api._find
    listings = []

    def find(body):
        listings.append(body)
        if len(listings) > 1:  # the first listing plans; the next, for Org's id, breaks every time
            raise http_transport.ConnectionDropped("connection reset by peer")
        return real_find(body)

    api._find = find
    outcome = converge(api, ["A", "B"], root="Org")

    assert outcome.failed and outcome.changed
    assert [path for path, _facts in outcome.created] == [("Org",)]
    assert outcome.result()["skipped"] == ["Org/A", "Org/B"]
    assert api.paths() == ["Org"]


def test_duplicates_that_appear_during_a_confirmation_stop_the_run(api):
    org = api.add_path("Org")

    def someone_else_creates_a():
        if len(api.batches) == 1:
            api.add("A", org)

    api.drop_request = 1
    api.during_request = someone_else_creates_a

    outcome = converge(api, ["A/A1", "B"], root="Org")

    assert outcome.failed
    message = outcome.failure_message()
    assert "2 groups named 'A' were found under 'Org'" in message
    assert "appeared during this run; nothing more was sent" in message
    assert "The outcome of 2 write(s) is unknown: create Org/A, create Org/B" in message
    assert "none of it was done" not in message and "not done" not in message
    result = outcome.result()
    assert result["unknown"] == ["create Org/A", "create Org/B"] and result["changed"] is True
    assert [kind for kind, _items in api.batches] == ["create"]  # A1 was never sent


def test_purge_warns_about_what_it_keeps_and_the_diff_shows_what_went(api):
    api.add_path("Org/HR", source="ldap")
    api.add_path("Org/Old")

    outcome = converge(api, ["Keep"], root="Org", purge=True)

    result = outcome.result(diff=True)
    assert outcome.warnings() == [
        "purge kept 1 group(s) under root that are not listed: 'Org/HR' (synchronised from the directory (source ldap))"
    ]
    assert result["diff"]["before"]["paths"] == ["Org", "Org/HR", "Org/Old"]
    assert result["diff"]["after"]["paths"] == ["Org", "Org/HR", "Org/Keep"]
    assert converge(api, ["Keep", "HR"], root="Org", purge=True).warnings() == []


# ---- outcomes: done, refused or unknown --------------------------------------------------------


def test_a_timed_out_batch_that_lands_late_is_found_over_the_window_and_never_duplicated(api, recorder):
    # Case 1: the second create request times out; Mimecast runs it only by the second listing after that.
    api.client.timeout = 1
    api.late_request = (2, 2)

    outcome = converge(api, ["A/A1", "B"], root="Org")

    assert not outcome.failed and outcome.result()["created"] == ["Org", "Org/A", "Org/B", "Org/A/A1"]
    assert [kind for kind, _items in api.batches] == ["create", "create", "create"]  # Org, A+B (once), A1
    assert api.paths() == ["Org", "Org/A", "Org/A/A1", "Org/B"]  # no duplicate
    assert sum(recorder.sleeps) >= 1.0  # the second read came half a window (2 x timeout) after the failure


def test_confirmed_creates_are_kept_when_the_resend_of_the_rest_is_refused(api):
    # Case 4: A of [A, B, C] ran before the connection dropped; the resend of B and C is then rate-limited.
    api.add_path("Org")
    api.client.max_retries = 1
    api.partial_request = (1, 1)
    api.rate_limit_request = 2

    outcome = converge(api, ["A", "B", "C"], root="Org")

    result = outcome.result()
    assert outcome.failed and result["changed"] is True and result["created"] == ["Org/A"]
    assert [g["path"] for g in result["groups"]] == ["Org/A"]
    message = outcome.failure_message()
    assert "Mimecast refused the request whole, so these were not done: create 'Org/B', create 'Org/C'" in message
    assert "done before the failure and kept: 1 created" in message and "unknown" not in result


def test_a_batch_whose_outcome_stays_unknown_fails_as_changed_and_names_each_item(api):
    api.add_path("Org")
    api.client.max_retries = 0
    api.lost_request = 1

    def listing_fails():
        raise http_transport.ConnectionDropped("connection reset by peer")

    real_find = api._find
    api._find = lambda body: listing_fails() if api.batches else real_find(body)

    outcome = converge(api, ["A", "B"], root="Org")

    result = outcome.result()
    assert outcome.failed and result["changed"] is True and result["created"] == []
    assert result["unknown"] == ["create Org/A", "create Org/B"]
    assert "none of it was done" not in outcome.failure_message() and "Re-run the task" in outcome.failure_message()
