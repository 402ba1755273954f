# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.community.mimecast.plugins.module_utils.token_seal import seal, unseal

SECRET = "client-secret-1"
TOKEN = "eyJ0b2tlbi12YWx1ZS0xMjM0NTY3ODkwYWJjZGVmZ2hpams" * 3


def test_round_trip_and_a_fresh_nonce_each_time():
    first, second = seal(SECRET, TOKEN), seal(SECRET, TOKEN)
    assert unseal(SECRET, first) == TOKEN and unseal(SECRET, second) == TOKEN
    assert first != second


def test_the_sealed_text_does_not_carry_the_token_or_a_part_of_it():
    sealed = seal(SECRET, TOKEN)
    assert not any(TOKEN[i : i + 8] in sealed for i in range(len(TOKEN) - 8))


def test_another_secret_cannot_open_it():
    with pytest.raises(ValueError, match="does not match"):
        unseal("client-secret-2", seal(SECRET, TOKEN))


@pytest.mark.parametrize("position", [0, 20, 60, -1])
def test_a_changed_character_is_refused(position):
    sealed = list(seal(SECRET, TOKEN))
    sealed[position] = "A" if sealed[position] != "A" else "B"
    with pytest.raises(ValueError):
        unseal(SECRET, "".join(sealed))


@pytest.mark.parametrize("value", ["", "short", "not base64 !", None, 12])
def test_garbage_is_refused(value):
    with pytest.raises(ValueError):
        unseal(SECRET, value)
