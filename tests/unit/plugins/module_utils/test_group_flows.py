# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.group_api import GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.group_flows import (
    ensure_absent,
    ensure_by_id,
    ensure_present,
    list_groups,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupError
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError, OutcomeUnknown
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.directory_fake import (
    ROOT,
    DirectorySession,
)
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    with_client,
)


@pytest.fixture
def api(recorder):
    """An in-memory directory (``api``) behind a real MimecastClient (``api.client``)."""
    session = DirectorySession()
    session.retries = recorder.warnings
    return with_client(session, recorder)


def directory(api):
    return GroupDirectory(api.client)


def present(api, name, **kwargs):
    return ensure_present(directory(api), name, **kwargs)


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


def test_check_mode_predicts_a_create_under_a_parent_an_earlier_task_makes(api):
    warnings = []
    changed, before, after = present(api, "Finance", parent="Departments/EMEA", check_mode=True, warn=warnings.append)
    assert changed and before is None
    assert after["id"] is None and after["parent_id"] is None and after["name"] == "Finance"
    assert len(warnings) == 1
    assert "parent 'Departments/EMEA' does not exist" in warnings[0]
    assert "must be created by an earlier task" in warnings[0]
    assert creates(api) == []


def test_a_real_run_still_refuses_the_missing_parent(api):
    warnings = []
    with pytest.raises(GroupError):
        present(api, "Finance", parent="Departments/EMEA", warn=warnings.append)
    assert warnings == [] and creates(api) == []


def test_check_mode_refuses_a_parent_id_that_is_no_groups_id(api):
    api.add("Departments")
    with pytest.raises(GroupError) as info:
        present(api, "Finance", parent_id="eNoNOBODY", check_mode=True)
    assert "parent_id 'eNoNOBODY' is not the current id of any group" in str(info.value)


def test_check_mode_accepts_a_current_parent_id(api):
    parent = api.add("Departments")
    changed, _before, after = present(api, "Finance", parent_id=parent, check_mode=True)
    assert changed and after["parent_id"] == parent and after["id"] is None


def test_a_parent_with_a_slash_in_its_name_is_found_by_its_escaped_path(api):
    sales = api.add("Sales/Marketing")
    api.add("Sales")
    changed, _before, after = present(api, "Team", parent="Sales\\/Marketing")
    assert changed and after["parent_id"] == sales


def test_create_whose_reply_was_lost_is_found_not_repeated(api):
    api.drop_after_next_write = True
    changed, _before, after = present(api, "Finance")
    assert changed and after["name"] == "Finance"
    assert len(creates(api)) == 1
    assert len([r for r in api.records if r["description"] == "Finance"]) == 1
    assert len(api.retries) == 1 and "Mimecast may still be running it" in api.retries[0]


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
    return ensure_by_id(directory(api), group_id, **kwargs)


def writes(api):
    return api.writes()


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
    return ensure_absent(directory(api), name, **kwargs)


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
    return [(g["path"], g["source"]) for g in list_groups(directory(api), **filters)]


def test_list_groups_filters_and_gives_paths(api, tree):
    assert listed(api, name="Finance") == [("Departments/EMEA/Finance", "cloud")]
    assert listed(api, query="ER") == [("Departments/Americas", "cloud")]  # partial, any case
    assert listed(api, parent="Departments") == [("Departments/EMEA", "cloud"), ("Departments/Americas", "cloud")]
    assert listed(api, parent="/", source="ldap") == [("Staff", "ldap")]
    assert listed(api, parent_id=tree["EMEA"]) == [("Departments/EMEA/Finance", "cloud")]
    assert listed(api, parent="Departments/Nowhere") == []


def test_name_search_after_the_listing_is_answered_from_it(api, tree):
    groups = directory(api)
    groups.tree()
    calls = len(api.calls)
    assert [g["name"] for g in groups.search("EMEA")] == ["EMEA"]
    assert groups.search("MEA") == []  # exact names only
    assert len(api.calls) == calls


def test_name_search_without_the_listing_reads_every_page_of_the_search(api, tree):
    api.add("Finance", parent=tree["Americas"])
    api.add("Finance Team", parent=tree["Americas"])
    found = directory(api).search("Finance")
    assert sorted(g["parent_id"] for g in found) == sorted([tree["EMEA"], tree["Americas"]])
    assert [c for c in api.calls if c[0] == "find"] == [("find", "finance")] * 2  # two pages of 2


def test_create_answered_with_an_empty_reply_is_confirmed_by_reading_again(api):
    api.empty_next_create_reply = True
    changed, _before, after = present(api, "Finance")
    assert changed and after["id"] == api.records[0]["id"] and after["name"] == "Finance"
    assert len(creates(api)) == 1


# -- outcomes: done, refused or unknown ------------------------------------------------------------


def test_a_lost_delete_is_confirmed_by_path_when_ids_drift_and_sent_again(api, tree):
    # Case 2: the delete never arrived, and the confirming listing shows other id strings for every group.
    api.drift_ids = True
    api.drop_before_next_write = True
    assert absent(api, "Finance", parent="Departments/EMEA")[0] is True
    # Still at its path after the drop: sent again (the first never arrived), not reported done.
    assert writes(api) == [("delete", tree["Finance"])] and len(api.retries) == 1
    assert not [r for r in api.records if r["description"] == "Finance"]


def test_a_delete_by_id_whose_answer_was_lost_is_confirmed_by_path_when_ids_drift(api, tree):
    api.drift_ids = True
    api.drop_after_next_write = True
    groups = directory(api)
    group_id = groups.tree().named("Finance")[0]["id"]
    assert ensure_by_id(groups, group_id, state="absent")[0] is True
    assert len(writes(api)) == 1  # gone from its path: done, not sent again


def test_a_rename_whose_answer_was_lost_is_confirmed_by_path_when_ids_drift(api, tree):
    api.drift_ids = True
    api.drop_after_next_write = True
    groups = directory(api)
    group_id = groups.tree().named("Finance")[0]["id"]
    changed, _before, after = ensure_by_id(groups, group_id, name="Accounts", parent="Departments/Americas")
    assert changed and after["name"] == "Accounts"
    assert len(writes(api)) == 1  # found at its new path: done, not sent again
    moved = [r for r in api.records if r["description"] == "Accounts"]
    assert len(moved) == 1 and moved[0]["parentId"] == tree["Americas"]


def test_a_create_whose_outcome_stays_unknown_fails_as_changed_naming_it(api, tree):
    # Case 3 for one group: the create ran, its answer was lost, and the confirming listing fails too.
    listed_once = api._find

    def listing_fails_after_the_first(body):
        if any(kind == "create" for kind, _name in api.calls):
            raise http_transport.ConnectionDropped("connection reset by peer")
        return listed_once(body)

    api._find = listing_fails_after_the_first
    api.client.max_retries = 0
    api.drop_after_next_write = True
    with pytest.raises(OutcomeUnknown) as info:
        present(api, "Audit", parent="Departments/EMEA")
    assert info.value.unknown == ["create Departments/EMEA/Audit"]
    assert info.value.details()["changed"] is True and "Re-run the task" in info.value.message
    assert "none of it was done" not in info.value.message


# -- a delete answered "not found" proves nothing alone (issue 28, cases 2 and 5) ---------------------


def test_a_delete_answered_not_found_while_its_path_still_holds_the_group_fails_naming_both_ids(api, tree):
    # Ids drifted: the id read is answered "not found", yet Departments/EMEA/Finance is still listed.
    api.drift_ids = True
    groups = directory(api)
    old_id = groups.tree().named("Finance")[0]["id"]
    api.not_found_ids.add(tree["Finance"])
    with pytest.raises(MimecastError) as info:
        ensure_by_id(groups, old_id, state="absent")
    message = info.value.message
    assert "'Departments/EMEA/Finance' is still listed" in message and "it was not deleted" in message
    assert "for the id %s" % old_id in message and "now with the id %s~" % tree["Finance"] in message
    assert api.has(tree["Finance"]) and len(writes(api)) == 1  # not sent again under the new id


def test_a_delete_answered_not_found_with_stable_ids_is_not_counted_done_either(api, tree):
    api.not_found_ids.add(tree["Finance"])
    with pytest.raises(MimecastError) as info:
        absent(api, "Finance", parent="Departments/EMEA")
    assert "is still listed, now with the id %s" % tree["Finance"] in info.value.message


def test_a_group_deleted_by_someone_else_between_read_and_write_is_no_change_with_a_warning(api, tree, recorder):
    api.before_write = lambda number: api.remove(tree["Finance"])
    warnings = []
    changed, before, after = absent(api, "Finance", parent="Departments/EMEA", warn=warnings.append)
    assert (changed, before, after) == (False, None, None)
    assert len(warnings) == 1 and "deleted by someone else" in warnings[0]
    assert "'Departments/EMEA/Finance'" in warnings[0]
    assert writes(api) == [("delete", tree["Finance"])]


def test_a_group_deleted_by_someone_else_is_no_change_by_id_too(api, tree):
    api.before_write = lambda number: api.remove(tree["Finance"])
    warnings = []
    assert by_id(api, tree["Finance"], state="absent", warn=warnings.append) == (False, None, None)
    assert len(warnings) == 1 and "deleted by someone else" in warnings[0]


def test_a_resent_delete_answered_not_found_after_its_first_try_landed_late_is_done(api, tree):
    # The first try's connection broke (outcome unknown); the confirming listing still shows the group, so it is sent
    # again, and the first try lands just before the resend: the resend is answered "not found".
    api.drop_before_next_write = True

    def first_try_lands_late(number):
        if number == 2:
            api.remove(tree["Finance"])

    api.before_write = first_try_lands_late
    warnings = []
    changed, before, after = absent(api, "Finance", parent="Departments/EMEA", warn=warnings.append)
    assert changed is True and before["id"] == tree["Finance"] and after is None
    assert warnings == [] and api.write_requests == 2


def test_a_delete_answered_not_found_whose_listing_then_fails_stays_unknown(api, tree):
    api.not_found_ids.add(tree["Finance"])
    listed_once = api._find

    def listing_fails_after_the_delete(body):
        if writes(api):
            raise http_transport.ConnectionDropped("connection reset by peer")
        return listed_once(body)

    api._find = listing_fails_after_the_delete
    api.client.max_retries = 0
    with pytest.raises(OutcomeUnknown) as info:
        absent(api, "Finance", parent="Departments/EMEA")
    assert info.value.unknown == ["delete Departments/EMEA/Finance"]
