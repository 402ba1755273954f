# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Mimecast API client: one session to one API host, the one place requests are sent and counted, the one retry
loop, settle windows, and calls, writes with per-item outcomes, and pagination over them. Internal use only: this
API may change without notice.

What it builds on lives beside it, a concern a file: the outcome model (outcomes.py), both authentication kinds
(auth.py, with signing.py and token_seal.py), the reading of answers and failures (replies.py) and the HTTP
transport (http_transport.py).
"""

import json
import time

from ansible_collections.community.mimecast.plugins.module_utils.http_transport import HttpSession, TransportError
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    REFUSED,
    UNKNOWN,
    ItemResult,
    MimecastError,
    PageLimit,
    WriteError,
)
from ansible_collections.community.mimecast.plugins.module_utils.replies import TOKEN_PATH, Replies, errors_of
from ansible_collections.community.mimecast.plugins.module_utils.retry import Backoff

MAX_PAGE_SIZE = 100
# After any failure that may have reached Mimecast (a read timeout, a dropped or reset connection, a 5xx, a gateway
# page), a write is confirmed by reads spread over a settle window of this many times ``timeout`` after the
# failure, and sent again only if it is still absent after the window: a proxy that closed the connection, or a
# 503, says nothing about whether Mimecast is still working on it.
SETTLE_WINDOW_FACTOR = 2


class MimecastClient:
    """One session to one Mimecast API host, with one authentication, shared by every module.

    ``register_secret`` is called with every value derived from a secret (signatures, Authorization
    header values, bearer tokens) so the caller can keep them out of all output; ``warn`` receives a
    line for every retry.
    """

    def __init__(
        self,
        base_url,
        auth,
        validate_certs=True,
        ca_path=None,
        timeout=30,
        proxy=None,
        max_retries=3,
        register_secret=None,
        warn=None,
        backoff=None,
        sleep=time.sleep,
        session=None,
    ):
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.max_retries = max_retries
        self._register_secret = register_secret
        self._warn = warn
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._secrets = set()
        self._sent = {}  # path -> requests sent (token requests included), counted in _http only
        self._rate = {}  # the last X-RateLimit-Limit and -Remaining seen, as limit and remaining
        self._replies = Replies(self)
        if session is None:
            session = HttpSession(timeout, validate_certs=validate_certs, ca_path=ca_path, proxy=proxy)
            session.proxy_for(self.base_url)  # a proxy that cannot be used is refused before any request
        self.session = session
        self.session.headers.update({"Accept": "application/json", "User-Agent": "community.mimecast"})
        for secret in getattr(session, "secrets", ()):
            self.register_secret(secret)  # the proxy's password, and the Proxy-Authorization made from it

    # -- secrets -----------------------------------------------------------------------------------

    def register_secret(self, value):
        """Remember a secret-derived value; it is redacted from every message this client builds."""
        if value:
            self._secrets.add(value)
            if self._register_secret:
                self._register_secret(value)

    def redact(self, text):
        """Return ``text`` with every known secret-derived value replaced."""
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(value, "********")
        return text

    # -- transport ---------------------------------------------------------------------------------

    def request_counts(self):
        """What this client sent: ``{"total", "by_endpoint": {path: requests}, "limit", "remaining"}``, every
        request that left (token requests, retries and confirming reads included; not one that provably never
        left: no connection, a failed TLS handshake), and the last rate-limit figures Mimecast gave (None before
        any answer carried them)."""
        return {
            "total": sum(self._sent.values()),
            "by_endpoint": dict(self._sent),
            "limit": self._rate.get("limit"),
            "remaining": self._rate.get("remaining"),
        }

    def _count(self, path, response=None):
        """Count one request that left, and keep the rate-limit figures its answer carried."""
        self._sent[path] = self._sent.get(path, 0) + 1
        headers = getattr(response, "headers", None) or {}
        for key, header in (("limit", "X-RateLimit-Limit"), ("remaining", "X-RateLimit-Remaining")):
            try:
                value = int(headers.get(header))
            except (TypeError, ValueError):
                continue
            if value >= 0:
                self._rate[key] = value

    def _http(self, path, **kwargs):
        """One HTTP POST; maps transport failures to MimecastError (``uncertain``: it may have executed).

        The one place requests are sent and counted (:meth:`request_counts`): a failure of the transport says
        whether the request may have left (``sent``); one that provably never left is not counted.
        """
        url = self.base_url + path
        left = True  # False when the request provably never reached the server
        try:
            response = self.session.post(url, **kwargs)
            self._count(path, response)
            left = False  # counted with its answer
            return response
        except TransportError as exc:
            left = exc.sent
            raise self._replies.transport_error(path, exc) from None
        finally:
            if left:
                self._count(path)  # it left without an answer (a timeout, a dropped connection)

    def fetch_token(self, client_id, client_secret):
        """Get an API 2.0 bearer token with the client-credentials grant; return ``(token, seconds it lasts)``.

        One request, no retry loop of its own: it is sent from inside the exchange of the call that needs the
        token, whose one loop retries it within that call's ``max_retries`` budget. Its failures name it
        (``request``): the call itself was not sent. The lifetime is None when Mimecast does not give one.
        """
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        try:
            body = self._replies.token(self._http(TOKEN_PATH, data=form))
        except MimecastError as failure:
            failure.request = TOKEN_PATH
            raise
        token = body["access_token"]
        self.register_secret(token)
        try:
            lifetime = int(body.get("expires_in"))
        except (TypeError, ValueError):
            lifetime = None
        return token, lifetime if lifetime is not None and lifetime > 0 else None

    def _exchange(self, path, send, parse, write, settle=None):
        """Send and parse, retrying what is safe to retry: the one retry loop of the collection.

        ``max_retries`` bounds the sends of one request, whatever mix of failures it meets:

        * 429: Mimecast did not execute the call, so it is sent again after the wait Mimecast asks for, writes too.
        * A refused bearer token (API 2.0): not executed either; a new token is fetched and the call sent again.
          Replacing the token given from outside (``access_token``) is free, once, whatever ``max_retries``: the
          token request and the call's next send then count as usual.
        * The token request itself (API 2.0, sent by ``send`` when there is no token yet): the call was not sent;
          a token request that failed on a 429, a server error, a timeout or a dropped connection is sent again
          like a read. It counts in the same budget: ``max_retries`` bounds every send of the call and its token.
        * Server errors, dropped connections, timeouts, gateway pages: reads are sent again with backoff. A write
          is sent again blind only when the failure proves it never left (a refused connection, a connect
          timeout). Otherwise
          ``settle(failure, attempt, last)`` reads the directory to learn what the write did (over a settle
          window when Mimecast may still be running it), also when no retry is left (``last``): it returns the
          final result when nothing is left to send, or None to send what is left. Without ``settle`` the
          failure is raised, ``uncertain``.
        """
        attempt = 0
        while True:
            try:
                return parse(send())
            except MimecastError as failure:
                request = failure.request or path  # the request that failed: the call, or its token
                if request != path:  # the token request failed, so the call was never sent
                    token_refused = confirm = False
                    resend = failure.status == 429 or failure.retryable
                else:
                    token_refused = failure.status == 401 and self.auth.kind == "api2"
                    resend = failure.status == 429 or (failure.retryable and not (write and failure.uncertain))
                    confirm = write and failure.retryable and failure.uncertain and settle is not None
                if confirm:
                    # Never sent again blind: first learn what it did, even when no retry is left to send the rest.
                    done = settle(failure, attempt + 1, attempt >= self.max_retries)
                    if done is not None:
                        return done
                if token_refused:
                    # The one replacement of a token given from outside costs no retry: it was not this task's.
                    given = self.auth.given_in_use
                    if (attempt >= self.max_retries and not given) or not self.auth.refresh(self):
                        raise
                    attempt += 0 if given else 1
                    what = "the access_token was refused" if given else "the bearer token was refused"
                    self.wait_before_retry(path, "%s; fetching a new one" % what, delay=0)
                    continue
                if attempt >= self.max_retries or not (resend or confirm):
                    raise
                attempt += 1
                if not confirm:
                    self.wait_before_retry(request, failure.message, attempt=attempt, hint=failure.wait_hint)

    def settle_window(self, failure):
        """Seconds after ``failure`` during which a write may still be running at Mimecast (0 when it cannot be).

        After every failure that may have reached Mimecast (a read timeout, a dropped or reset connection, a
        5xx, a gateway page, items answered in doubt), Mimecast may still be working on the request: a proxy or
        load balancer may have closed the connection, or answered 503, while Mimecast went on. It is confirmed by
        reads spread over ``SETTLE_WINDOW_FACTOR`` times ``timeout`` and sent again only if still absent after
        that. A 429 and failures before sending (not ``still_running``) have no window.
        """
        return self._full_window() if failure.still_running else 0

    def _full_window(self):
        return SETTLE_WINDOW_FACTOR * self.timeout

    def wait_for_late_landings(self):
        """Wait one settle window after a resent write was answered; return the seconds waited.

        An earlier try of it that Mimecast was still running when the window of its failure ended may land after
        the resend: a caller that looks for a second effect (a duplicate create) reads only after this wait.
        """
        window = self._full_window()
        self._sleep(window)
        return window

    def wait_before_retry(self, path, reason, attempt=1, hint=None, delay=None):
        """Report a retry as a warning and wait for it: the one place every retry is paced."""
        if delay is None:
            delay = self._backoff.delay(attempt, hint)
        if self._warn:
            self._warn("Retrying %s in %.1fs after: %s" % (path, delay, self.redact(reason)))
        if delay:
            self._sleep(delay)

    # -- the envelope ------------------------------------------------------------------------------

    def _post(self, path, body):
        """A ``send`` for :meth:`_exchange`: POST ``body`` as JSON with fresh authentication headers."""
        payload = json.dumps(body)

        def send():
            headers = {"Content-Type": "application/json"}
            headers.update(self.auth.headers(self, path))
            return self._http(path, data=payload, headers=headers)

        return send

    def call(self, path, items=None, meta=None):
        """POST ``{"data": items, "meta": meta}`` to a read endpoint and return ``(data, meta)`` of the reply.

        Any ``fail`` entry, or a ``meta.status`` other than 200, raises :class:`MimecastError` carrying
        Mimecast's codes and messages. Writes go through :meth:`write`.
        """
        body = {"data": list(items or [])}
        if meta:
            body["meta"] = meta
        reply = self._exchange(path, self._post(path, body), lambda response: self._replies.api(path, response), False)
        return reply.get("data") or [], reply.get("meta") or {}

    def write(self, path, items, confirm=None):
        """Send the write ``items`` in one request and return an :class:`ItemResult` for each, in order.

        Mimecast runs each item like a call of its own: successes come back in ``data`` in order, failures in
        ``fail`` with the item echoed in ``key``. A refused item is returned with its errors, not raised: the
        caller decides what an error means. What the request did is never guessed: after a failure that may
        or may not have executed it (a dropped connection, a timeout, a server error, items refused only as
        retryable, successes answered with fewer records than items: a partial answer, which proves none of
        them), ``confirm(items)`` is
        called with the items still in doubt. It must read the directory again and return, for each, the
        record showing its effect, or None when there is none; only those are sent again. Since Mimecast may
        still be running it after any such failure, the reads are spread over the settle window
        (:meth:`settle_window`) and the rest is sent again only once the window is over. The request is
        sent at most ``max_retries + 1`` times in all (429 waits, token refreshes and confirmation rounds alike);
        each read ``confirm`` sends is a request of its own, with a ``max_retries`` budget of its own.

        When the request fails whole before every item's outcome is known (``max_retries`` used up, a refusal of
        the whole request, a confirming read that failed), :class:`WriteError` is raised with every item's
        result: what was confirmed stays done, the rest is refused if Mimecast said the request did not run, and
        unknown otherwise. Without ``confirm`` an uncertain failure leaves the items unknown.
        """
        items = list(items)
        results = [None] * len(items)
        doubted = [False] * len(items)  # sent in a try whose outcome was unknown
        sent_again = [False] * len(items)  # sent again after such a try: both tries may have landed

        def pending():
            return [i for i, result in enumerate(results) if result is None]

        def send():
            for i in pending():
                sent_again[i] = sent_again[i] or doubted[i]
            return self._post(path, {"data": [items[i] for i in pending()]})()

        def parse(response):
            sent = pending()
            body = self._replies.api(path, response, per_item=True)
            doubtful = self._match_items(sent, items, body, results)
            for i in sent:
                if results[i] is not None:
                    results[i].resent = doubted[i]
            if doubtful:
                raise MimecastError(
                    "the outcome of %d of the %d item(s) sent to %s is unknown" % (len(doubtful), len(sent), path),
                    retryable=True,
                    uncertain=True,
                )
            return results

        def settle(failure, attempt, last):
            sent = pending()
            for i in sent:
                doubted[i] = True
            window = self.settle_window(failure)
            first = self._backoff.delay(attempt, failure.wait_hint)
            reads = [first] + [mark for mark in (window / 2.0, window) if mark > first]
            if last:
                what = "reading the directory to learn what it did (no retry is left)"
            elif window:
                what = (
                    "Mimecast may still be running it, so the directory is read until %.1fs after the failure "
                    "before anything is sent again" % max(window, first)
                )
            else:
                what = "reading the directory before trying again"
            self.wait_before_retry(path, "%s; %s" % (failure.message, what), delay=first)
            waited = first
            for offset in reads:
                if offset > waited:
                    self._sleep(offset - waited)
                    waited = offset
                doubt = pending()
                try:
                    found = list(confirm([items[i] for i in doubt]))
                except (MimecastError, ValueError) as exc:
                    raise MimecastError(
                        "%s; then confirming what it did failed: %s"
                        % (failure.message, getattr(exc, "message", None) or self.redact(str(exc))),
                        status=getattr(exc, "status", None),
                        code=getattr(exc, "code", None),
                        errors=getattr(exc, "errors", None),
                        uncertain=True,
                    ) from None
                if len(found) != len(doubt):
                    raise ValueError("confirm() answered for %d of %d items" % (len(found), len(doubt)))
                for i, record in zip(doubt, found):
                    if record is not None:
                        results[i] = ItemResult(items[i], record, resent=sent_again[i])
                if not pending():
                    return results
            return None

        try:
            return self._exchange(path, send, parse, True, settle if confirm else None)
        except MimecastError as failure:
            # A failed token request means this try of the write was never sent: that proves it did not run.
            sent = failure.request in (None, path)
            state = UNKNOWN if failure.uncertain and sent else REFUSED
            errors = failure.errors or [
                {
                    "code": failure.code or ("http_%s" % failure.status if failure.status else "error"),
                    "message": failure.message,
                    "retryable": False,
                }
            ]
            for i in pending():
                if state == UNKNOWN:
                    results[i] = ItemResult(items[i], state=UNKNOWN, resent=doubted[i])
                else:
                    results[i] = ItemResult(items[i], errors=errors, state=REFUSED)
            raise WriteError(failure, results) from None

    @staticmethod
    def _match_items(sent, items, body, results):
        """Fill ``results`` for the items of ``sent`` whose outcome the reply tells; return the others."""
        failures = {}
        unmatched = False
        for entry in body.get("fail") or []:
            key = entry.get("key") if isinstance(entry, dict) else None
            if key is None and len(sent) == 1:
                key = items[sent[0]]
            index = next((i for i in sent if i not in failures and items[i] == key), None)
            if index is None:
                unmatched = True  # a failure we cannot pin on one item: every other item is in doubt
                continue
            failures[index] = errors_of({"fail": [entry]})
        doubtful = []
        for index, errors in failures.items():
            if all(e["retryable"] for e in errors):
                doubtful.append(index)  # Mimecast says try again; whether it ran first is not said
            else:
                results[index] = ItemResult(items[index], errors=errors)
        succeeded = [i for i in sent if i not in failures]
        records = body.get("data") or []
        if unmatched:
            return sorted(doubtful + succeeded)
        if len(records) == len(succeeded):
            for index, record in zip(succeeded, records):
                results[index] = ItemResult(items[index], record if isinstance(record, dict) else {})
        else:
            # Fewer (or more) records than successes: which items ran is not said, so none is taken as done.
            doubtful.extend(succeeded)
        return sorted(doubtful)

    def paginate(self, path, item=None, page_size=MAX_PAGE_SIZE, max_pages=None):
        """Yield the ``data`` entries of every page of a paginated call, following ``meta.pagination.next``.

        With ``max_pages``, raise :class:`PageLimit` instead of asking for a page beyond that many.
        """
        token = None
        seen = set()
        pages = 0
        while True:
            if max_pages is not None and pages >= max_pages:
                raise PageLimit("%s needs more than %d page(s)" % (path, max_pages))
            pages += 1
            pagination = {"pageSize": page_size}
            if token:
                pagination["pageToken"] = token
            data, meta = self.call(path, [item or {}], meta={"pagination": pagination})
            yield from data
            token = (meta.get("pagination") or {}).get("next")
            if not token:
                return
            if token in seen:
                raise MimecastError("Mimecast returned the page token of %s twice; stopping to avoid a loop." % path)
            seen.add(token)
