# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a request to Mimecast came to: the failure every module reports (:class:`MimecastError`), the outcome of
each item of a write (:class:`ItemResult`: done, refused or unknown) and the failures that carry them. No I/O.
Internal use only: this API may change without notice.
"""

# How many unknown items a message names before it says "and N more".
NAMED_LIMIT = 10

# The outcome of one item of a write.
DONE = "done"
REFUSED = "refused"
UNKNOWN = "unknown"
# What an operation of the write engine (write_engine.py) came to, beside those (and group_api's ALREADY_ABSENT,
# carried as it is): the wanted state held already, made by someone else (an "already a member" answer to a first
# try);
HELD = "held"
# refused with the whole request (a rate limit past max_retries, an HTTP 403): Mimecast said it was not done.
NOT_DONE = "not_done"


class MimecastError(Exception):
    """A failure talking to Mimecast, with a message fit for users and no secret in it.

    ``uncertain`` is true when a write may or may not have been executed (the connection dropped, the
    request timed out, or the server failed part-way): callers must look the object up before retrying.
    ``still_running`` is true when Mimecast may still be working on it: every failure after the request may
    have reached Mimecast (it defaults to ``uncertain``); a write is then confirmed over a settle window before
    it is sent again. Only a 429 and failures before sending (a connect failure or connect timeout) have none.
    """

    def __init__(
        self,
        message,
        status=None,
        code=None,
        errors=None,
        retryable=False,
        uncertain=False,
        wait_hint=None,
        still_running=None,
        request=None,
    ):
        super().__init__(message)
        self.request = request  # the path of the request that failed, when it is not the call's own (the token)
        self.message = message
        self.status = status
        self.code = code
        self.errors = errors or []
        self.retryable = retryable
        self.uncertain = uncertain
        self.wait_hint = wait_hint  # seconds the server asked to wait before a retry, when it said
        self.still_running = uncertain if still_running is None else still_running

    def details(self):
        """Return the facts worth adding to a failed task's result."""
        details = {}
        if self.status is not None:
            details["http_status"] = self.status
        if self.code:
            details["error_code"] = self.code
        if self.errors:
            details["errors"] = self.errors
        return details


def describe_errors(errors):
    """Mimecast's codes and messages of ``errors``, as one line."""
    return "; ".join("%s: %s" % (e.get("code") or "error", e.get("message") or "no message") for e in errors)


class ItemResult:
    """The outcome of one ``data`` item of a write, one of three:

    * ``done``: Mimecast did it; ``record`` is its answer for the item (or what a confirming read found);
    * ``refused``: Mimecast said it did not do it; ``errors`` holds its codes and messages;
    * ``unknown``: nobody can tell (the request may or may not have run, and no read could confirm it).

    ``resent`` is true when the item was sent again after a try whose outcome was unknown: an answer such as
    "already a member" may then be that earlier try's own effect.
    """

    def __init__(self, item, record=None, errors=None, state=None, resent=False):
        self.item = item
        self.record = record
        self.errors = errors or []
        self.state = state or (REFUSED if self.errors else DONE)
        self.resent = resent

    @property
    def ok(self):
        """True when the item is done."""
        return self.state == DONE

    @property
    def unknown(self):
        """True when nobody can tell whether the item was done."""
        return self.state == UNKNOWN

    @property
    def codes(self):
        """The error codes Mimecast gave for the item."""
        return set(e.get("code") for e in self.errors)

    def error(self, path):
        """A :class:`MimecastError` for a refused item, with Mimecast's codes and messages."""
        return MimecastError(
            "Mimecast refused %s: %s" % (path, describe_errors(self.errors) or "no error given"),
            code=self.errors[0].get("code") if self.errors else None,
            errors=self.errors,
        )

    def __repr__(self):
        return "ItemResult(%r, %s, record=%r, errors=%r)" % (self.item, self.state, self.record, self.errors)


class WriteError(MimecastError):
    """A write request that failed whole (or whose confirmation failed) before every item's outcome was known.

    ``results`` has an :class:`ItemResult` for every item of the write, in order: the items done or refused in
    earlier rounds keep their outcome; the others are ``refused`` when Mimecast said the request did not run
    (a rate limit, a refused request) or when the write was not sent at all (its token request failed), and
    ``unknown`` otherwise. ``cause`` is the failure; the message, status, codes and ``request`` are its own.
    """

    def __init__(self, cause, results):
        super().__init__(
            cause.message,
            status=cause.status,
            code=cause.code,
            errors=cause.errors,
            uncertain=any(result.unknown for result in results),
            request=cause.request,
        )
        self.cause = cause
        self.results = results


class OutcomeUnknown(MimecastError):
    """Writes of a task whose outcome stayed unknown once ``max_retries`` was used up.

    ``unknown`` names each such write (``create Departments/EMEA``, ``add jane@example.com``): the task fails,
    lists them under the result key ``unknown``, and reports ``changed`` since they may have been carried out.
    """

    def __init__(self, unknown, cause):
        super().__init__(
            unknown_outcome_message(unknown, cause),
            status=cause.status,
            code=cause.code,
            errors=cause.errors,
            uncertain=True,
        )
        self.unknown = list(unknown)

    def details(self):
        details = super().details()
        details.update(changed=True, unknown=list(self.unknown))
        return details


class PageLimit(Exception):
    """A paginated read would need more pages than its caller allowed (``paginate(max_pages=...)``)."""


def unknown_outcome_message(unknown, cause=None):
    """The one wording of an unknown outcome: what it concerns, why, and that a re-run converges."""
    named = ", ".join(unknown[:NAMED_LIMIT])
    if len(unknown) > NAMED_LIMIT:
        named += " and %d more" % (len(unknown) - NAMED_LIMIT)
    message = "The outcome of %d write(s) is unknown: %s" % (len(unknown), named)
    if cause is not None:
        message += " (after: %s)" % cause.message
    return (
        message + ". Mimecast may or may not have carried them out, and they were not sent again (see unknown). "
        "Re-run the task: it reads the directory before it writes, so it converges without duplicates"
    )
