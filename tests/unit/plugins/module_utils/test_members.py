# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Member values, the pure planner, and reading/writing members through the client's contract."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.members import (
    MemberError,
    member_item,
    member_value,
    members_after,
    normalise_member,
    plan_members,
    validate_members,
)

# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
        ("Partner.Example", "partner.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a@b-c.example", "a@b-c.example"),
        ("x" * 64 + "@example.com", "x" * 64 + "@example.com"),
    ],
)
def test_good_values_are_lower_cased(value, expected):
    assert normalise_member(value) == expected


# Each bad value gets its own message: what is wrong with it, not just "invalid".
BAD_VALUES = [
    ("", "must be a non-empty address or domain"),
    ("alice smith@example.com", "contains white space"),
    ("al\x07ice@example.com", "contains control characters"),
    ("alice@@example.com", "has more than one @"),
    ("@example.com", "has nothing before the @"),
    ("x" * 65 + "@example.com", "the part before the @ of"),
    ("alice@", "has no domain after the @"),
    ("alice@localhost", "needs at least two labels"),
    ("alice@example..com", "has an empty label"),
    ("alice@exa_mple.com", "may only hold letters, digits, hyphens and dots"),
    ("alice@-example.com", "starts or ends with a hyphen"),
    ("alice@10.0.0.1", "an IP address is not a domain name"),
    ("alice@" + "a" * 64 + ".example", "has a label of 64 characters"),
    ("alice@" + ".".join(["abcdefghi"] * 26), "at most 253 are allowed"),
]
# More bad values that share one of the messages above.
MORE_BAD_VALUES = [
    ("alice@example.com\n", "contains white space"),
    ("alice\t@example.com", "contains white space"),
    (".example.com", "has an empty label"),
    ("example.com.", "has an empty label"),
    ("bücher.example", "xn-- form"),
    ("partner-.example", "starts or ends with a hyphen"),
    ("alice@example", "needs at least two labels"),
]


@pytest.mark.parametrize("value, message", BAD_VALUES + MORE_BAD_VALUES)
def test_bad_values_are_refused_with_a_message_saying_why(value, message):
    with pytest.raises(MemberError, match="^members: ") as raised:
        normalise_member(value)
    assert message in str(raised.value)


def test_each_kind_of_bad_value_has_its_own_message():
    templates = set()
    for value, _message in BAD_VALUES:
        with pytest.raises(MemberError) as raised:
            normalise_member(value)
        # the message with the value itself taken out: what remains says what is wrong
        templates.add(str(raised.value).replace(repr(value.lower()), "VALUE").replace(repr(value), "VALUE"))
    assert len(templates) == len(BAD_VALUES) >= 8


@pytest.mark.parametrize(
    "members, message",
    [
        ({}, "give at least one of add, remove or set"),
        ({"add": None, "remove": None, "set": None}, "give at least one of add, remove or set"),
        ({"set": ["a@example.com"], "add": ["b@example.com"]}, "cannot be combined with add or remove"),
        ({"set": [], "remove": []}, "cannot be combined with add or remove"),
        ({"add": ["A@example.com"], "remove": ["a@EXAMPLE.com"]}, "a@example.com in both add and remove"),
        ({"add": "a@example.com"}, "add must be a list"),
        ({"set": ["ok.example", "not ok"]}, "'not ok' contains white space"),
    ],
)
def test_bad_combinations_are_refused(members, message):
    with pytest.raises(MemberError) as raised:
        validate_members(members)
    assert message in str(raised.value)


def test_validated_members_are_lower_case_and_unique_in_the_order_given():
    clean = validate_members({"add": ["B@example.com", "a.example", "b@EXAMPLE.com"], "remove": ["C@example.com"]})
    assert clean == {"add": ["b@example.com", "a.example"], "remove": ["c@example.com"], "set": None}
    assert validate_members({"set": []}) == {"add": [], "remove": [], "set": []}


# -- records and items -----------------------------------------------------------------------------


def test_members_are_told_apart_by_the_at_sign_not_by_which_field_is_filled():
    assert member_value({"emailAddress": "Alice@Example.com", "domain": "example.com"}) == "alice@example.com"
    assert member_value({"emailAddress": "Partner.Example", "domain": "partner.example"}) == "partner.example"
    assert member_value({"emailAddress": "", "domain": "Partner.Example"}) == "partner.example"
    assert member_value({"domain": "partner.example"}) == "partner.example"
    assert member_value({"name": "nobody"}) is None


def test_items_send_an_address_as_email_address_and_a_domain_as_domain():
    assert member_item("g1", "a@example.com") == {"id": "g1", "emailAddress": "a@example.com"}
    assert member_item("g1", "partner.example") == {"id": "g1", "domain": "partner.example"}


# -- planning (pure) -------------------------------------------------------------------------------

CURRENT = ["a@example.com", "b@example.com", "partner.example"]


@pytest.mark.parametrize(
    "members, to_add, to_remove",
    [
        # add leaves the others alone and adds only what is missing
        ({"add": ["c@example.com", "a@example.com"], "remove": []}, ["c@example.com"], []),
        # remove removes only what is there
        ({"add": [], "remove": ["b@example.com", "gone@example.com"]}, [], ["b@example.com"]),
        # add and remove together
        ({"add": ["new.example"], "remove": ["partner.example"]}, ["new.example"], ["partner.example"]),
        # set makes the list exact
        ({"set": ["a@example.com", "z@example.com"]}, ["z@example.com"], ["b@example.com", "partner.example"]),
        # set: [] empties the group
        ({"set": []}, [], ["a@example.com", "b@example.com", "partner.example"]),
        # the same list: nothing to do
        ({"set": list(CURRENT)}, [], []),
        ({"add": list(CURRENT), "remove": ["absent@example.com"]}, [], []),
    ],
)
def test_planner(members, to_add, to_remove):
    assert plan_members(CURRENT, members) == (to_add, to_remove)


def test_planner_ignores_letter_case_of_what_was_read():
    current = ["A@Example.com", "Partner.EXAMPLE"]
    wanted = validate_members({"set": ["a@example.COM", "partner.example"]})
    assert plan_members(current, wanted) == ([], [])


def test_planner_on_an_empty_group_adds_everything_sorted():
    wanted = validate_members({"set": ["z@example.com", "a.example", "m@example.com"]})
    assert plan_members([], wanted) == (["a.example", "m@example.com", "z@example.com"], [])


def test_members_after_applies_a_plan():
    to_add, to_remove = plan_members(CURRENT, {"add": ["c@example.com"], "remove": ["a@example.com"]})
    assert members_after(CURRENT, to_add, to_remove) == ["b@example.com", "c@example.com", "partner.example"]
