# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""No silent duplicate: a create sent again after a try whose outcome was unknown, whose first try lands after the
resend was answered (issue 28, case 4), through the real MimecastClient and GroupDirectory."""

import json

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.group_api import DuplicateCreated, GroupDirectory
from ansible_collections.community.mimecast.plugins.module_utils.group_flows import ensure_present
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import OutcomeUnknown
from ansible_collections.community.mimecast.plugins.module_utils.tree_apply import converge_tree
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import parse_request
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.directory_fake import (
    ROOT,
    DirectorySession,
)
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import with_client


class LateSession(DirectorySession):
    """The next create is dropped before it runs, and its items land once the client has slept ``land_after``
    seconds in all: Mimecast was still running it when its connection was closed."""

    def __init__(self, recorder):
        super().__init__(page_size=100)
        self.recorder = recorder
        self.late = []  # items of the dropped create, waiting to land
        self.land_after = None
        self.drop_next_create = False

    def post(self, url, data=None, **kwargs):
        self._land()
        if url.endswith("/create-group") and self.drop_next_create:
            self.drop_next_create = False
            self.late = list(json.loads(data)["data"])
            self.calls.extend(("create", item["description"]) for item in self.late)
            raise http_transport.ConnectionDropped("connection reset by peer")
        return super().post(url, data=data, **kwargs)

    def _land(self):
        if self.late and sum(self.recorder.sleeps) >= self.land_after:
            for item in self.late:
                item = dict(item, **({"parentId": self.canonical(item["parentId"])} if item.get("parentId") else {}))
                self._create(item)
            self.late = []


@pytest.fixture
def api(recorder):
    session = LateSession(recorder)
    return with_client(session, recorder)


def named(api, name):
    return [r for r in api.records if r["description"] == name]


def lands_after_the_resend(api, client_timeout=30):
    """The first try lands after the settle window of its failure (2 x timeout) has passed and the resend was
    answered, but before the read one more window later."""
    api.drop_next_create = True
    api.land_after = 2 * client_timeout + 1


def test_a_first_try_landing_after_the_resend_is_found_and_its_duplicate_removed(api, recorder):
    lands_after_the_resend(api)
    directory = GroupDirectory(api.client, warn=recorder.warnings.append, locked=True)
    changed, _before, after = ensure_present(directory, "Finance")
    assert changed and after["name"] == "Finance"
    kept = named(api, "Finance")
    assert [r["id"] for r in kept] == [after["id"]]  # the group the answer gave is kept, the late one removed
    assert [c[0] for c in api.writes()] == ["create", "create", "delete"]
    assert sum(recorder.sleeps) >= 4 * 30  # the window before the resend, and one more before the last read
    removed = [w for w in recorder.warnings if "removed the duplicate" in w]
    assert len(removed) == 1 and after["id"] in removed[0]


def test_without_the_tenant_lock_a_late_duplicate_is_named_not_removed(api, recorder):
    # Only the lock proves that an empty group of that name was made by this task, not by another task or client.
    lands_after_the_resend(api)
    with pytest.raises(DuplicateCreated) as info:
        ensure_present(GroupDirectory(api.client, warn=recorder.warnings.append), "Finance")
    ids = [r["id"] for r in named(api, "Finance")]
    assert len(ids) == 2 and all(i in info.value.message for i in ids) and "lock" in info.value.message
    assert info.value.details()["changed"] is True
    assert [c[0] for c in api.writes()] == ["create", "create"]  # nothing deleted
    assert not [w for w in recorder.warnings if "removed the duplicate" in w]


def test_with_no_retry_left_the_late_create_is_unknown_and_named(api, recorder):
    lands_after_the_resend(api)
    api.client.max_retries = 0
    with pytest.raises(OutcomeUnknown) as info:
        ensure_present(GroupDirectory(api.client), "Finance")
    assert info.value.unknown == ["create Finance"]
    assert [c[0] for c in api.writes()] == ["create"]  # never sent again


def test_a_second_group_this_task_cannot_have_made_fails_naming_both_ids(api, recorder):
    lands_after_the_resend(api)
    original_land = api._land

    def land_with_a_member():
        late = bool(api.late)
        original_land()
        if late and not api.late:
            named(api, "Finance")[-1]["userCount"] = 1  # someone added a member to the late group

    api._land = land_with_a_member
    with pytest.raises(DuplicateCreated) as info:
        ensure_present(GroupDirectory(api.client, warn=recorder.warnings.append), "Finance")
    ids = [r["id"] for r in named(api, "Finance")]
    assert len(ids) == 2 and all(i in info.value.message for i in ids)
    assert info.value.details()["changed"] is True
    assert [c[0] for c in api.writes()] == ["create", "create"]  # nothing deleted
    assert not [w for w in recorder.warnings if "removed the duplicate" in w]


def test_a_first_try_found_within_the_window_costs_no_extra_read(api, recorder):
    api.drop_next_create = True
    api.land_after = 0.5  # lands before the read at half the window
    changed, _before, after = ensure_present(GroupDirectory(api.client), "Finance")
    assert changed and len(named(api, "Finance")) == 1
    assert [c[0] for c in api.writes()] == ["create"]
    assert sum(recorder.sleeps) < 2 * 30  # neither resent nor checked again


def test_a_tree_batch_removes_each_late_duplicate_in_one_delete_and_its_children_use_the_kept_ids(api, recorder):
    lands_after_the_resend(api)
    root_path, entries = parse_request(["A", "B"], "Org")
    outcome = converge_tree(GroupDirectory(api.client, warn=recorder.warnings.append, locked=True), entries, root_path)
    assert not outcome.failed, outcome.failure_message()
    org = named(api, "Org")
    assert len(org) == 1
    assert sorted(r["description"] for r in api.records if r["parentId"] == org[0]["id"]) == ["A", "B"]
    assert [r["parentId"] for r in org] == [ROOT]
    assert [c[0] for c in api.writes()] == ["create", "create", "delete", "create", "create"]
    assert len([w for w in recorder.warnings if "removed the duplicate" in w]) == 1


def test_a_tree_whose_late_duplicate_is_not_its_own_fails_naming_both_ids_and_keeps_what_it_created(api, recorder):
    lands_after_the_resend(api)
    original_land = api._land

    def land_with_a_member():
        late = bool(api.late)
        original_land()
        if late and not api.late:
            named(api, "Org")[-1]["userCount"] = 1  # someone added a member to the late group

    api._land = land_with_a_member
    root_path, entries = parse_request(["A", "B"], "Org")
    outcome = converge_tree(GroupDirectory(api.client, warn=recorder.warnings.append), entries, root_path)
    assert outcome.failed and outcome.changed
    ids = [r["id"] for r in named(api, "Org")]
    assert len(ids) == 2 and all(i in outcome.failure_message() for i in ids)
    assert outcome.result()["created"] == ["Org"]  # the create was done; nothing under it was sent
    assert [c[0] for c in api.writes()] == ["create", "create"]  # nothing deleted
