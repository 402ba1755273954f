# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Scripted stand-ins for the transport (http_transport.HttpSession) and its responses: unit tests only
(integration tests use the real simulator)."""

import base64
import json

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.plugins.module_utils.auth import ApiKeyAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient

SECRET_KEY = base64.b64encode(b"unit-test-secret-key").decode()
APP_KEY = "unit-test-app-key"
CLIENT_SECRET = "unit-test-client-secret"


def with_client(session, recorder):
    """Put a real MimecastClient on ``session`` (``session.client``), signing with the unit tests' API 1.0 keys,
    its warnings and sleeps recorded by ``recorder`` (conftest.py) instead of shown and slept; return ``session``."""
    session.client = MimecastClient(
        "https://api.example.test",
        ApiKeyAuth("unit-access-key", SECRET_KEY, "unit-app-id", APP_KEY),
        session=session,
        warn=recorder.warnings.append,
        sleep=recorder.sleeps.append,
    )
    return session


def response(status=200, body=None, headers=None, text=None, content_type="application/json"):
    """Build a real http_transport.HttpResponse."""
    content = (text if text is not None else json.dumps(body if body is not None else {})).encode("utf-8")
    return http_transport.HttpResponse(status, dict({"Content-Type": content_type}, **(headers or {})), content)


def envelope(data=None, fail=None, status=200, pagination=None):
    meta = {"status": status}
    if pagination is not None:
        meta["pagination"] = pagination
    return {"meta": meta, "data": data or [], "fail": fail or []}


class FakeSession:
    """Answers POSTs from a script of responses or exceptions, and records every request."""

    def __init__(self, script=None):
        self.script = list(script or [])
        self.requests = []
        self.headers = {}

    def post(self, url, **kwargs):
        self.requests.append(dict(kwargs, url=url))
        if not self.script:
            raise AssertionError("unexpected request to %s" % url)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def bodies(self):
        return [json.loads(r["data"]) if isinstance(r.get("data"), str) else r.get("data") for r in self.requests]
