# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.groups import (
    GroupDirectory,
    GroupError,
    ensure_absent,
    ensure_by_id,
    ensure_present,
    group_facts,
    list_groups,
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
        self.drop_after_next_write = False
        self.refuse_next_write = False

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

    def record(self, group_id):
        return next(r for r in self.records if r["id"] == group_id)

    def call(self, path, items=None, meta=None, write=False):
        item = items[0]
        kind = path.rsplit("/", 1)[-1].split("-")[0]  # create, update or delete
        self.calls.append((kind, item.get("description", item.get("id"))))
        if self.refuse_next_write:
            self.refuse_next_write = False
            raise MimecastError("Mimecast refused it", code="err_validation_blank")
        if kind == "create":
            self.add(item["description"], item.get("parentId", ROOT))
            answer = [dict(self.records[-1])]
        elif kind == "update":
            record = self.record(item["id"])
            record["description"] = item.get("description", record["description"])
            record["parentId"] = item.get("parentId", record["parentId"])
            answer = [{"id": record["id"], "description": record["description"], "parentId": record["parentId"]}]
        else:
            self.records.remove(self.record(item["id"]))
            answer = [{"id": item["id"]}]
        if self.drop_after_next_write:
            self.drop_after_next_write = False
            raise MimecastError("Connection to host failed: reset", retryable=True, uncertain=True)
        return answer, {"status": 200}

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
    api.drop_after_next_write = True
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


# -- rename and move by id -------------------------------------------------------------------------


@pytest.fixture
def tree(api):
    """Departments/{EMEA,Americas}, EMEA/Finance, and Staff at the root (synchronised from LDAP)."""
    ids = {"Departments": api.add("Departments")}
    ids["EMEA"] = api.add("EMEA", parent=ids["Departments"])
    ids["Americas"] = api.add("Americas", parent=ids["Departments"])
    ids["Finance"] = api.add("Finance", parent=ids["EMEA"])
    ids["Staff"] = api.add("Staff", source="ldap")
    return ids


def by_id(api, group_id, **kwargs):
    return ensure_by_id(GroupDirectory(api), group_id, **kwargs)


def writes(api):
    return [c for c in api.calls if c[0] != "find"]


def test_rename_by_id_sends_one_update_and_returns_the_new_facts(api, tree):
    changed, before, after = by_id(api, tree["Finance"], name="Accounts")
    assert changed and before["name"] == "Finance"
    assert after["name"] == after["description"] == "Accounts" and after["parent_id"] == tree["EMEA"]
    assert writes(api) == [("update", "Accounts")]
    assert api.record(tree["Finance"])["description"] == "Accounts"


def test_move_by_path_by_parent_id_and_to_the_root(api, tree):
    assert by_id(api, tree["Finance"], parent="Departments/Americas")[2]["parent_id"] == tree["Americas"]
    assert by_id(api, tree["Finance"], parent_id=tree["EMEA"])[2]["parent_id"] == tree["EMEA"]
    assert by_id(api, tree["Finance"], parent="/")[2]["parent_id"] == ROOT
    assert api.record(tree["Finance"])["parentId"] == ROOT


def test_nothing_to_rename_or_move_is_no_change_and_no_write(api, tree):
    changed, before, after = by_id(api, tree["Finance"], name="Finance", parent="Departments/EMEA")
    assert not changed and before == after
    assert writes(api) == []


def test_check_mode_predicts_a_move_without_writing(api, tree):
    changed, _before, after = by_id(api, tree["Finance"], parent="Departments", check_mode=True)
    assert changed and after["parent_id"] == tree["Departments"]
    assert writes(api) == []


@pytest.mark.parametrize(
    "group, options, message",
    [
        ("Departments", {"parent": "Departments/EMEA"}, "under itself or one of its own children"),
        ("EMEA", {"parent_id": "eNoGONE"}, "not the current id of any group"),
        ("Staff", {"name": "Everyone"}, "source ldap"),
        ("Americas", {"name": "EMEA"}, "already exists there"),
        ("Finance", {"parent": "Departments/Nowhere"}, "does not exist"),
    ],
)
def test_unsafe_rename_or_move_fails_and_writes_nothing(api, tree, group, options, message):
    with pytest.raises(GroupError) as info:
        by_id(api, tree[group], **options)
    assert message in str(info.value)
    assert writes(api) == []


def test_unknown_id_fails_clearly(api, tree):
    with pytest.raises(GroupError) as info:
        by_id(api, "eNoSTALE", name="X")
    assert "no group has the id 'eNoSTALE'" in str(info.value)


def test_update_whose_reply_was_lost_is_confirmed_by_reading_again(api, tree):
    api.drop_after_next_write = True
    changed, _before, after = by_id(api, tree["Finance"], name="Accounts")
    assert changed and after["name"] == "Accounts"
    assert writes(api) == [("update", "Accounts")]


def test_refused_write_is_not_retried(api, tree):
    api.refuse_next_write = True
    with pytest.raises(MimecastError):
        by_id(api, tree["Finance"], name="Accounts")
    assert writes(api) == [("update", "Accounts")]


# -- delete ----------------------------------------------------------------------------------------


def absent(api, name, **kwargs):
    return ensure_absent(GroupDirectory(api), name, **kwargs)


def test_delete_by_name_and_parent(api, tree):
    changed, before, after = absent(api, "Finance", parent="Departments/EMEA")
    assert changed and before["id"] == tree["Finance"] and after is None
    assert writes(api) == [("delete", tree["Finance"])]


def test_delete_of_a_missing_group_or_under_a_missing_parent_writes_nothing(api, tree):
    assert absent(api, "Nobody")[0] is False
    assert absent(api, "Finance", parent="Departments/Nowhere")[0] is False
    assert writes(api) == []


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("EMEA", {"parent": "Departments"}, "has 1 child group(s) (Finance)"),
        ("Staff", {}, "source ldap"),
    ],
)
def test_delete_refuses_groups_with_children_and_ldap_groups(api, tree, name, options, message):
    with pytest.raises(GroupError) as info:
        absent(api, name, **options)
    assert message in str(info.value)
    assert writes(api) == []


def test_delete_refuses_duplicates(api):
    api.add("Twin")
    api.add("Twin")
    with pytest.raises(GroupError):
        absent(api, "Twin")
    assert writes(api) == []


def test_delete_in_check_mode_writes_nothing(api, tree):
    assert absent(api, "Finance", parent="Departments/EMEA", check_mode=True)[0] is True
    assert writes(api) == []


def test_delete_whose_reply_was_lost_is_confirmed_by_reading_again(api, tree):
    api.drop_after_next_write = True
    assert absent(api, "Finance", parent="Departments/EMEA")[0] is True
    assert writes(api) == [("delete", tree["Finance"])]


def test_delete_by_id_and_of_an_unknown_id(api, tree):
    assert by_id(api, tree["Finance"], state="absent")[0] is True
    assert by_id(api, "eNoGONE", state="absent")[0] is False
    assert writes(api) == [("delete", tree["Finance"])]


# -- listing ---------------------------------------------------------------------------------------


def listed(api, **filters):
    return [(g["path"], g["source"]) for g in list_groups(GroupDirectory(api), **filters)]


def test_list_groups_filters_and_gives_paths(api, tree):
    assert listed(api, name="Finance") == [("Departments/EMEA/Finance", "cloud")]
    assert listed(api, query="ER") == [("Departments/Americas", "cloud")]  # partial, any case
    assert listed(api, parent="Departments") == [("Departments/EMEA", "cloud"), ("Departments/Americas", "cloud")]
    assert listed(api, parent="/", source="ldap") == [("Staff", "ldap")]
    assert listed(api, parent_id=tree["EMEA"]) == [("Departments/EMEA/Finance", "cloud")]
    assert listed(api, parent="Departments/Nowhere") == []


def test_search_after_the_listing_is_answered_from_it(api, tree):
    directory = GroupDirectory(api)
    directory.listing()
    calls = len(api.calls)
    assert [g["name"] for g in directory.find("MEA")] == ["EMEA"]
    assert len(directory.find()) == 5
    assert len(api.calls) == calls


def test_path_of_a_group_in_a_parent_cycle_is_unknown(api):
    first = api.add("A", parent="eNo2")
    api.add("B", parent=first)
    directory = GroupDirectory(api)
    assert directory.path_of(directory.get(first)) is None
    assert directory.root_id() is None
