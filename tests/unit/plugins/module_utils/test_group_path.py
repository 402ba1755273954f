# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import itertools
import random

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.group_path import (
    PathError,
    escape_name,
    join_path,
    split_path,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import (
    GroupError,
    GroupTree,
    listable,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import split_path as split_parent
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import parse_request

# What a name may hold that a path has to carry: the separator, the escape, spaces, letters beyond ASCII.
ALPHABET = ["a", "Z", "/", "\\", " ", "é", "日", "-"]


def every_name(longest):
    for length in range(1, longest + 1):
        for chars in itertools.product(ALPHABET, repeat=length):
            yield "".join(chars)


def test_every_short_name_survives_the_round_trip():
    names = list(every_name(4))
    assert len(names) == 8 + 64 + 512 + 4096
    for name in names:
        assert split_path(join_path([name])) == (name,)
        assert split_path(escape_name(name)) == (name,)


def test_paths_of_several_names_survive_the_round_trip_anchored_or_not():
    rng = random.Random(17)
    pool = list(every_name(3)) + ["Sales/Marketing", "B/C", "a\\b", "\\", "/", "//", "\\/", "Équipe été", "営業/東京"]
    for _round in range(3000):
        names = tuple(rng.choice(pool) for _position in range(rng.randint(1, 5)))
        path = join_path(names)
        assert split_path(path) == names
        assert split_path(path, anchored=True) == names
        assert split_path("/" + path, anchored=True) == names
        assert split_path(path + "/", anchored=True) == names


def test_join_writes_only_the_two_escapes():
    assert join_path(["Sales/Marketing"]) == "Sales\\/Marketing"
    assert join_path(["A", "B/C"]) == "A/B\\/C"
    assert join_path(["back\\slash"]) == "back\\\\slash"
    assert join_path(["\\/"]) == "\\\\\\/"
    assert join_path(["Équipe été", "営業"]) == "Équipe été/営業"
    assert join_path([]) == ""


def test_split_reads_names_with_escapes():
    assert split_path("Sales\\/Marketing") == ("Sales/Marketing",)
    assert split_path("A/B\\/C") == ("A", "B/C")
    assert split_path("back\\\\slash/x") == ("back\\slash", "x")
    assert split_path("\\\\/\\/") == ("\\", "/")  # a backslash, then a name that is one slash


def test_anchored_paths_allow_one_separator_at_each_end_and_the_root():
    assert split_path("/", anchored=True) == ()
    assert split_path("/A/B/", anchored=True) == ("A", "B")
    assert split_path("A\\/", anchored=True) == ("A/",)  # an escaped separator is part of the name


@pytest.mark.parametrize(
    "path, anchored, message",
    [
        ("A\\", False, "ends with a lone '\\'"),
        ("Sales\\/Marketing\\", True, "ends with a lone '\\'"),
        ("A\\x/B", False, "has '\\x' at character 2"),
        ("A\\ B", True, "has '\\ ' at character 2"),
        ("A//B", False, "empty name"),
        ("A//B", True, "empty name"),
        ("/A", False, "empty name"),
        ("A/", False, "empty name"),
        ("/", False, "empty name"),
        ("//", True, "empty name"),
        ("//A", True, "empty name"),
        ("", False, "empty"),
        ("", True, "empty"),
    ],
)
def test_bad_paths_are_refused_with_what_is_wrong(path, anchored, message):
    with pytest.raises(PathError) as info:
        split_path(path, anchored=anchored)
    assert message in str(info.value)


def test_the_parent_parser_and_the_tree_parser_read_the_same_syntax():
    assert split_parent("Sales\\/Marketing") == ["Sales/Marketing"]
    assert split_parent("/A/B\\/C/") == ["A", "B/C"]
    root, entries = parse_request(["A/B\\/C", "Sales\\/Marketing"], root="/Org\\\\Unit/")
    assert root == ("Org\\Unit",)
    assert entries == [("A", "B/C"), ("Sales/Marketing",)]


@pytest.mark.parametrize("parent", ["A\\", "A\\n", "A//B"])
def test_a_bad_parent_is_a_group_error_naming_the_option(parent):
    with pytest.raises(GroupError) as info:
        split_parent(parent)
    assert str(info.value).startswith("parent: the path")


def test_a_bad_groups_entry_is_named_by_its_position():
    with pytest.raises(GroupError) as info:
        parse_request(["Fine", "Bad\\"], root=None)
    assert "groups entry 2 ('Bad\\\\'): the path 'Bad\\' ends with a lone" in str(info.value)


def test_bad_root_is_refused():
    with pytest.raises(GroupError) as info:
        parse_request(["A"], root="Org\\q")
    assert str(info.value).startswith("root: the path 'Org\\q' has '\\q'")


def test_a_tree_writes_paths_that_resolve_back_to_the_same_group():
    tree = GroupTree(
        [
            {"id": "sm", "name": "Sales/Marketing", "parent_id": "ROOT"},
            {"id": "a", "name": "A", "parent_id": "ROOT"},
            {"id": "bc", "name": "B/C", "parent_id": "a"},
            {"id": "bs", "name": "back\\slash", "parent_id": "bc"},
        ]
    )
    for group in tree.groups:
        path = tree.path_of(group)
        assert tree.resolve_path(path)["id"] == group["id"]
    assert tree.path_of(tree.get("bs")) == "A/B\\/C/back\\\\slash"


def test_listable_says_which_paths_a_groups_entry_can_hold():
    assert listable("Sales\\/Marketing")
    assert listable("A/B\\/C")
    assert not listable("A/ padded")
    assert not listable("A/" + "x" * 256)
