# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An in-memory group directory behind a stand-in for the transport (http_transport.HttpSession), so that unit
tests of the group flows run through the real MimecastClient (its write path and retry loop included). Unit tests only:
integration tests use the real simulator."""

import json

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import envelope, response

ROOT = "eNoROOT"


class DirectorySession:
    """Answers find-groups (paginated), create-group, update-group and delete-group like Mimecast does."""

    def __init__(self, page_size=2):
        self.records = []
        self.page_size = page_size
        self.calls = []  # (kind, name or id) per item of every request; ("find", query) per page
        self.headers = {}
        self.drop_after_next_write = False
        self.drop_before_next_write = False  # the connection breaks before the write arrives: it never runs
        self.refuse_next_write = False
        self.empty_next_create_reply = False
        self.drift_ids = False  # every listing shows other id strings for the same groups (old ones keep working)
        self.drift_root = False  # with drift_ids: the invisible root's id drifts too
        self.answers = 0
        self.not_found_ids = set()  # deletes of these ids are answered err_folder_not_found and not run
        self.before_write = None  # called with the write's number (1-based) as it arrives: another client at work
        self.write_requests = 0

    def add(self, name, parent=ROOT, source="cloud"):
        record = {
            "id": "eNo%d" % (len(self.records) + 1),
            "description": name,
            "parentId": parent,
            "source": source,
            "folderCount": 0,
            "userCount": 0,
        }
        self.records.append(record)
        return record["id"]

    def has(self, group_id):
        return any(r["id"] == group_id for r in self.records)

    def remove(self, group_id):
        """Delete a group as another client would."""
        self.records.remove(self.record(group_id))

    def record(self, group_id):
        return next(r for r in self.records if r["id"] == group_id)

    def post(self, url, data=None, **kwargs):
        body = json.loads(data)
        kind = url.rsplit("/", 1)[-1].split("-")[0]  # find, create, update or delete
        if kind == "find":
            return self._find(body)
        self.write_requests += 1
        if self.drop_before_next_write:
            self.drop_before_next_write = False
            raise http_transport.ConnectionDropped("connection reset by peer")
        if self.before_write is not None:
            self.before_write(self.write_requests)
        answers, fails = [], []
        for sent in body["data"]:
            item = dict(sent, **dict((k, self.canonical(sent[k])) for k in ("id", "parentId") if sent.get(k)))
            self.calls.append((kind, item.get("description", item.get("id"))))
            if kind == "delete" and (item["id"] in self.not_found_ids or not self.has(item["id"])):
                fails.append({"key": sent, "errors": [{"code": "err_folder_not_found", "message": "not found"}]})
                continue
            if self.refuse_next_write:
                self.refuse_next_write = False
                fails.append({"key": item, "errors": [{"code": "err_validation_blank", "message": "refused"}]})
                continue
            answers.append(getattr(self, "_" + kind)(item))
        if self.drop_after_next_write:
            self.drop_after_next_write = False
            raise http_transport.ConnectionDropped("connection reset by peer")
        if kind == "create" and self.empty_next_create_reply:
            self.empty_next_create_reply = False
            answers = []
        return response(body=envelope(answers, fail=fails))

    def _find(self, body):
        query = body["data"][0].get("query", "").lower()
        found = [r for r in self.records if query in r["description"].lower()]
        offset = int((body.get("meta") or {}).get("pagination", {}).get("pageToken") or 0)
        self.calls.append(("find", query))
        self.answers += offset == 0  # one listing, every page: the same id strings
        page = [self.shown(r) for r in found[offset : offset + self.page_size]]
        more = offset + self.page_size < len(found)
        pagination = {"next": str(offset + self.page_size)} if more else {}
        return response(body=envelope([{"folders": page}], pagination=pagination))

    def canonical(self, group_id):
        return group_id.split("~")[0]

    def searches(self):
        """The queries of the name searches sent (one entry a page), the listing's pages left out."""
        return [c[1] for c in self.calls if c[0] == "find" and c[1]]

    def listings(self):
        """How many pages of the full listing were read."""
        return len([c for c in self.calls if c == ("find", "")])

    def shown(self, record):
        """A record as one answer shows it: with drifting ids, each answer has its own id strings."""
        if not self.drift_ids:
            return record
        drift = dict(
            (k, "%s~%d" % (record[k], self.answers)) for k in ("id", "parentId") if record[k] != ROOT or self.drift_root
        )
        return dict(record, **drift)

    def _create(self, item):
        self.add(item["description"], item.get("parentId", ROOT))
        return dict(self.records[-1])

    def _update(self, item):
        record = self.record(item["id"])
        record["description"] = item.get("description", record["description"])
        record["parentId"] = item.get("parentId", record["parentId"])
        return {"id": record["id"], "description": record["description"], "parentId": record["parentId"]}

    def _delete(self, item):
        self.records.remove(self.record(item["id"]))
        return {"id": item["id"]}

    def writes(self):
        return [c for c in self.calls if c[0] != "find"]
