# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A task's group found by name searches once a listing of the run proved the invisible root's id, and the full
listing read instead whenever the searches cannot settle it."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.group_api import GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.group_flows import (
    ensure_absent,
    ensure_present,
    list_groups,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_resolve import listing_pages
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import (
    GroupError,
    GroupTree,
    ParentNotFound,
    group_facts,
)
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import known_root
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.directory_fake import (
    ROOT,
    DirectorySession,
)
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import with_client

BIG = {"id": ROOT, "groups": 10000}  # a listing of 100 pages: searches are cheaper


@pytest.fixture
def api(recorder):
    session = DirectorySession()
    return with_client(session, recorder)


def departments(api, count=3, teams=("Team 1", "Team 2")):
    """Departments at the root, each with the same team names: every team name stands under many parents."""
    ids = {}
    for number in range(1, count + 1):
        dept = "Dept %d" % number
        ids[dept] = api.add(dept)
        for team in teams:
            ids["%s/%s" % (dept, team)] = api.add(team, ids[dept])
    return ids


def run(api, known, flow=ensure_present, **kwargs):
    directory = GroupDirectory(api.client, known_root=known)
    return flow(directory, **kwargs), directory


def test_a_group_under_a_path_is_found_by_two_searches_without_the_listing(api):
    ids = departments(api)
    (changed, before, after), _directory = run(api, BIG, name="Team 2", parent="Dept 2")
    assert not changed and after["id"] == ids["Dept 2/Team 2"]
    assert api.listings() == 0
    assert api.searches() == ["team 2", "team 2", "dept 2"]  # 3 teams named so: two pages of two, then the parent


def test_a_root_group_is_found_by_one_search_when_its_name_also_stands_elsewhere(api):
    ids = departments(api)
    root_team = api.add("Team 1")
    (changed, before, after), _directory = run(api, BIG, name="Team 1")
    assert not changed and after["id"] == root_team and after["id"] != ids["Dept 1/Team 1"]
    assert api.listings() == 0 and api.writes() == []


def test_a_name_found_nowhere_is_created_at_the_root_without_the_listing(api):
    departments(api)
    (changed, before, after), _directory = run(api, BIG, name="Finance")
    assert changed and before is None and after["parent_id"] == ROOT
    assert api.listings() == 0 and api.writes() == [("create", "Finance")]


def test_a_new_child_is_created_under_its_parent_found_by_search(api):
    ids = departments(api)
    (changed, _before, after), _directory = run(api, BIG, name="Payroll", parent="Dept 3")
    assert changed and after["parent_id"] == ids["Dept 3"]
    assert api.listings() == 0 and api.searches() == ["payroll", "dept 3"]


def test_a_name_under_every_department_is_created_once_at_the_root_after_the_listing(api):
    departments(api)
    (changed, _before, after), _directory = run(api, BIG, name="Team 1")
    assert changed and after["parent_id"] == ROOT
    assert api.listings() > 0  # none of them is linked to the root here: only the listing proves none is there
    assert api.writes() == [("create", "Team 1")]
    (changed, _before, again), _directory = run(api, BIG, name="Team 1")
    assert not changed and again["id"] == after["id"]
    assert [r["parentId"] for r in api.records if r["description"] == "Team 1"].count(ROOT) == 1


def test_with_a_witness_a_name_under_every_department_is_created_at_the_root_without_the_listing(api):
    departments(api)
    known = dict(BIG, witness="Dept 1")
    (changed, _before, after), _directory = run(api, known, name="Team 1")
    assert changed and after["parent_id"] == ROOT
    assert api.listings() == 0 and api.searches() == ["team 1", "team 1", "dept 1"]  # the witness's search last
    assert api.writes() == [("create", "Team 1")]
    (changed, _before, again), _directory = run(api, known, name="Team 1")
    assert not changed and again["id"] == after["id"] and api.listings() == 0
    assert [r["parentId"] for r in api.records if r["description"] == "Team 1"].count(ROOT) == 1


def test_a_witness_that_no_longer_links_to_the_root_sends_the_task_to_the_listing(api):
    departments(api)
    api.drift_ids = api.drift_root = True  # every answer shows new ids, the root's too
    (changed, _before, after), _directory = run(api, dict(BIG, witness="Dept 1"), name="Team 1")
    assert api.listings() > 0 and api.writes() == [("create", "Team 1")]
    assert [api.canonical(r["parentId"]) for r in api.records if r["description"] == "Team 1"].count(ROOT) == 1


def test_a_witness_gone_from_the_directory_sends_the_task_to_the_listing(api):
    departments(api)
    run(api, dict(BIG, witness="Gone"), name="Team 1")
    assert api.listings() > 0 and api.searches() == ["team 1", "team 1", "gone"]


def test_a_name_standing_elsewhere_is_created_under_a_parent_linked_by_search(api):
    ids = departments(api, teams=("Team 1",))
    api.add("Team 2", ids["Dept 1"])
    (changed, _before, after), _directory = run(api, BIG, name="Team 2", parent="Dept 2")
    assert changed and after["parent_id"] == ids["Dept 2"]
    assert api.listings() == 0 and api.searches() == ["team 2", "dept 2"]  # the parent's link is searched after


def test_a_parent_name_found_nowhere_is_refused_by_search(api):
    departments(api)
    with pytest.raises(ParentNotFound, match="no group named 'Nowhere' anywhere"):
        run(api, BIG, name="Team 1", parent="Nowhere/Dept 1")
    assert api.listings() == 0 and api.searches() == ["team 1", "team 1", "dept 1", "nowhere"]  # leaf up


def test_an_old_root_id_links_nothing_so_the_listing_is_read_and_the_new_id_learnt(api):
    ids = departments(api)
    old_root = {"id": "eNoOLDROOT", "groups": 10000}
    (changed, _before, after), directory = run(api, old_root, name="Team 1", parent="Dept 1")
    assert not changed and after["id"] == ids["Dept 1/Team 1"]
    assert api.listings() > 0
    assert directory.learnt_root == {"id": ROOT, "groups": len(api.records), "witness": "Dept 1"}


def test_drifting_ids_take_the_listing_keep_unchanged_and_create_once(api):
    ids = departments(api)
    api.drift_ids = api.drift_root = True
    (changed, _before, after), _directory = run(api, BIG, name="Team 2", parent="Dept 1")
    assert not changed and api.canonical(after["id"]) == ids["Dept 1/Team 2"]
    assert api.listings() > 0
    for _attempt in range(2):
        (changed, _before, after), _directory = run(api, BIG, name="Team 1")
    assert api.writes() == [("create", "Team 1")]
    (changed, _before, after), _directory = run(api, BIG, name="Team 1")
    assert not changed


def test_an_ambiguous_parent_is_left_to_the_listing_which_refuses_it(api):
    departments(api, count=1)
    api.add("Dept 1")  # a second Dept 1 at the root
    with pytest.raises(GroupError, match="ambiguous"):
        run(api, BIG, name="Team 1", parent="Dept 1")
    assert api.listings() > 0 and api.writes() == []


def test_a_small_directory_is_listed_straight_away(api):
    departments(api)
    run(api, {"id": ROOT, "groups": 100}, name="Team 1", parent="Dept 1")
    assert api.searches() == [] and api.listings() > 0


def test_searches_that_would_cost_as_much_as_the_listing_stop_and_list(api):
    departments(api, count=3)  # "Team 1" three times: two pages of two
    run(api, {"id": ROOT, "groups": 300}, name="Team 1", parent="Dept 1")  # 3 listing pages: a budget of 2
    assert api.searches() == ["team 1", "team 1"]  # the parent's search would be a third page: never sent
    assert api.listings() > 0


def test_absent_is_settled_by_a_search_that_finds_the_name_nowhere(api):
    departments(api)
    (changed, before, _after), _directory = run(api, BIG, flow=ensure_absent, name="Gone", parent="Dept 1")
    assert not changed and before is None
    assert api.listings() == 0 and api.writes() == []


def info(api, known, **filters):
    directory = GroupDirectory(api.client, known_root=known)
    return list_groups(directory, **filters)


def test_info_of_a_name_under_a_path_is_answered_by_searches_without_the_listing(api):
    ids = departments(api)
    found = info(api, BIG, name="Team 2", parent="Dept 2")
    assert [(g["id"], g["path"]) for g in found] == [(ids["Dept 2/Team 2"], "Dept 2/Team 2")]
    assert api.listings() == 0 and api.searches() == ["team 2", "team 2", "dept 2"]


def test_info_of_a_root_name_that_also_stands_under_departments_finds_the_root_one(api):
    departments(api)
    root_team = api.add("Team 1")
    found = info(api, BIG, name="Team 1", parent="/")
    assert [(g["id"], g["path"]) for g in found] == [(root_team, "Team 1")]
    assert api.listings() == 0


def test_info_gives_escaped_paths_for_names_with_a_slash(api):
    sales = api.add("Sales/Marketing")
    team = api.add("EMEA", sales)
    api.add("Sales")  # a group named like the name's first half
    found = info(api, BIG, name="EMEA", parent="Sales\\/Marketing")
    assert [(g["id"], g["path"]) for g in found] == [(team, "Sales\\/Marketing/EMEA")]
    assert api.listings() == 0


def test_info_of_a_parent_found_nowhere_is_empty_without_the_listing(api):
    departments(api)
    assert info(api, BIG, name="Team 1", parent="Nowhere") == []
    assert api.listings() == 0


def test_info_keeps_its_other_filters_on_what_the_searches_found(api):
    departments(api)
    assert info(api, BIG, name="Team 1", parent="Dept 1", source="ldap") == []
    assert info(api, BIG, name="Team 1", parent="Dept 1", query="eam")[0]["path"] == "Dept 1/Team 1"
    assert info(api, BIG, name="Team 1", parent="Dept 1", query="xyz") == []
    assert api.listings() == 0


def test_info_reads_the_listing_when_no_root_is_known_and_answers_the_same(api):
    ids = departments(api)
    found = info(api, None, name="Team 2", parent="Dept 2")
    assert [(g["id"], g["path"]) for g in found] == [(ids["Dept 2/Team 2"], "Dept 2/Team 2")]
    assert api.searches() == [] and api.listings() > 0


def test_info_of_a_name_alone_reads_the_listing_for_its_paths(api):
    departments(api)
    assert len(info(api, BIG, name="Team 1")) == 3
    assert api.searches() == [] and api.listings() > 0


def test_a_listing_proves_the_root_only_when_every_root_group_names_the_same_parent():
    one = [
        group_facts({"id": "a", "description": "A", "parentId": "R"}),
        group_facts({"id": "b", "description": "B", "parentId": "a"}),
    ]
    assert GroupTree(one).root_fact() == {"id": "R", "groups": 2, "witness": "A"}
    two = one + [group_facts({"id": "c", "description": "C", "parentId": "R2"})]
    assert GroupTree(two).root_fact() is None
    assert GroupTree([]).root_fact() is None


def test_the_witness_is_the_root_name_that_the_fewest_names_hold():
    groups = [
        group_facts({"id": "a", "description": "Team", "parentId": "R"}),
        group_facts({"id": "b", "description": "Sales", "parentId": "R"}),
        group_facts({"id": "c", "description": "Team 1", "parentId": "b"}),
    ]
    assert GroupTree(groups).root_fact()["witness"] == "Sales"  # "team" is held by "Team 1" too


@pytest.mark.parametrize(
    "value,expected",
    [
        ({"id": "R", "groups": 5}, {"id": "R", "groups": 5}),
        ({"id": "R", "groups": "5"}, {"id": "R", "groups": 5}),
        ({"id": "R", "groups": 5, "witness": "A"}, {"id": "R", "groups": 5, "witness": "A"}),
        ({"id": "R", "groups": 5, "witness": ""}, {"id": "R", "groups": 5}),
        ({"id": "R", "groups": 5, "witness": 3}, {"id": "R", "groups": 5}),
        ({"id": "", "groups": 5}, None),
        ({"id": "R", "groups": -1}, None),
        ({"id": "R", "groups": True}, None),
        ({"id": "R"}, None),
        ("R", None),
        (None, None),
    ],
)
def test_known_root_accepts_only_what_a_listing_gives(value, expected):
    assert known_root(value) == expected


def test_listing_pages():
    assert [listing_pages(n) for n in (0, 1, 100, 101, 10000)] == [1, 1, 1, 2, 100]
