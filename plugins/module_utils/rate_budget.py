# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A task's planned requests against Mimecast's rate limit: the estimate, and the warning before the first write
when it exceeds what the listing's answer left (``X-RateLimit-Remaining``). Internal use only: this API may
change without notice.

Only a warning: the task still runs, and a request over the limit waits as long as Mimecast asks (the one retry
loop, MimecastClient._exchange).
"""


def write_requests(items, batch_size):
    """How many requests ``items`` writes take in batches of ``batch_size``."""
    return -(-items // batch_size) if items > 0 else 0


def warn_over_budget(warn, remaining, limit, reads, writes):
    """Call ``warn`` with the estimate when ``reads`` + ``writes`` requests exceed ``remaining`` (the last
    ``X-RateLimit-Remaining`` the listing saw; None when no answer gave one: nothing is known, nothing is said).
    Return True when it warned."""
    planned = reads + writes
    if warn is None or remaining is None or planned <= remaining:
        return False
    warn(
        "Rate limit: this task plans %d more request(s) after the listing (%d read(s), %d write(s)), but "
        "Mimecast's answer to the listing left %d of %s in the current window (X-RateLimit-Remaining). It runs "
        "anyway: requests over the limit wait as long as Mimecast asks (429), so it takes longer."
        % (planned, reads, writes, remaining, "?" if limit is None else limit)
    )
    return True
