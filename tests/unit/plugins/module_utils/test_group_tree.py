# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.group_tree import (
    GroupError,
    GroupTree,
    ParentNotFound,
    group_facts,
    split_path,
    validate_target,
)

ROOT = "eNoROOT"


def group(group_id, name, parent=ROOT, source="cloud"):
    return {"id": group_id, "name": name, "description": name, "parent_id": parent, "source": source}


@pytest.fixture
def tree():
    """Departments/{EMEA/Finance, Americas}, a second Finance at the root, and an LDAP group."""
    return GroupTree(
        [
            group("d", "Departments"),
            group("e", "EMEA", "d"),
            group("a", "Americas", "d"),
            group("f", "Finance", "e"),
            group("f2", "Finance"),
            group("s", "Staff", source="ldap"),
        ]
    )


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


def test_tree_tells_root_children_and_paths(tree):
    assert [g["id"] for g in tree.children(None)] == ["d", "f2", "s"]
    assert [g["id"] for g in tree.children("d")] == ["e", "a"]
    assert [g["id"] for g in tree.children(ROOT)] == ["d", "f2", "s"]  # the invisible root's own id
    assert tree.children("nowhere") == []
    assert tree.root_id() == ROOT
    assert tree.is_root(tree.get("f2")) and not tree.is_root(tree.get("f"))
    assert tree.path_of(tree.get("f")) == "Departments/EMEA/Finance"
    assert [g["id"] for g in tree.named("Finance")] == ["f", "f2"]


def test_resolve_path_walks_names_from_the_root(tree):
    assert tree.resolve_path("Departments/EMEA")["id"] == "e"
    assert tree.resolve_path("/Departments/EMEA/")["id"] == "e"
    assert tree.resolve_path("/") is None
    with pytest.raises(ParentNotFound, match="no group 'Nowhere' under Departments"):
        tree.resolve_path("Departments/Nowhere")


def test_resolve_path_refuses_an_ambiguous_name_listing_ids():
    twins = GroupTree([group("t1", "Twin"), group("t2", "Twin")])
    with pytest.raises(GroupError, match="ambiguous: 2 groups named 'Twin' under the root \\(ids: t1, t2\\)"):
        twins.resolve_path("Twin")


def test_is_below_follows_parents(tree):
    assert tree.is_below("f", tree.get("d"))
    assert not tree.is_below("d", tree.get("f"))


def test_path_of_a_group_in_a_parent_cycle_is_unknown():
    cycle = GroupTree([group("x", "A", "y"), group("y", "B", "x")])
    assert cycle.path_of(cycle.get("x")) is None
    assert cycle.root_id() is None


def test_at_names_finds_the_one_group_at_a_path_and_reports_several():
    tree = GroupTree([group("d", "Departments"), group("e", "EMEA", "d"), group("t1", "Twin"), group("t2", "Twin")])
    assert tree.at_names(["Departments", "EMEA"])["id"] == "e"
    assert tree.at_names(["Departments", "Nowhere"]) is None
    assert tree.at_names(["Twin"]) is None  # several: which one is meant cannot be told
    seen = []
    assert tree.at_names(["Twin", "Below"], lambda depth, found: seen.append((depth, [g["id"] for g in found]))) is None
    assert seen == [(0, ["t1", "t2"])]
