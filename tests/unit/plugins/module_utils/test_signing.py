# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import re

import pytest

from ansible_collections.community.mimecast.plugins.module_utils import signing


def test_sign_matches_mimecast_known_answer():
    secret_key = base64.b64encode(b"SecretKey").decode()
    signature = signing.sign(
        secret_key,
        "ApplicationKey",
        "Sun, 21 Aug 2022 13:49:40 UTC",
        "3d796b76-4180-40e5-8f7c-6e0fd643b1a9",
        "/api/test/some-url",
    )
    assert signing.authorization_header("AccessKey", signature) == "MC AccessKey:WOywLsnZlsE+D6bp/ug6uch5kxc="


def test_sign_depends_on_every_input():
    secret_key = base64.b64encode(b"SecretKey").decode()
    args = ["ApplicationKey", "Sun, 21 Aug 2022 13:49:40 UTC", "id-1", "/api/a"]
    base = signing.sign(secret_key, *args)
    for index in range(len(args)):
        changed = list(args)
        changed[index] += "x"
        assert signing.sign(secret_key, *changed) != base
    assert signing.sign(base64.b64encode(b"OtherKey").decode(), *args) != base


def test_mimecast_date_is_utc_in_mimecast_format():
    assert signing.mimecast_date(0) == "Thu, 01 Jan 1970 00:00:00 UTC"
    assert re.match(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$", signing.mimecast_date())


@pytest.mark.parametrize("bad", ["not base64!", "abc", "", "é"])
def test_secret_key_that_is_not_base64_is_refused_without_echoing_it(bad):
    with pytest.raises(ValueError) as info:
        signing.sign(bad, "k", "d", "r", "/p")
    assert "secret_key" in str(info.value)
    if bad:
        assert bad not in str(info.value)
