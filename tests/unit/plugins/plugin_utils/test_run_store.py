# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import os
import stat
import threading

import pytest

from ansible_collections.community.mimecast.plugins.plugin_utils.run_store import RunStore

KEY = "ab" * 32


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_fact_is_kept_in_a_private_file_and_read_back(tmp_path):
    store = RunStore(str(tmp_path))
    store.put(KEY, "token", "value-1", expires_in=600)
    assert store.get(KEY, "token") == "value-1"
    assert stat.S_IMODE(os.stat(store.path(KEY, "token")).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == [os.path.basename(store.path(KEY, "token"))]  # no temporary file left


def test_absent_and_unreadable_facts_are_none(tmp_path):
    store = RunStore(str(tmp_path))
    assert store.get(KEY, "token") is None
    with open(store.path(KEY, "token"), "w") as stream:
        stream.write("{not json")
    assert store.get(KEY, "token") is None


def test_a_fact_close_to_its_expiry_is_not_returned(tmp_path):
    clock = Clock()
    store = RunStore(str(tmp_path), clock=clock)
    store.put(KEY, "token", "value-1", expires_in=1800)
    clock.now += 1800 - 301
    assert store.get(KEY, "token", min_left=300) == "value-1"
    clock.now += 2
    assert store.get(KEY, "token", min_left=300) is None
    assert store.get(KEY, "token") == "value-1"


def test_facts_without_expiry_last_the_run_and_facts_are_separate(tmp_path):
    store = RunStore(str(tmp_path))
    store.put(KEY, "root_id", "root-1")
    store.put(KEY, "token", "value-1", expires_in=60)
    store.put("cd" * 32, "token", "value-2", expires_in=60)
    assert (store.get(KEY, "root_id"), store.get(KEY, "token"), store.get("cd" * 32, "token")) == (
        "root-1",
        "value-1",
        "value-2",
    )
    store.forget(KEY, "token")
    assert store.get(KEY, "token") is None and store.get(KEY, "root_id") == "root-1"


@pytest.mark.parametrize("key,name", [("../etc", "token"), (KEY, "../x"), (KEY, "Token"), ("", "token")])
def test_keys_and_names_cannot_leave_the_directory(tmp_path, key, name):
    with pytest.raises(ValueError):
        RunStore(str(tmp_path)).path(key, name)


def test_concurrent_writers_never_leave_a_torn_fact(tmp_path):
    store = RunStore(str(tmp_path))
    values = ["v%d-" % i + "x" * 5000 for i in range(8)]
    seen = []

    def write(value):
        for written in [value] * 50:
            store.put(KEY, "token", written, expires_in=600)
            seen.append(store.get(KEY, "token"))

    threads = [threading.Thread(target=write, args=(value,)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen) <= set(values) and None not in seen
    assert [name for name in os.listdir(str(tmp_path)) if name.endswith(".tmp")] == []
