# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A tree task whose planned requests exceed what the listing's answer left of the rate limit warns, with the
estimate, before its first write, and still runs."""

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.group_api import GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.rate_budget import warn_over_budget, write_requests
from ansible_collections.community.mimecast.plugins.module_utils.tree_apply import converge_tree
from ansible_collections.community.mimecast.plugins.module_utils.tree_members import parse_members
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import parse_request
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import with_client
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.test_tree_members import (
    MemberTreeSession,
)

TWELVE = ["G%02d" % n for n in range(12)]


class RatedSession(MemberTreeSession):
    """Every answer carries X-RateLimit-Limit and -Remaining, counting down from ``remaining`` (None: no header)."""

    def __init__(self, remaining, limit=100):
        super().__init__()
        self.remaining = remaining
        self.limit = limit

    def post(self, url, data=None, **kwargs):
        reply = super().post(url, data=data, **kwargs)
        if self.remaining is not None:
            self.remaining = max(self.remaining - 1, 0)
            reply.headers["X-RateLimit-Limit"] = str(self.limit)
            reply.headers["X-RateLimit-Remaining"] = str(self.remaining)
        return reply


def converge(recorder, remaining, groups, members=None, **options):
    api = with_client(RatedSession(remaining), recorder)
    for path in ("Org/D0/T0", "Org/D0/T1"):
        api.members[api.add_path(path)] = {"old@example.com"}
    root_path, entries = parse_request(groups, "Org")
    warned = []

    def warn(message):
        warned.append((message, list(api.batches)))  # what had been written when it warned

    wanted = parse_members(members, entries) if members is not None else None
    outcome = converge_tree(GroupDirectory(api.client), entries, root_path, members=wanted, warn=warn, **options)
    return api, outcome, warned


def test_a_plan_over_the_remaining_budget_warns_with_the_estimate_before_any_write(recorder):
    api, outcome, warned = converge(recorder, 10, ["D0/T0", "D0/T1"] + TWELVE, batch_size=1)
    assert len(warned) == 1
    message, written = warned[0]
    assert written == []  # before the first write
    assert "plans 12 more request(s) after the listing (0 read(s), 12 write(s))" in message
    assert "left 9 of 100" in message
    assert not outcome.failed and len(outcome.created) == 12  # it still runs


def test_member_reads_and_writes_count_in_the_estimate(recorder):
    members = {"D0/T0": ["new@example.com"], "D0/T1": ["new@example.com"]}
    api, outcome, warned = converge(recorder, 4, ["D0/T0", "D0/T1"], members=members, batch_size=1)
    message, written = warned[0]
    assert written == []
    # two member reads (both teams hold a member), then 2 adds and 2 removes of one item each
    assert "plans 6 more request(s) after the listing (2 read(s), 4 write(s))" in message and "left 3 of" in message


@pytest.mark.parametrize("remaining,check_mode", [(200, False), (None, False), (5, True)])
def test_no_warning_within_the_budget_without_figures_or_in_check_mode(recorder, remaining, check_mode):
    _api, _outcome, warned = converge(recorder, remaining, TWELVE, batch_size=1, check_mode=check_mode)
    assert warned == []


def test_write_requests_and_the_warning_itself():
    assert [write_requests(n, 100) for n in (0, 1, 100, 101)] == [0, 1, 1, 2]
    said = []
    assert not warn_over_budget(said.append, 5, 10, 2, 3) and said == []
    assert warn_over_budget(said.append, 4, None, 2, 3) and "left 4 of ?" in said[0]
    assert not warn_over_budget(None, 0, 10, 2, 3)
