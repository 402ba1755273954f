# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tree planner, with plain data: a listing as facts dicts, no client."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupError, GroupTree
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import (
    join_path,
    parse_request,
    plan_tree,
)

INVISIBLE_ROOT = "eNoInvisibleRoot"


def listing(*paths):
    """A GroupTree from paths (``"A/B"``, or ``("A/B", "ldap")``); a path given twice is a duplicate.

    Ids are ``id:<path>`` (``id:<path>#2`` for a second group at one path); a parent path that is given
    twice resolves to its first group. Names may be given as tuples to hold a ``/``.
    """
    groups, first = [], {}
    for spec in paths:
        path, source = (
            spec
            if isinstance(spec, tuple) and len(spec) == 2 and spec[1] in ("cloud", "ldap")
            else (
                spec,
                "cloud",
            )
        )
        names = tuple(path) if isinstance(path, list) else tuple(path.split("/"))
        key = "/".join(names)
        group_id = "id:%s" % key if names not in first else "id:%s#2" % key
        parent = first[names[:-1]]["id"] if len(names) > 1 else INVISIBLE_ROOT
        group = {
            "id": group_id,
            "name": names[-1],
            "description": names[-1],
            "parent_id": parent,
            "source": source,
            "folder_count": 0,
            "user_count": 0,
        }
        first.setdefault(names, group)
        groups.append(group)
    return GroupTree(groups)


def plan(tree, groups, root=None, state="present", purge=False):
    root_path, entries = parse_request(groups, root)
    return plan_tree(tree, entries, root_path, state=state, purge=purge)


def created(result):
    return [[(join_path(op.path), op.parent_id) for op in level] for level in result.create_levels]


def deleted(result):
    return [[join_path(op.path) for op in level] for level in result.delete_levels]


# ---- input checks, before any request ----------------------------------------------------------


@pytest.mark.parametrize(
    "entry, reason",
    [
        ("A//B", "has an empty name"),
        ("/A", "has an empty name"),
        ("A/", "has an empty name"),
        ("A\\", "ends with a lone"),
        ("A\\t/B", "the only escapes are"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("A/ B", "must not start or end with white space"),
        ("A/B ", "must not start or end with white space"),
        ("A/B\tC", "control characters"),
        ("A/" + "x" * 256, "256 characters long; at most 255"),
    ],
)
def test_a_bad_entry_is_refused_naming_it(entry, reason):
    with pytest.raises(GroupError) as failure:
        parse_request(["Good", entry])

    assert reason in str(failure.value)
    assert "groups entry 2 (%r)" % entry in str(failure.value)


def test_every_bad_entry_is_named_in_one_error():
    with pytest.raises(GroupError) as failure:
        parse_request(["A//B", "Fine", "C/", "D\n"])

    message = str(failure.value)
    assert message.startswith("groups has 3 bad entries")
    assert "groups entry 1 ('A//B')" in message and "groups entry 3 ('C/')" in message
    assert "groups entry 4 ('D\\n')" in message and "groups entry 2" not in message


def test_a_name_of_255_characters_and_repeats_are_accepted():
    long_name = "x" * 255

    root_path, entries = parse_request(["A/B", long_name, "A/B", "A"])

    assert root_path == ()
    assert entries == [("A", "B"), (long_name,), ("A",)]


@pytest.mark.parametrize(
    "root, expected",
    [(None, ()), ("", ()), ("/", ()), ("Org", ("Org",)), ("/Org/IT", ("Org", "IT")), ("Org/IT/", ("Org", "IT"))],
)
def test_root_is_a_path_from_the_directory_root(root, expected):
    assert parse_request([], root)[0] == expected


@pytest.mark.parametrize("root", ["Org//IT", " Org", "Org/\x07"])
def test_a_bad_root_is_refused_naming_it(root):
    with pytest.raises(GroupError, match="root"):
        parse_request(["A"], root)


# ---- present: creates, level by level ---------------------------------------------------------


def test_a_whole_tree_from_empty_is_created_level_by_level_parents_first():
    entries = ["%d/%d/%d" % (a, b, c) for a in range(10) for b in range(10) for c in range(10)]

    result = plan(listing(), entries, root="Org")

    sizes = [len(level) for level in result.create_levels]
    assert sizes == [1, 10, 100, 1000]
    assert created(result)[0] == [("Org", None)]
    assert all(op.parent_id is None for op in result.creates)  # every parent is created by the level above
    assert [join_path(op.path) for op in result.create_levels[1]] == ["Org/%d" % a for a in range(10)]
    assert len(set(op.path for op in result.creates)) == 1111
    assert result.delete_levels == [] and result.changed


def test_missing_groups_under_existing_parents_share_the_first_level_with_those_parents_ids():
    tree = listing("Org", "Org/Sales", "Org/Sales/EMEA")

    result = plan(tree, ["Sales/EMEA/Berlin", "Sales/APAC", "IT"], root="Org")

    # Whatever hangs under an existing group goes in the first level, whatever its depth.
    assert created(result) == [
        [("Org/Sales/EMEA/Berlin", "id:Org/Sales/EMEA"), ("Org/Sales/APAC", "id:Org/Sales"), ("Org/IT", "id:Org")]
    ]


def test_ancestors_are_implied_and_order_follows_the_entries():
    result = plan(listing(), ["B/Y", "A/X/Deep", "B"])

    assert created(result) == [
        [("B", None), ("A", None)],
        [("B/Y", None), ("A/X", None)],
        [("A/X/Deep", None)],
    ]


def test_a_missing_root_and_its_missing_ancestors_are_created_without_touching_existing_ones():
    result = plan(listing("Corp"), ["Team"], root="Corp/Org/IT")

    assert created(result) == [[("Corp/Org", "id:Corp")], [("Corp/Org/IT", None)], [("Corp/Org/IT/Team", None)]]


def test_a_tree_that_is_complete_plans_nothing():
    tree = listing("Org", "Org/A", "Org/A/X", "Org/B", "Elsewhere")

    result = plan(tree, ["A/X", "B", "A"], root="Org", purge=True)

    assert not result.changed and result.kept == []
    assert result.before_paths() == result.after_paths() == ["Org", "Org/A", "Org/A/X", "Org/B"]


def test_groups_may_be_created_under_an_existing_ldap_group():
    result = plan(listing(("HR", "ldap")), ["HR/Contractors"])

    assert created(result) == [[("HR/Contractors", "id:HR")]]


def test_the_directory_root_is_the_default_root():
    result = plan(listing("A"), ["A/B"])

    assert created(result) == [[("A/B", "id:A")]]
    assert result.root_path == ()


# ---- duplicates -------------------------------------------------------------------------------


def test_duplicates_at_a_managed_path_are_refused_naming_their_ids():
    tree = listing("Org", "Org/Sales", "Org/Sales", "Org/IT", "Org/IT")

    with pytest.raises(GroupError) as failure:
        plan(tree, ["Sales/EMEA", "IT"], root="Org")

    message = str(failure.value)
    assert "2 groups named 'Sales' under 'Org' (ids: id:Org/Sales, id:Org/Sales#2)" in message
    assert "2 groups named 'IT' under 'Org' (ids: id:Org/IT, id:Org/IT#2)" in message
    assert "nothing was changed" in message


def test_duplicates_on_the_roots_chain_are_refused_for_present_and_absent():
    tree = listing("Org", "Org")

    for state in ("present", "absent"):
        with pytest.raises(GroupError, match="2 groups named 'Org' under the directory root"):
            plan(tree, ["A"], root="Org", state=state)


def test_duplicates_outside_the_managed_paths_are_no_concern_and_purge_deletes_both():
    tree = listing("Org", "Org/Keep", "Org/Temp", "Org/Temp", "Dup", "Dup")

    kept = plan(tree, ["Keep"], root="Org")
    purged = plan(tree, ["Keep"], root="Org", purge=True)

    assert not kept.changed
    assert deleted(purged) == [["Org/Temp", "Org/Temp"]]
    assert [op.group["id"] for op in purged.deletes] == ["id:Org/Temp", "id:Org/Temp#2"]
    assert purged.before_paths() == ["Org", "Org/Keep", "Org/Temp", "Org/Temp"]
    assert purged.after_paths() == ["Org", "Org/Keep"]


# ---- purge ------------------------------------------------------------------------------------


def test_purge_deletes_every_unlisted_cloud_group_under_root_deepest_first():
    tree = listing("Org", "Org/A", "Org/A/Old", "Org/A/Old/Older", "Org/Gone", "Org/A/Keep", "Outside", "Outside/X")

    result = plan(tree, ["A/Keep", "New"], root="Org", purge=True)

    # Leaves first whatever their depth; a parent one level after its last deleted child.
    assert deleted(result) == [["Org/Gone", "Org/A/Old/Older"], ["Org/A/Old"]]
    assert created(result) == [[("Org/New", "id:Org")]]
    assert not any(join_path(op.path).startswith("Outside") for op in result.deletes)


def test_purge_without_root_manages_the_whole_directory():
    result = plan(listing("A", "B", "B/C"), ["A"], purge=True)

    assert deleted(result) == [["B/C"], ["B"]]


def test_purge_never_deletes_ldap_groups_nor_the_groups_that_hold_them():
    tree = listing("Org", "Org/Old", ("Org/Old/Synced", "ldap"), "Org/Old/Junk", ("Org/HR", "ldap"))

    result = plan(tree, [], root="Org", purge=True)

    assert deleted(result) == [["Org/Old/Junk"]]
    assert [(join_path(path), reason) for path, _group, reason in result.kept] == [
        ("Org/Old", "it holds a group that is kept"),
        ("Org/HR", "synchronised from the directory (source ldap)"),
        ("Org/Old/Synced", "synchronised from the directory (source ldap)"),
    ]


def test_purge_keeps_groups_no_entry_can_name_and_everything_below_them():
    tree = listing("Org", ["Org", " padded"], ["Org", " padded", "Child"], "Org/Plain")

    result = plan(tree, [], root="Org", purge=True)

    assert deleted(result) == [["Org/Plain"]]
    assert sorted(join_path(path) for path, _group, _reason in result.kept) == ["Org/ padded", "Org/ padded/Child"]


def test_a_name_with_a_slash_is_listed_with_its_escape_and_purge_treats_it_like_any_group():
    tree = listing("Org", ["Org", "A/B"], ["Org", "A/B", "Child"], "Org/Plain", ["Sales/Marketing"])

    kept = plan(tree, ["A\\/B/Child", "Plain"], root="Org", purge=True)
    assert not kept.changed and kept.kept == []
    assert "Org/A\\/B/Child" in kept.before_paths()

    result = plan(tree, ["Plain"], root="Org", purge=True)
    assert deleted(result) == [["Org/A\\/B/Child"], ["Org/A\\/B"]]

    # The root group Sales/Marketing is one group, not Sales with Marketing under it.
    whole = plan(tree, ["Org/A\\/B/Child", "Org/Plain", "Sales\\/Marketing"], purge=True)
    assert not whole.changed


def test_purge_with_a_missing_root_creates_it_and_deletes_nothing():
    result = plan(listing("Other"), ["A"], root="Org", purge=True)

    assert created(result) == [[("Org", None)], [("Org/A", None)]]
    assert result.delete_levels == []


def test_without_purge_nothing_is_ever_deleted():
    result = plan(listing("Org", "Org/Unlisted"), ["A"], root="Org")

    assert result.delete_levels == [] and created(result) == [[("Org/A", "id:Org")]]


# ---- absent -----------------------------------------------------------------------------------


def test_absent_deletes_the_listed_groups_deepest_first_and_not_their_ancestors():
    tree = listing("Org", "Org/A", "Org/A/X", "Org/A/X/Deep", "Org/B")

    result = plan(tree, ["A/X", "A/X/Deep", "B", "Missing/Path"], root="Org", state="absent")

    assert deleted(result) == [["Org/B", "Org/A/X/Deep"], ["Org/A/X"]]
    assert result.create_levels == []
    assert result.after_paths() == ["Org", "Org/A"]


def test_absent_refuses_a_listed_group_with_an_unlisted_child_naming_them():
    tree = listing("Org", "Org/A", "Org/A/X", "Org/A/Y", "Org/B", "Org/B/Z")

    with pytest.raises(GroupError) as failure:
        plan(tree, ["A", "A/X", "B"], root="Org", state="absent")

    message = str(failure.value)
    assert "'Org/A' (id:Org/A) has child groups that are not listed: Org/A/Y" in message
    assert "'Org/B' (id:Org/B) has child groups that are not listed: Org/B/Z" in message
    assert "never deleted implicitly" in message


def test_absent_refuses_an_ldap_group():
    with pytest.raises(GroupError, match=r"'Org/HR' \(id:Org/HR\) is synchronised from the directory \(source ldap\)"):
        plan(listing("Org", ("Org/HR", "ldap")), ["HR"], root="Org", state="absent")


def test_absent_with_a_missing_root_or_missing_groups_plans_nothing():
    assert not plan(listing("Other"), ["A"], root="Org", state="absent").changed
    assert not plan(listing("Org"), ["A/B"], root="Org", state="absent").changed


def test_absent_duplicates_of_a_listed_path_are_refused():
    with pytest.raises(GroupError, match="2 groups named 'A'"):
        plan(listing("A", "A"), ["A"], state="absent")


# ---- diff paths and scale ---------------------------------------------------------------------


def test_before_and_after_paths_cover_the_roots_chain_and_everything_under_it():
    tree = listing("Corp", "Corp/Org", "Corp/Org/A", "Corp/Sibling")

    result = plan(tree, ["A/New"], root="Corp/Org")

    assert result.before_paths() == ["Corp", "Corp/Org", "Corp/Org/A"]
    assert result.after_paths() == ["Corp", "Corp/Org", "Corp/Org/A", "Corp/Org/A/New"]


def test_adding_a_hundred_and_ten_groups_to_a_directory_of_two_thousand_plans_two_levels():
    existing = (
        ["Org"] + ["Org/D%d" % d for d in range(20)] + ["Org/D%d/T%d" % (d, t) for d in range(20) for t in range(99)]
    )
    tree = listing(*existing)
    entries = ["New%d/Team%d" % (n, t) for n in range(10) for t in range(10)] + ["New%d" % n for n in range(10)]

    result = plan(tree, entries + ["D%d/T%d" % (d, t) for d in range(20) for t in range(99)], root="Org", purge=True)

    assert len(tree.groups) == 2001
    assert [len(level) for level in result.create_levels] == [10, 100]
    assert {op.parent_id for op in result.create_levels[0]} == {"id:Org"}
    assert result.delete_levels == []


def test_more_than_ten_bad_entries_are_counted_after_the_first_ten():
    with pytest.raises(GroupError) as failure:
        parse_request(["A//%d" % n for n in range(12)])

    assert str(failure.value).startswith("groups has 12 bad entries")
    assert str(failure.value).endswith("; and 2 more")


def test_a_root_of_white_space_around_a_slash_is_refused():
    with pytest.raises(GroupError, match="root must not start or end with white space"):
        parse_request(["A"], " / ")


def test_an_unknown_state_is_refused_and_operations_print_their_path():
    with pytest.raises(GroupError, match="state must be present or absent"):
        plan(listing(), ["A"], state="latest")
    result = plan(listing("Org", "Org/Old"), ["New"], root="Org", purge=True)
    assert repr(result.creates) == "[Create('Org/New', parent_id='id:Org')]"
    assert repr(result.deletes) == "[Delete('Org/Old', id='id:Org/Old')]"
