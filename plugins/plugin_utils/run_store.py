# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What one ansible-playbook run remembers per tenant between its tasks, on the controller: the one place for
per-tenant, per-run facts (the API 2.0 token today; any fact a later task of the run may reuse). Controller only.
Internal use only: this API may change without notice.

Each fact is a small JSON file ``community.mimecast-run-<key>-<name>.json`` in the run's own local temporary
directory (``C.DEFAULT_LOCAL_TMP``: ``ansible-local-<pid>...`` under ``local_tmp``, created 0700 for this run
and removed by Ansible when the run ends; forked workers share it). A file is written to a private temporary
name (mode 0600) and renamed over the old one, so a reader sees a whole fact or none, and concurrent forks never
mix two writes; one fact per file, so writers of different facts never overwrite each other. A fact carries its
own expiry (wall-clock seconds) and is not returned once that has passed.
"""

import json
import os
import re
import tempfile
import time

FILE_PREFIX = "community.mimecast-run-"
_NAME = re.compile(r"^[a-z0-9_]+$")
_KEY = re.compile(r"^[0-9a-f]{16,128}$")


class RunStore:
    """Per-tenant facts of one run, in ``directory`` (the run's local temporary directory)."""

    def __init__(self, directory, clock=time.time):
        self.directory = directory
        self._clock = clock

    def path(self, key, name):
        """The file of fact ``name`` of ``key`` (a hex digest such as credentials.tenant_key)."""
        if not _KEY.match(key) or not _NAME.match(name):
            raise ValueError("run store keys are hex digests and names lower-case words")
        return os.path.join(self.directory, "%s%s-%s.json" % (FILE_PREFIX, key, name))

    def get(self, key, name, min_left=0):
        """Return the value of a fact, or None when it is absent, unreadable, or has less than ``min_left``
        seconds before its expiry."""
        try:
            with open(self.path(key, name), encoding="utf-8") as stream:
                entry = json.load(stream)
            expires_at = entry.get("expires_at")
            if expires_at is not None and float(expires_at) - self._clock() < min_left:
                return None
            return entry["value"]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None  # never written, or not by us: as if absent

    def put(self, key, name, value, expires_in=None):
        """Keep ``value`` (JSON-serialisable) as fact ``name`` of ``key``, for ``expires_in`` seconds or the run."""
        entry = {"value": value}
        if expires_in is not None:
            entry["expires_at"] = self._clock() + expires_in
        target = self.path(key, name)
        # mkstemp creates the file 0600, in the same directory so the rename is atomic.
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".%s" % FILE_PREFIX, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(entry, stream)
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def forget(self, key, name):
        """Remove a fact; no error when it is absent."""
        try:
            os.unlink(self.path(key, name))
        except OSError:
            pass
