# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import multiprocessing
import os
import stat
import threading
import time

from ansible_collections.community.mimecast.plugins.plugin_utils.tenant_lock import lock_path, tenant_lock

KEY_A = "a" * 64
KEY_B = "b" * 64
# Long enough for a waiting thread or process to run on a loaded machine; short enough for a unit test.
SETTLE = 0.5


def hold_in_thread(path):
    """Take the lock in a thread; return (entered event, release event, thread)."""
    entered, release = threading.Event(), threading.Event()

    def holder():
        with tenant_lock(path):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    return entered, release, thread


def test_lock_file_is_private_and_named_by_the_key(tmp_path):
    path = lock_path(str(tmp_path), KEY_A)
    assert os.path.dirname(path) == str(tmp_path) and KEY_A in os.path.basename(path)
    with tenant_lock(path) as waited:
        assert waited >= 0
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def test_two_threads_with_one_key_take_turns(tmp_path):
    path = lock_path(str(tmp_path), KEY_A)
    first_in, release_first, first = hold_in_thread(path)
    assert first_in.wait(10)
    second_in, release_second, second = hold_in_thread(path)
    try:
        assert not second_in.wait(SETTLE), "the second thread entered while the first held the lock"
        release_first.set()
        assert second_in.wait(10), "the second thread never entered after the first released the lock"
    finally:
        release_first.set()
        release_second.set()
        first.join(10)
        second.join(10)


def test_two_threads_with_different_keys_do_not_wait(tmp_path):
    first_in, release_first, first = hold_in_thread(lock_path(str(tmp_path), KEY_A))
    assert first_in.wait(10)
    second_in, release_second, second = hold_in_thread(lock_path(str(tmp_path), KEY_B))
    try:
        assert second_in.wait(10), "a task of another tenant waited for this tenant's lock"
    finally:
        release_first.set()
        release_second.set()
        first.join(10)
        second.join(10)


def _lock_and_report(path, entered, go=None):
    if go is not None:
        go.wait(10)
    with tenant_lock(path):
        entered.set()


def _process_waits_for(held_path, wanted_path, while_held=SETTLE):
    """Hold held_path here for up to ``while_held`` seconds; return whether a child process locking wanted_path
    got in while it was held, whether it got in after the release, and its exit code.

    The child is forked before the lock is taken, as Ansible forks its workers from a process that holds
    none: a process forked while holding it would share the locked file and keep the lock held.
    """
    context = multiprocessing.get_context("fork")  # like Ansible's worker processes
    entered, go = context.Event(), context.Event()
    child = context.Process(target=_lock_and_report, args=(wanted_path, entered, go))
    child.start()
    try:
        with tenant_lock(held_path):
            go.set()
            entered_while_held = entered.wait(while_held)
        entered_after = entered.wait(10)
    finally:
        go.set()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join(10)
    return entered_while_held, entered_after, child.exitcode


def test_two_processes_with_one_key_take_turns(tmp_path):
    path = lock_path(str(tmp_path), KEY_A)
    assert _process_waits_for(path, path) == (False, True, 0)


def test_two_processes_with_different_keys_do_not_wait(tmp_path):
    # The lock stays held until the child got in (or 10 s passed): a loaded machine may be slow to run the child.
    held, wanted = lock_path(str(tmp_path), KEY_A), lock_path(str(tmp_path), KEY_B)
    assert _process_waits_for(held, wanted, while_held=10) == (True, True, 0)


def _hold_forever(path, ready):
    with tenant_lock(path):
        os.write(ready, b"x")
        time.sleep(60)


def test_a_killed_holder_releases_the_lock(tmp_path):
    path = lock_path(str(tmp_path), KEY_A)
    ready_read, ready_write = os.pipe()
    child = multiprocessing.get_context("fork").Process(target=_hold_forever, args=(path, ready_write))
    child.start()
    try:
        assert os.read(ready_read, 1) == b"x"  # the child holds the lock
        child.kill()
        child.join(10)
        got_in = threading.Event()
        waiter = threading.Thread(target=_lock_and_report, args=(path, got_in))
        waiter.start()
        assert got_in.wait(10), "the lock stayed held after its holder was killed"
        waiter.join(10)
    finally:
        if child.is_alive():
            child.kill()
        child.join(10)
        os.close(ready_read)
        os.close(ready_write)
