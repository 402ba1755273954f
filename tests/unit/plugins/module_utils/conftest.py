# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.auth import ApiKeyAuth, ClientCredentialsAuth
from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastClient
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import (
    APP_KEY,
    CLIENT_SECRET,
    SECRET_KEY,
    FakeSession,
)


class Recorder:
    def __init__(self):
        self.secrets = set()
        self.warnings = []
        self.sleeps = []


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def make_client(recorder):
    """make_client(script, kind='api1', **options) -> (client, session)."""

    def factory(script=None, kind="api1", **options):
        session = FakeSession(script)
        if kind == "api1":
            auth = ApiKeyAuth("unit-access-key", SECRET_KEY, "unit-app-id", APP_KEY)
        else:
            auth = ClientCredentialsAuth("unit-client-id", CLIENT_SECRET)
        options.setdefault("max_retries", 3)
        client = MimecastClient(
            "https://api.example.test",
            auth,
            session=session,
            register_secret=recorder.secrets.add,
            warn=recorder.warnings.append,
            sleep=recorder.sleeps.append,
            **options,
        )
        return client, session

    return factory
