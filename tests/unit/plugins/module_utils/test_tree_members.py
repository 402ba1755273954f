# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Members of a whole tree: the option's checks, and the member writes batched across groups, through the real
MimecastClient against an in-memory directory."""

import json

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.group_api import GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupError
from ansible_collections.community.mimecast.plugins.module_utils.tree_apply import converge_tree
from ansible_collections.community.mimecast.plugins.module_utils.tree_members import parse_members
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import parse_request
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    envelope,
    response,
    with_client,
)
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.test_tree_apply import TreeSession


class MemberTreeSession(TreeSession):
    """TreeSession with members: get-group-members (one page of everything), add- and remove-group-member
    on each item's own id; ``member_refuse`` (value -> code), ``member_drop`` (number of the member write
    whose answer is lost after it ran). ``member_batches`` records (kind, [(group id, value)]) per write."""

    def __init__(self):
        super().__init__()
        self.members = {}  # group id -> set of values
        self.member_refuse = {}
        self.member_drop = None
        self.member_lost = None  # number of the member write whose connection breaks before it runs
        self.member_batches = []
        self.member_reads = []

    def _find(self, body):
        for record in self.records:  # userCount is each group's number of members, as Mimecast lists it
            record["userCount"] = len(self.members.get(record["id"], ()))
        return super()._find(body)

    def post(self, url, data=None, **kwargs):
        name = url.rsplit("/", 1)[-1]
        if name not in ("get-group-members", "add-group-member", "remove-group-member"):
            return super().post(url, data=data, **kwargs)
        body = json.loads(data)
        if name == "get-group-members":
            group_id = body["data"][0]["id"]
            self.member_reads.append(group_id)
            records = [{"emailAddress": v} for v in sorted(self.members.get(group_id, ()))]
            return response(body=envelope([{"groupMembers": records}]))
        adding = name == "add-group-member"
        if len(self.member_batches) + 1 == self.member_lost:
            self.member_batches.append(("lost", []))
            raise http_transport.ConnectionDropped("connection reset by peer")
        self.member_batches.append(
            ("add" if adding else "remove", [(i["id"], i.get("emailAddress") or i["domain"]) for i in body["data"]])
        )
        answers, fails = [], []
        for item in body["data"]:
            value = item.get("emailAddress") or item["domain"]
            have = self.members.setdefault(item["id"], set())
            code = self.member_refuse.get(value)
            if code is None and adding and value in have:
                code = "err_folder_group_member_already_exists"
            if code is None and not adding and value not in have:
                code = "err_folder_email_address_not_found"
            if code:
                fails.append({"key": item, "errors": [{"code": code, "message": "refused"}]})
                continue
            (have.add if adding else have.discard)(value)
            answers.append({"emailAddress": value})
        if len(self.member_batches) == self.member_drop:
            raise http_transport.ConnectionDropped("connection reset by peer")
        return response(body=envelope(answers, fail=fails))

    def members_of(self, path):
        return sorted(self.members.get(self.add_path(path), ()))


@pytest.fixture
def api(recorder):
    session = MemberTreeSession()
    return with_client(session, recorder)


def converge(api, groups, members, root=None, **options):
    root_path, entries = parse_request(groups, root)
    return converge_tree(
        GroupDirectory(api.client), entries, root_path, members=parse_members(members, entries), **options
    )


TEAMS = ["D%d/T%d" % (d, t) for d in range(3) for t in range(4)]


def team_members(swap=()):
    return dict(
        (
            team,
            ["%s.m%d@example.com" % (team.replace("/", ".").lower(), n) for n in range(3)]
            + (["x@example.com"] if team in swap else []),
        )
        for team in TEAMS
    )


# ---- the option's checks ------------------------------------------------------------------------


def test_keys_are_parsed_like_groups_entries_and_must_be_listed_paths_or_their_ancestors():
    _root, entries = parse_request(["A/B/C"])
    assert parse_members({"A": [], "A/B/C": ["X@Example.com", "x@example.com"]}, entries) == {
        ("A",): [],
        ("A", "B", "C"): ["x@example.com"],
    }
    with pytest.raises(GroupError) as raised:
        parse_members({"A/B/D": [], "A//B": [], "/A": [], "A/B": "x@example.com", "A/B/C": ["not an address"]}, entries)
    message = str(raised.value)
    assert "members has 5 bad entries" in message
    assert "'A/B/D' is not a path of groups" in message
    assert "members key 2 ('A//B')" in message
    assert "members key 3 ('/A')" in message
    assert "members of 'A/B' must be a list" in message
    assert "members of 'A/B/C': 'not an address' contains white space" in message


def test_none_means_no_members_option_and_a_list_is_refused():
    assert parse_members(None, [("A",)]) is None
    with pytest.raises(GroupError, match="members must be a dict"):
        parse_members(["A"], [("A",)])


def test_state_absent_refuses_members(api):
    api.add_path("A")
    with pytest.raises(GroupError, match="only used with state=present"):
        converge(api, ["A"], {"A": []}, state="absent")
    assert api.writes() == []


def test_an_ldap_group_whose_members_would_change_is_refused_before_any_write(api):
    api.add_path("Org/Synced", source="ldap")
    api.members[api.add_path("Org/Synced")] = {"a@example.com"}
    with pytest.raises(GroupError, match="'Org/Synced' .*source ldap"):
        converge(api, ["Synced", "New"], {"Synced": ["b@example.com"]}, root="Org")
    assert api.writes() == [] and api.member_batches == []


def test_an_ldap_group_with_the_same_members_passes(api):
    api.add_path("Org/Synced", source="ldap")
    api.members[api.add_path("Org/Synced")] = {"a@example.com"}
    outcome = converge(api, ["Synced"], {"Synced": ["A@example.com"]}, root="Org")
    assert not outcome.changed and api.member_batches == []
    assert outcome.result()["groups"][0]["members"] == ["a@example.com"]


# ---- batched writes --------------------------------------------------------------------------------


def test_from_empty_created_groups_are_not_read_and_member_adds_share_requests(api):
    outcome = converge(api, TEAMS, team_members(), root="Org", batch_size=10)
    assert not outcome.failed
    assert api.member_reads == []
    # 36 members of 12 new teams in requests of at most 10 items, across groups: 4 requests, adds only
    assert [(kind, len(items)) for kind, items in api.member_batches] == [
        ("add", 10),
        ("add", 10),
        ("add", 10),
        ("add", 6),
    ]
    for team, values in team_members().items():
        assert api.members_of("Org/" + team) == sorted(values)
    result = outcome.result(diff=True)
    assert result["changed"]
    assert result["members_added"] == dict(("Org/" + t, sorted(v)) for t, v in team_members().items())
    assert result["members_removed"] == {}
    assert result["diff"]["before"]["members"] == {}
    assert result["diff"]["after"]["members"] == result["members_added"]
    team = next(g for g in result["groups"] if g["path"] == "Org/D0/T0")
    assert team["members"] == sorted(team_members()["D0/T0"]) and team["user_count"] == 3
    assert "members" not in next(g for g in result["groups"] if g["path"] == "Org/D0")


def test_a_rerun_reads_each_named_group_once_and_writes_nothing(api):
    converge(api, TEAMS, team_members(), root="Org")
    api.member_batches, api.calls = [], []
    outcome = converge(api, TEAMS, team_members(), root="Org")
    assert not outcome.changed
    assert api.member_batches == [] and api.writes() == []
    assert sorted(api.member_reads) == sorted(api.add_path("Org/" + t) for t in TEAMS)


def test_a_named_group_whose_listing_shows_no_members_is_not_read(api):
    converge(api, TEAMS, team_members(), root="Org")
    emptied = api.add_path("Org/D0/T0")
    api.members[emptied] = set()  # someone removed every member: the listing shows userCount 0
    api.member_batches, api.member_reads = [], []
    outcome = converge(api, TEAMS, team_members(), root="Org")
    assert emptied not in api.member_reads and len(api.member_reads) == len(TEAMS) - 1
    assert [(kind, sorted(items)) for kind, items in api.member_batches] == [
        ("add", sorted((emptied, v) for v in team_members()["D0/T0"]))
    ]
    assert outcome.result()["members_added"] == {"Org/D0/T0": sorted(team_members()["D0/T0"])}


def test_swaps_in_several_groups_take_one_add_and_one_remove_request_adds_first(api):
    converge(api, TEAMS, team_members(swap=TEAMS[:5]), root="Org")
    api.member_batches = []
    wanted = team_members()
    for team in TEAMS[:5]:
        wanted[team] = wanted[team][1:] + ["y@example.com"]
    outcome = converge(api, TEAMS, wanted, root="Org", check_mode=True)
    predicted = outcome.result(diff=True)
    assert api.member_batches == []
    outcome = converge(api, TEAMS, wanted, root="Org")
    result = outcome.result(diff=True)
    assert [(kind, len(items)) for kind, items in api.member_batches] == [("add", 5), ("remove", 10)]
    assert result == predicted
    assert sorted(result["members_removed"]) == ["Org/" + t for t in TEAMS[:5]]
    assert result["members_removed"]["Org/D0/T0"] == ["d0.t0.m0@example.com", "x@example.com"]
    assert result["members_added"]["Org/D0/T0"] == ["y@example.com"]
    for team, values in wanted.items():
        assert api.members_of("Org/" + team) == sorted(values)


def test_groups_not_named_keep_their_members(api):
    keep = api.add_path("Org/Keep")
    api.members[keep] = {"k@example.com"}
    converge(api, ["Keep", "Team"], {"Team": ["a@example.com"]}, root="Org")
    assert api.members[keep] == {"k@example.com"}
    assert api.member_reads == []


def test_member_writes_come_after_creates_and_before_deletes(api):
    api.add_path("Org/Old")
    converge(api, ["Team"], {"Team": ["a@example.com"]}, root="Org", purge=True)
    order = [c[0] for c in api.calls if c[0] != "find"]
    assert order == ["create", "delete"]
    assert api.member_batches == [("add", [(api.add_path("Org/Team"), "a@example.com")])]
    # the member add was sent between the two: its request came after the create's
    assert api.batches[0][0] == "create" and api.batches[-1][0] == "delete"


def test_a_dropped_member_batch_is_confirmed_per_group_and_only_the_rest_is_sent(api, recorder):
    api.member_drop = 1
    outcome = converge(api, TEAMS, team_members(), root="Org", batch_size=100)
    assert not outcome.failed
    # the lost answer was confirmed by reading each group of the batch once: nothing was sent twice
    assert [kind for kind, _items in api.member_batches] == ["add"]
    assert sorted(api.member_reads) == sorted(api.add_path("Org/" + t) for t in TEAMS)
    for team, values in team_members().items():
        assert api.members_of("Org/" + team) == sorted(values)
    assert any("Mimecast may still be running it" in w for w in recorder.warnings)


def test_a_refused_member_names_its_path_and_member_and_stops_the_deletes(api):
    api.add_path("Org/Old")
    api.member_refuse = {"bad@example.com": "err_validation_invalid_email_address"}
    outcome = converge(
        api, ["A", "B"], {"A": ["bad@example.com", "ok@example.com"], "B": ["b@example.com"]}, root="Org", purge=True
    )
    assert outcome.failed
    message = outcome.failure_message()
    assert "add member bad@example.com to 'Org/A': err_validation_invalid_email_address" in message
    assert "2 member(s) added, 0 removed" in message
    result = outcome.result()
    assert result["members_added"] == {"Org/A": ["ok@example.com"], "Org/B": ["b@example.com"]}
    assert result["skipped"] == ["Org/Old"]
    assert "Org/Old" in api.paths()


def test_after_an_unknown_member_write_the_member_writes_and_deletes_not_attempted_are_skipped(api):
    # Case 8: the first member add's connection breaks before it runs and no retry is left: its outcome is unknown;
    # the other groups' member writes and the purge's delete were never attempted and are listed under skipped.
    api.add_path("Org/Old")
    api.member_lost = 1
    api.client.max_retries = 0
    outcome = converge(
        api, ["A", "B"], {"A": ["a@example.com"], "B": ["b@example.com"]}, root="Org", purge=True, batch_size=1
    )
    assert outcome.failed
    result = outcome.result(diff=True)
    assert result["unknown"] == ["add member a@example.com to Org/A"]
    assert result["skipped"] == ["Org/B", "Org/Old"]
    assert result["created"] == ["Org/A", "Org/B"] and result["deleted"] == []
    assert "Org/B" not in result["diff"]["after"]["members"]
    assert [kind for kind, _items in api.member_batches] == ["lost"]
    assert "Org/Old" in api.paths()


def test_the_members_of_a_group_that_could_not_be_created_are_not_sent(api):
    api.refuse = {"Bad": "err_validation_blank"}
    outcome = converge(api, ["Bad", "Good"], {"Bad": ["a@example.com"], "Good": ["g@example.com"]}, root="Org")
    assert outcome.failed
    assert api.member_batches == [("add", [(api.add_path("Org/Good"), "g@example.com")])]
    assert outcome.result()["skipped"] == ["Org/Bad"]


def test_already_a_member_on_a_first_try_is_no_change_of_the_task_but_the_member_is_listed(api):
    # Someone else added the member between the task's read and its write: Mimecast answers "already a member".
    converge(api, ["A"], {"A": ["a@example.com"]}, root="Org")
    api.member_refuse = {"late@example.com": "err_folder_group_member_already_exists"}
    outcome = converge(api, ["A"], {"A": ["a@example.com", "late@example.com"]}, root="Org")
    assert not outcome.failed
    assert not outcome.changed
    result = outcome.result()
    assert result["members_added"] == {}
    assert [group["members"] for group in result["groups"] if group["path"] == "Org/A"] == [
        ["a@example.com", "late@example.com"]
    ]


# ---- values Mimecast holds that the member checks refuse ------------------------------------------

ODD = ["svc@mail_relay.example.com", "x" * 65 + "@example.com", "jurgen@münchen.de"]


def test_a_round_trip_keeps_odd_values_a_group_holds_and_warns_naming_them(api):
    api.members[api.add_path("Org/A")] = set(ODD + ["a@example.com"])
    outcome = converge(api, ["A"], {"A": ODD + ["a@example.com"]}, root="Org", purge=True)
    assert not outcome.changed and not outcome.failed and api.member_batches == [] and api.writes() == []
    warnings = outcome.members.warnings()
    assert len(warnings) == 1 and all(repr(value) in warnings[0] for value in ODD) and "'Org/A'" in warnings[0]
    assert outcome.result()["groups"][0]["members"] == sorted(ODD + ["a@example.com"])


def test_an_odd_value_to_add_is_refused_before_any_write_naming_group_and_value(api):
    api.members[api.add_path("Org/A")] = {ODD[0]}
    with pytest.raises(GroupError) as raised:
        converge(api, ["A", "New"], {"A": [ODD[0], ODD[1]], "New": [ODD[2]]}, root="Org")
    message = str(raised.value)
    assert "members of 'Org/A'" in message and repr(ODD[1]) in message
    assert "members of 'Org/New'" in message and repr(ODD[2]) in message
    assert api.writes() == [] and api.member_batches == []


def test_a_path_skipped_for_its_create_and_its_members_is_listed_once(api):
    # A's create is lost with no retry left (unknown); B's create, and both groups' members, were never attempted.
    api.add_path("Org")
    api.lost_request = 1
    api.client.max_retries = 0
    outcome = converge(api, ["A", "B"], {"A": ["a@example.com"], "B": ["b@example.com"]}, root="Org", batch_size=1)
    assert outcome.failed
    result = outcome.result()
    assert result["unknown"] == ["create Org/A"]
    assert sorted(result["skipped"]) == ["Org/A", "Org/B"]  # B's create and members, A's members: each path once
    assert len([action for action, path in outcome.skipped if path == ("Org", "B")]) == 2
