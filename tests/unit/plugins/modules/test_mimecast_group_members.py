# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mimecast_group with members: what the module reports when Mimecast refuses part of a member change."""

import json

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.tests.unit.plugins.modules.test_mimecast_group import API1, run_module

BASE_URL = "https://eu-api.mimecast.com"
STAFF = {"id": "g1", "description": "Staff", "parentId": "root", "source": "cloud", "folderCount": 0, "userCount": 0}


def scripted(monkeypatch, replies):
    sent = []

    def post(self, url, **kwargs):
        sent.append((url, json.loads(kwargs["data"])))
        reply = http_transport.HttpResponse()
        reply.status_code = 200
        reply.content = json.dumps(replies.pop(0)).encode()
        return reply

    monkeypatch.setattr(http_transport.HttpSession, "post", post)
    return sent


def envelope(data, fail=None, pagination=None):
    meta = {"status": 200}
    if pagination is not None:
        meta["pagination"] = pagination
    return {"meta": meta, "data": data, "fail": fail or []}


def test_a_member_refused_after_a_batch_went_through_fails_the_task_as_changed(capsys, monkeypatch):
    wanted = ["user%03d@example.com" % n for n in range(150)]
    refused = {"id": "g1", "emailAddress": "user120@example.com"}
    second_batch_ok = [{"emailAddress": v} for v in wanted[100:] if v != refused["emailAddress"]]
    sent = scripted(
        monkeypatch,
        [
            envelope([{"folders": [STAFF]}], pagination={}),  # userCount 0: its members are not read
            envelope([{"emailAddress": v} for v in wanted[:100]]),
            envelope(
                second_batch_ok,
                fail=[{"key": refused, "errors": [{"code": "err_validation_invalid_email_address", "message": "bad"}]}],
            ),
        ],
    )

    code, result = run_module(capsys, dict(API1, base_url=BASE_URL, name="Staff", members={"add": wanted}))

    assert code == 1 and result["failed"]
    assert result["changed"] is True  # 149 members were added before the task failed
    assert "user120@example.com: err_validation_invalid_email_address" in result["msg"]
    assert [len(body["data"]) for url, body in sent if url.endswith("add-group-member")] == [100, 50]
    assert not [url for url, _body in sent if url.endswith("get-group-members")]


def test_already_a_member_on_a_member_read_as_missing_is_done_but_not_a_change(capsys, monkeypatch):
    item = {"id": "g1", "domain": "partner.example"}
    scripted(
        monkeypatch,
        [
            envelope([{"folders": [STAFF]}], pagination={}),  # userCount 0: its members are not read
            envelope([], fail=[{"key": item, "errors": [{"code": "err_folder_group_member_already_exists"}]}]),
        ],
    )

    code, result = run_module(capsys, dict(API1, base_url=BASE_URL, name="Staff", members={"add": ["Partner.Example"]}))

    # Someone else added it since the read: the task succeeds, but its own write changed nothing.
    assert code == 0 and result["changed"] is False
    assert result["group"]["members"] == ["partner.example"]
