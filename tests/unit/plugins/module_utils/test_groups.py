# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.groups import (
    GroupDirectory,
    GroupError,
    ensure_present,
    group_facts,
    split_path,
    validate_target,
)

ROOT = "eNoROOT"


class DirectoryClient:
    """An in-memory group tree behind the client interface GroupDirectory uses (call, paginate)."""

    def __init__(self, page_size=2):
        self.records = []
        self.page_size = page_size
        self.calls = []
        self.max_retries = 3
        self.retries = []
        self.drop_after_next_create = False

    def add(self, name, parent=ROOT, source="cloud"):
        record = {
            "id": "eNo%d" % (len(self.records) + 1),
            "description": name,
            "parentId": parent,
            "source": source,
            "folderCount": 0,
            "userCount": 0,
        }
        self.records.append(record)
        return record["id"]

    def paginate(self, path, item=None, page_size=100):
        query = (item or {}).get("query", "").lower()
        found = [r for r in self.records if query in r["description"].lower()]
        for start in range(0, max(len(found), 1), self.page_size):
            self.calls.append(("find", query))
            yield {"folders": found[start : start + self.page_size]}

    def call(self, path, items=None, meta=None, write=False):
        self.calls.append(("create", items[0]["description"]))
        record_id = self.add(items[0]["description"], items[0].get("parentId", ROOT))
        if self.drop_after_next_create:
            self.drop_after_next_create = False
            raise MimecastError("Connection to host failed: reset", retryable=True, uncertain=True)
        return [dict(self.records[-1], id=record_id)], {"status": 200}

    def wait_before_retry(self, path, reason, attempt=1, hint=None, delay=None):
        self.retries.append(reason)


@pytest.fixture
def api():
    return DirectoryClient()


def present(api, name, **kwargs):
    return ensure_present(GroupDirectory(api), name, **kwargs)


def creates(api):
    return [c for c in api.calls if c[0] == "create"]


def test_missing_root_group_is_created_after_one_listing(api):
    changed, before, after = present(api, "Finance")
    assert changed and before is None
    assert after["name"] == "Finance" and after["parent_id"] == ROOT
    assert api.calls == [("find", ""), ("create", "Finance")]


def test_existing_root_group_costs_only_the_listing(api):
    api.add("Finance")
    present(api, "Finance")
    assert api.calls == [("find", "")]


def test_existing_root_group_is_found_and_nothing_is_written(api):
    group_id = api.add("Finance")
    changed, before, after = present(api, "Finance")
    assert not changed and before == after and after["id"] == group_id
    assert creates(api) == []


def test_same_name_under_another_parent_does_not_count_as_root(api):
    other = api.add("Other")
    api.add("Finance", parent=other)
    changed, _before, after = present(api, "Finance")
    assert changed and after["parent_id"] == ROOT
    assert len(creates(api)) == 1


def test_a_name_that_merely_contains_the_wanted_name_is_not_a_match(api):
    api.add("Finance Team")
    api.add("finance")
    changed, _before, _after = present(api, "Finance")
    assert changed and creates(api) == [("create", "Finance")]


def test_group_under_parent_path_is_found_by_walking_names_from_the_root(api):
    departments = api.add("Departments")
    emea = api.add("EMEA", parent=departments)
    api.add("EMEA")  # a root EMEA must not be taken for Departments/EMEA
    finance = api.add("Finance", parent=emea)
    changed, _before, after = present(api, "Finance", parent="Departments/EMEA")
    assert not changed and after["id"] == finance
    assert present(api, "Finance", parent="/Departments/EMEA/")[2]["id"] == finance


def test_path_resolution_lists_the_directory_once(api):
    departments = api.add("Departments")
    api.add("EMEA", parent=departments)
    for index in range(5):
        api.add("Filler %d" % index)
    present(api, "Finance", parent="Departments/EMEA")
    finds = [c for c in api.calls if c[0] == "find"]
    assert finds == [("find", "")] * 4  # 7 groups listed once, in pages of 2; no name search after it


def test_missing_parent_fails_clearly_and_creates_nothing(api):
    api.add("Departments")
    with pytest.raises(GroupError) as info:
        present(api, "Finance", parent="Departments/EMEA")
    assert "no group 'EMEA' under Departments" in str(info.value)
    assert creates(api) == []


def test_ambiguous_parent_fails_listing_ids(api):
    first = api.add("Departments")
    second = api.add("Departments")
    with pytest.raises(GroupError) as info:
        present(api, "Finance", parent="Departments")
    assert first in str(info.value) and second in str(info.value)
    assert creates(api) == []


def test_duplicates_under_the_parent_fail_listing_ids_and_change_nothing(api):
    first = api.add("Finance")
    second = api.add("Finance")
    with pytest.raises(GroupError) as info:
        present(api, "Finance")
    assert "2 groups named 'Finance'" in str(info.value)
    assert first in str(info.value) and second in str(info.value)
    assert creates(api) == []


def test_parent_id_match_needs_only_the_name_search(api):
    parent = api.add("Departments")
    child = api.add("Finance", parent=parent)
    changed, _before, after = present(api, "Finance", parent_id=parent)
    assert not changed and after["id"] == child
    assert api.calls == [("find", "finance")]


def test_stale_parent_id_with_same_name_elsewhere_fails_instead_of_duplicating(api):
    parent = api.add("Departments")
    api.add("Finance", parent=parent)
    with pytest.raises(GroupError) as info:
        present(api, "Finance", parent_id="eNoOLD-ALIAS")
    assert "not the current id of any group" in str(info.value)
    assert creates(api) == []


def test_current_parent_id_without_that_child_creates_it(api):
    parent = api.add("Departments")
    api.add("Finance")
    changed, _before, after = present(api, "Finance", parent_id=parent)
    assert changed and after["parent_id"] == parent


def test_check_mode_plans_the_group_and_writes_nothing(api):
    parent = api.add("Departments")
    changed, before, after = present(api, "Finance", parent="Departments", check_mode=True)
    assert changed and before is None
    assert after["id"] is None and after["parent_id"] == parent and after["name"] == "Finance"
    assert creates(api) == []


def test_create_whose_reply_was_lost_is_found_not_repeated(api):
    api.drop_after_next_create = True
    changed, _before, after = present(api, "Finance")
    assert changed and after["name"] == "Finance"
    assert len(creates(api)) == 1
    assert len([r for r in api.records if r["description"] == "Finance"]) == 1
    assert len(api.retries) == 1 and "reading the directory before trying again" in api.retries[0]


def test_facts_normalise_api2_group_count():
    facts = group_facts({"id": "x", "description": "A", "parentId": "p", "groupCount": 2, "userCount": 1})
    assert facts["folder_count"] == 2 and facts["name"] == facts["description"] == "A"


@pytest.mark.parametrize(
    "name, parent, parent_id, message",
    [
        ("", None, None, "empty"),
        ("   ", None, None, "blank"),
        (" Finance", None, None, "white space"),
        ("x" * 256, None, None, "at most 255"),
        ("Fin\nance", None, None, "control characters"),
        ("Finance", "", None, "parent must not be empty"),
        ("Finance", "A//B", None, "empty"),
        ("Finance", None, "has space", "not a valid Mimecast id"),
        ("Finance", None, "", "parent_id must not be empty"),
    ],
)
def test_bad_target_is_refused_before_any_request(name, parent, parent_id, message):
    with pytest.raises(GroupError) as info:
        validate_target(name, parent, parent_id)
    assert message in str(info.value)


def test_split_path_accepts_root_and_anchored_paths():
    assert split_path("/") == []
    assert split_path("A/B") == ["A", "B"] == split_path("/A/B") == split_path("A/B/")
