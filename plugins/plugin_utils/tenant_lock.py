# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's per-tenant lock: one writing task at a time per Mimecast tenant, across the forks of one
ansible-playbook run and across runs of the same user on the same controller. Controller only (``fcntl``).
Internal use only: this API may change without notice.
"""

import contextlib
import fcntl
import os
import time

LOCK_FILE_PREFIX = "community.mimecast-tenant-"


def lock_path(directory, key):
    """Return the path of the lock file of tenant ``key`` (a hex digest, see credentials.tenant_key)."""
    return os.path.join(directory, "%s%s.lock" % (LOCK_FILE_PREFIX, key))


@contextlib.contextmanager
def tenant_lock(path):
    """Hold an exclusive ``flock`` on ``path`` for the ``with`` block; yield the seconds spent waiting for it.

    ``flock`` (not ``lockf``) because its locks belong to the open file, so two threads of one process
    exclude each other too, and the kernel releases the lock when the holder exits, even killed. The file is
    created empty (mode 0600) and never removed: unlinking a lock file races with a process that has just
    opened it and would then lock a different file than the next one. The descriptor is close-on-exec, so
    the module's process does not inherit it; a process forked (without exec) inside the block would share
    the locked file and keep the lock until it exits.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = time.monotonic()
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield time.monotonic() - started
    finally:
        os.close(fd)  # closing the only descriptor of this open file releases the lock
