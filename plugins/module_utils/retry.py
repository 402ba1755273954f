# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Retry timing for the Mimecast client. Internal use only: this API may change without notice."""

import random

# Never sleep longer than this for one retry, whatever the server asks: a task that hangs for
# minutes is worse than a clear failure the user can re-run.
MAX_DELAY = 60.0


class Backoff:
    """Jittered exponential delays, optionally overridden by the server's own wait hint.

    ``delay(attempt, hint)`` returns the seconds to wait before retry number ``attempt`` (1-based).
    A server hint (``X-RateLimit-Reset`` or ``Retry-After``, in seconds) wins over the exponential
    schedule; a little jitter is added either way so parallel tasks do not retry in lockstep.
    """

    def __init__(self, base=0.5, cap=MAX_DELAY, rng=None):
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random()

    def delay(self, attempt, hint=None):
        if hint is not None and hint >= 0:
            return min(self.cap, hint + self.rng.uniform(0, min(1.0, 0.1 + hint * 0.1)))
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        # "Full jitter": anywhere between half the ceiling and the ceiling.
        return self.rng.uniform(ceiling / 2, ceiling)


def header(headers, name):
    """Return a response header by name, compared case-insensitively, or None."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def server_wait_hint(headers):
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds) or ``X-RateLimit-Reset`` (ms)."""
    retry_after = header(headers, "Retry-After")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass  # An HTTP date: rare here; fall through to the Mimecast header.
    reset = header(headers, "X-RateLimit-Reset")
    if reset is not None:
        try:
            return max(0.0, float(reset) / 1000.0)
        except ValueError:
            return None
    return None
