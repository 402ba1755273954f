# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Member values, the pure planner, and reading/writing members through the client's contract."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils import members as members_module
from ansible_collections.community.mimecast.plugins.module_utils.members import (
    MemberError,
    member_item,
    member_value,
    members_after,
    normalise_member,
    plan_members,
    validate_members,
)
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import ItemResult, OutcomeUnknown
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import envelope, response

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
    assert clean == {"add": ["b@example.com", "a.example"], "remove": ["c@example.com"], "set": None, "unchecked": {}}
    assert validate_members({"set": []}) == {"add": [], "remove": [], "set": [], "unchecked": {}}


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


# -- reading and writing through the client contract (paginate, write) -----------------------------


class MemberClient:
    """Group members in memory behind the two client calls members.py uses: paginate and write."""

    def __init__(self, members=(), page_size=2):
        self.members = set(members)
        self.page_size = page_size
        self.reads = []
        self.writes = []
        self.refuse = {}  # value -> error code answered for it

    def paginate(self, path, item, page_size):
        self.reads.append((path, item, page_size))
        values = sorted(self.members)
        for start in range(0, max(len(values), 1), self.page_size):
            page = values[start : start + self.page_size]
            yield {"groupMembers": [{"emailAddress": v, "domain": v.rpartition("@")[2]} for v in page]}

    def write(self, path, items, confirm=None):
        self.writes.append((path, [dict(item) for item in items], confirm))
        results = []
        for item in items:
            value = item.get("emailAddress") or item.get("domain")
            adding = path == members_module.ADD_GROUP_MEMBER
            code = self.refuse.get(value)
            if code is None and adding and value in self.members:
                code = members_module.ALREADY_MEMBER
            if code is None and not adding and value not in self.members:
                code = members_module.NOT_A_MEMBER
            if code is not None:
                results.append(ItemResult(item, None, [{"code": code, "message": "refused", "retryable": False}]))
                continue
            (self.members.add if adding else self.members.discard)(value)
            results.append(ItemResult(item, {}))
        return results


def test_read_members_follows_every_page_and_tells_addresses_from_domains():
    client = MemberClient(["b@example.com", "a@example.com", "partner.example"], page_size=2)
    assert members_module.read_members(client, "g1") == ["a@example.com", "b@example.com", "partner.example"]
    assert client.reads == [(members_module.GET_GROUP_MEMBERS, {"id": "g1"}, 100)]


def test_writes_go_in_batches_of_100_adds_first_and_only_what_differs():
    client = MemberClient(["old%d@example.com" % n for n in range(3)])
    wanted = validate_members({"set": ["new%03d@example.com" % n for n in range(250)] + ["old0@example.com"]})

    changed, before, after = members_module.ensure_members(client, {"id": "g1", "source": "cloud"}, wanted)

    assert changed and before == ["old0@example.com", "old1@example.com", "old2@example.com"]
    assert after == sorted(wanted["set"]) == sorted(client.members)
    assert [(path, len(items)) for path, items, _confirm in client.writes] == [
        (members_module.ADD_GROUP_MEMBER, 100),
        (members_module.ADD_GROUP_MEMBER, 100),
        (members_module.ADD_GROUP_MEMBER, 50),
        (members_module.REMOVE_GROUP_MEMBER, 2),
    ]
    assert client.writes[-1][1] == [
        {"id": "g1", "emailAddress": "old1@example.com"},
        {"id": "g1", "emailAddress": "old2@example.com"},
    ]
    assert all(confirm is not None for _path, _items, confirm in client.writes)


def test_already_a_member_and_not_a_member_count_as_done():
    client = MemberClient(["a@example.com"])
    applied = members_module.write_members(client, "g1", ["a@example.com", "b@example.com"], ["gone@example.com"])

    assert applied == 1
    assert client.members == {"a@example.com", "b@example.com"}


def test_other_item_failures_are_reported_after_every_batch_was_sent():
    client = MemberClient()
    client.refuse = {"bad@example.com": "err_validation_invalid_email_address"}

    with pytest.raises(members_module.MembersNotChanged) as raised:
        members_module.write_members(client, "g1", ["bad@example.com", "good@example.com"], [], batch_size=1)

    assert raised.value.applied == 1
    assert raised.value.failures[0][0] == "bad@example.com"
    assert "bad@example.com: err_validation_invalid_email_address" in raised.value.message
    assert client.members == {"good@example.com"}


def test_confirm_reads_the_members_again_and_confirms_what_is_visible():
    client = MemberClient(["a@example.com"])
    members_module.write_members(client, "g1", ["b@example.com"], ["z@example.com"])
    add_confirm, remove_confirm = client.writes[0][2], client.writes[1][2]
    client.reads.clear()

    added = add_confirm([{"id": "g1", "emailAddress": "a@example.com"}, {"id": "g1", "emailAddress": "c@example.com"}])
    removed = remove_confirm([{"id": "g1", "domain": "partner.example"}, {"id": "g1", "emailAddress": "a@example.com"}])

    assert added == [{}, None]  # a@ is there: that add took effect; c@ is not: send it again
    assert removed == [{}, None]  # partner.example is gone: done; a@ is still there: send it again
    assert len(client.reads) == 2


def test_a_group_created_or_planned_by_the_task_is_not_read():
    client = MemberClient()
    wanted = validate_members({"add": ["a@example.com"]})

    planned = members_module.ensure_members(client, {"id": None, "source": "cloud"}, wanted, check_mode=True)
    created = members_module.ensure_members(client, {"id": "g9", "source": "cloud"}, wanted, created=True)

    assert planned == (True, [], ["a@example.com"]) and created == (True, [], ["a@example.com"])
    assert client.reads == []
    assert [path for path, _items, _confirm in client.writes] == [members_module.ADD_GROUP_MEMBER]


@pytest.mark.parametrize("count,reads", [(0, 0), (2, 1), (None, 1), ("0", 1), (False, 1)])
def test_only_a_group_that_shows_user_count_0_goes_unread(count, reads):
    client = MemberClient(["a@example.com", "b@example.com"] if reads else [])
    group = {"id": "g1", "source": "cloud", "user_count": count}
    result = members_module.ensure_members(client, group, validate_members({"set": ["a@example.com"]}))
    assert len(client.reads) == reads
    assert result[1] == (["a@example.com", "b@example.com"] if reads else [])


def test_a_write_to_a_group_that_showed_no_members_is_still_confirmed_by_a_read():
    client = MemberClient()
    members_module.ensure_members(
        client, {"id": "g1", "source": "cloud", "user_count": 0}, validate_members({"add": ["a@example.com"]})
    )
    assert client.reads == []
    confirm = client.writes[0][2]
    assert confirm([{"id": "g1", "emailAddress": "a@example.com"}]) == [{}]
    assert len(client.reads) == 1


def test_check_mode_predicts_without_writing():
    client = MemberClient(["a@example.com"])
    result = members_module.ensure_members(
        client, {"id": "g1", "source": "cloud"}, validate_members({"set": ["b@example.com"]}), check_mode=True
    )
    assert result == (True, ["a@example.com"], ["b@example.com"])
    assert client.writes == [] and client.members == {"a@example.com"}


def test_ldap_groups_refuse_a_change_before_any_write_but_allow_no_change():
    client = MemberClient(["a@example.com"])
    group = {"id": "g1", "name": "Synced", "source": "ldap"}

    with pytest.raises(MemberError, match="source ldap"):
        members_module.ensure_members(client, group, validate_members({"add": ["b@example.com"]}))
    same = members_module.ensure_members(client, group, validate_members({"add": ["A@example.com"]}))

    assert same == (False, ["a@example.com"], ["a@example.com"])
    assert client.writes == []


def test_with_members_adds_the_lists_and_moves_user_count():
    before = {"id": "g1", "user_count": 3}
    new_before, after = members_module.with_members(before, dict(before), (True, ["a", "b", "c"], ["a"]))
    assert new_before == {"id": "g1", "user_count": 3, "members": ["a", "b", "c"]}
    assert after == {"id": "g1", "user_count": 1, "members": ["a"]}
    assert members_module.with_members(None, {"id": "g2", "user_count": 0}, (True, [], ["x"]))[0] is None


# -- outcomes through the real client and a scripted transport ---------------------------------------


def member_page(*values):
    return response(body=envelope([{"groupMembers": [{"emailAddress": v, "domain": "example.com"} for v in values]}]))


def add_requests(session):
    return [r for r in session.requests if r["url"].endswith("add-group-member")]


def test_an_add_that_timed_out_and_lands_late_is_found_over_the_window_not_sent_again(make_client, recorder):
    # Case 1 for members: the first confirming read still misses it, the second (half a window later) finds it.
    client, session = make_client(
        [http_transport.ReadTimeout("read timed out"), member_page(), member_page("x@example.com")], timeout=1
    )
    assert members_module.write_members(client, "g1", ["x@example.com"], []) == 1
    assert len(add_requests(session)) == 1 and sum(recorder.sleeps) == pytest.approx(1.0)


def test_an_add_whose_confirming_read_is_rate_limited_is_unknown_and_counts_as_a_change(make_client):
    # Case 3 for members: the add ran, the answer was lost, and the read that should confirm it is rate-limited.
    limited = response(status=429, body=envelope(status=429), headers={"X-RateLimit-Reset": "10"})
    client, session = make_client([http_transport.ConnectionDropped("reset"), limited, limited], max_retries=1)
    with pytest.raises(OutcomeUnknown) as info:
        members_module.write_members(client, "g1", ["x@example.com", "partner.example"], [])
    assert info.value.unknown == ["add x@example.com", "add partner.example"]
    assert info.value.details()["changed"] is True and "none of it was done" not in info.value.message
    assert len(add_requests(session)) == 1


def test_already_a_member_answered_to_a_resend_counts_as_a_change(make_client):
    # Point 6: the first try may have added it before its answer was lost; a first-time answer does not count.
    already = {"key": {"id": "g1", "emailAddress": "x@example.com"}}
    already["errors"] = [{"code": members_module.ALREADY_MEMBER, "message": "exists"}]
    client, _session = make_client(
        # the dropped add may have reached Mimecast: the members are read over the settle window (3 reads)
        [http_transport.ConnectionDropped("reset")]
        + [member_page()] * 3
        + [response(body=envelope([], fail=[already]))]
    )
    assert members_module.write_members(client, "g1", ["x@example.com"], []) == 1
    client, _session = make_client([response(body=envelope([], fail=[already]))])
    assert members_module.write_members(client, "g1", ["x@example.com"], []) == 0


# -- values Mimecast holds that the checks refuse --------------------------------------------------

ODD = ["svc@mail_relay.example.com", "x" * 65 + "@example.com", "jurgen@münchen.de"]


NEVER = ["", "a b@example.com", "tab\t@x.example", "bell\a@x.example", "a@@x.example", "@x.example", "a@"]


@pytest.mark.parametrize("value", NEVER)
def test_what_can_never_be_a_member_is_refused_before_any_request(value):
    with pytest.raises(MemberError):
        validate_members({"set": [value]})


def test_values_the_checks_refuse_but_mimecast_may_hold_pass_validation_named_with_why():
    clean = validate_members({"set": [v.upper() for v in ODD] + ["ok@example.com"]})
    assert clean["set"] == [v.upper().lower() for v in ODD] + ["ok@example.com"]
    assert sorted(clean["unchecked"]) == sorted(v.upper().lower() for v in ODD)
    assert "may only hold letters" in clean["unchecked"]["svc@mail_relay.example.com"]
    assert "65 characters long" in clean["unchecked"]["x" * 65 + "@example.com"]


def test_held_odd_values_are_kept_without_a_write_and_named_in_a_warning():
    client = MemberClient(ODD + ["old@example.com"])
    warnings = []
    wanted = validate_members({"set": ODD + ["new@example.com"]})
    changed, before, after = members_module.ensure_members(
        client, {"id": "g1", "source": "cloud"}, wanted, warn=warnings.append
    )
    assert changed and after == sorted(ODD + ["new@example.com"])
    sent = [item["emailAddress"] for _path, items, _confirm in client.writes for item in items]
    assert sent == ["new@example.com", "old@example.com"]  # the odd values are never sent
    assert len(warnings) == 1 and all(repr(value) in warnings[0] for value in ODD)


def test_an_odd_value_that_would_be_added_is_refused_before_any_write():
    client = MemberClient(ODD[:1])
    with pytest.raises(MemberError) as raised:
        members_module.ensure_members(
            client, {"id": "g1", "source": "cloud"}, validate_members({"add": ODD + ["new@example.com"]})
        )
    assert client.writes == []
    message = str(raised.value)
    assert "2 value(s) would be added" in message
    assert repr(ODD[1]) in message and repr(ODD[2]) in message and ODD[0] not in message


def test_an_odd_value_the_group_holds_may_be_removed():
    client = MemberClient(ODD[:1] + ["a@example.com"])
    changed, _before, after = members_module.ensure_members(
        client, {"id": "g1", "source": "cloud"}, validate_members({"remove": ODD[:1]})
    )
    assert changed and after == ["a@example.com"]
    assert client.writes[0][1] == [{"id": "g1", "emailAddress": ODD[0]}]
