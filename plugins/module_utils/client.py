# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Mimecast API client: session, both authentication kinds, the response envelope, error mapping,
retries and pagination. Internal use only: this API may change without notice.

Every module reaches Mimecast through :class:`MimecastClient`, so each of those concerns lives here once.
"""

import json
import time
import traceback
import uuid

try:
    import requests
    from urllib3.exceptions import NewConnectionError

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the module's missing_required_lib path
    requests = None
    NewConnectionError = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.community.mimecast.plugins.module_utils.retry import Backoff, server_wait_hint
from ansible_collections.community.mimecast.plugins.module_utils.signing import (
    authorization_header,
    decode_secret_key,
    mimecast_date,
    sign,
)
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import seal

TOKEN_PATH = "/oauth/token"
MAX_PAGE_SIZE = 100
# How much of a non-JSON reply is quoted in an error: enough to recognise a proxy or gateway page.
SNIPPET_LENGTH = 160
# After any failure that may have reached Mimecast (a read timeout, a dropped or reset connection, a 5xx, a gateway
# page), a write is confirmed by reads spread over a settle window of this many times ``timeout`` after the
# failure, and sent again only if it is still absent after the window: a proxy that closed the connection, or a
# 503, says nothing about whether Mimecast is still working on it.
SETTLE_WINDOW_FACTOR = 2
# How many unknown items a message names before it says "and N more".
NAMED_LIMIT = 10

# The outcome of one item of a write.
DONE = "done"
REFUSED = "refused"
UNKNOWN = "unknown"

STATUS_ADVICE = {
    400: "the request was refused as malformed or incomplete",
    401: "authentication was rejected",
    403: "the application is not allowed to do this: check the API application's permissions and products",
    404: "the endpoint was not found: check base_url (the regional API host, without a path)",
    405: "the endpoint refused the method",
    418: "the access key binding has expired: create new access and secret keys for the API application",
    429: "the rate limit was exceeded",
}


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


def _errors_of(body):
    """Flatten the ``fail`` entries of a Mimecast envelope to ``[{code, message, field?, retryable}]``."""
    errors = []
    for entry in body.get("fail") or []:
        if not isinstance(entry, dict):
            continue
        for error in entry.get("errors") or [entry]:
            if not isinstance(error, dict):
                continue
            item = {"code": error.get("code"), "message": error.get("message")}
            if error.get("field"):
                item["field"] = error["field"]
            item["retryable"] = bool(error.get("retryable"))
            errors.append(item)
    return errors


def _describe(errors):
    return "; ".join("%s: %s" % (e.get("code") or "error", e.get("message") or "no message") for e in errors)


def _never_connected(exc):
    """True when a requests ConnectionError failed while connecting (refused, unreachable): nothing was sent."""
    reason = exc
    while reason is not None:
        if NewConnectionError is not None and isinstance(reason, NewConnectionError):
            return True
        nested = getattr(reason, "reason", None)
        if nested is None and getattr(reason, "args", None) and isinstance(reason.args[0], Exception):
            nested = reason.args[0]
        reason = nested if nested is not reason else None
    return False


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
            "Mimecast refused %s: %s" % (path, _describe(self.errors) or "no error given"),
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


class ApiKeyAuth:
    """API 1.0: every request signed with HMAC-SHA1 over date, request id, path and application key."""

    kind = "api1"

    def __init__(self, access_key, secret_key, app_id, app_key):
        decode_secret_key(secret_key)  # fail early, before any request, on a key that is not base64
        self.access_key = access_key
        self._secret_key = secret_key
        self.app_id = app_id
        self._app_key = app_key

    def headers(self, client, path):
        date = mimecast_date()
        request_id = str(uuid.uuid4())
        signature = sign(self._secret_key, self._app_key, date, request_id, path)
        value = authorization_header(self.access_key, signature)
        client.register_secret(signature)
        client.register_secret(value)
        return {"Authorization": value, "x-mc-date": date, "x-mc-req-id": request_id, "x-mc-app-id": self.app_id}


class ClientCredentialsAuth:
    """API 2.0: an OAuth2 bearer token from ``{base_url}/oauth/token`` (client-credentials grant).

    ``access_token``, a token given from outside (by the user, or kept by the action plugin from an earlier task),
    is used first; with ``client_id`` and ``client_secret`` a refused one is replaced by a new token once, a
    replacement that costs no retry of the budget (the token was not this task's to spend it on), without them
    the refusal is final. ``kept`` says the action plugin gave it from the run's store: refused at its first use
    (nothing was run with it), it is not replaced here but ``kept_refused`` is set and nothing more is sent, so
    the action plugin replaces it under the tenant's lock, once for every fork. ``fetched`` holds the last token
    this object fetched and when it expires.
    """

    kind = "api2"

    def __init__(self, client_id, client_secret, access_token=None, kept=False):
        self.client_id = client_id
        self._client_secret = client_secret
        self._token = access_token or None
        self.given_in_use = self._token is not None  # the token in use is the one given from outside
        self.kept = kept and self.given_in_use
        self.kept_refused = False
        self._given_sends = 0
        self.fetched = None  # (token, monotonic expiry or None)

    @property
    def can_fetch(self):
        """True when a new token can be fetched (client_id and client_secret are known)."""
        return bool(self.client_id and self._client_secret)

    def headers(self, client, path):
        if self.kept_refused:
            raise MimecastError(
                "Not sent: the access_token kept by an earlier task of the run was refused at its first use",
                status=401,
            )
        if self._token is None:
            token, lifetime = client.fetch_token(self.client_id, self._client_secret)
            self._token = token
            self.fetched = (token, None if lifetime is None else time.monotonic() + lifetime)
        if self.given_in_use:
            self._given_sends += 1
        client.register_secret(self._token)
        return {"Authorization": "Bearer %s" % self._token}

    def refresh(self, client):
        """Drop the refused token so the next request fetches a new one; True when a new one can be fetched.

        A kept token refused at its first use is not dropped: ``kept_refused`` is set instead (see the class)."""
        if self._token is None or not self.can_fetch:
            return False
        if self.kept and self.given_in_use and self._given_sends == 1:
            self.kept_refused = True
            return False
        self._token = None
        self.given_in_use = False
        return True

    def sealed_fetched_token(self):
        """The token this object fetched, sealed with the client secret, and its seconds left; None without one."""
        if self.fetched is None or self.fetched[1] is None or not self.can_fetch:
            return None
        token, expires = self.fetched
        return {"sealed": seal(self._client_secret, token), "expires_in": int(expires - time.monotonic())}


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
        if validate_certs:
            # An explicit path, never True: with True, requests lets REQUESTS_CA_BUNDLE replace the choice.
            self._verify = ca_path or requests.certs.where()
        else:
            self._verify = False
        self._proxies = {"http": proxy, "https": proxy} if proxy else None
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "community.mimecast"})

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

        The one place requests are counted (:meth:`request_counts`)."""
        url = self.base_url + path
        left = True  # False when the request provably never reached the server
        try:
            response = self.session.post(
                url, timeout=self.timeout, verify=self._verify, proxies=self._proxies, **kwargs
            )
            self._count(path, response)
            left = False  # counted with its answer
            return response
        except requests.exceptions.SSLError as exc:
            left = False
            raise MimecastError(
                "TLS failure talking to %s: %s. Check the certificate chain, ca_path, or validate_certs."
                % (self.base_url, self._reason(exc))
            ) from None
        except requests.exceptions.ConnectTimeout:
            left = False
            raise MimecastError(
                "Timed out after %ss connecting to %s: check base_url, proxy and network."
                % (self.timeout, self.base_url),
                retryable=True,
            ) from None
        except requests.exceptions.ReadTimeout:
            raise MimecastError(
                "Timed out after %ss waiting for %s%s; raise timeout if the API is slow."
                % (self.timeout, self.base_url, path),
                retryable=True,
                uncertain=True,
                still_running=True,
            ) from None
        except requests.exceptions.ProxyError as exc:
            raise MimecastError(
                "Proxy failure reaching %s: %s" % (self.base_url, self._reason(exc)), retryable=True
            ) from None
        except requests.exceptions.ConnectionError as exc:
            reason = self._reason(exc)
            never_connected = _never_connected(exc)
            left = not never_connected
            if "Name or service not known" in reason or "getaddrinfo" in reason or "nodename nor servname" in reason:
                left = False
                raise MimecastError(
                    "Could not resolve the host of %s: check base_url and DNS." % self.base_url
                ) from None
            if never_connected:
                # Refused or unreachable before a connection stood: the request was never sent.
                raise MimecastError("Could not connect to %s: %s" % (self.base_url, reason), retryable=True) from None
            # A connection that breaks after the request was sent may have executed it.
            raise MimecastError(
                "Connection to %s failed: %s" % (self.base_url, reason), retryable=True, uncertain=True
            ) from None
        except requests.exceptions.RequestException as exc:
            # Any other failure (such as a broken body after the answer began) came after the request was sent: a
            # write may have run, so its outcome is unknown, never "not done".
            raise MimecastError(
                "Request to %s%s failed: %s" % (self.base_url, path, self._reason(exc)), uncertain=True
            ) from None
        finally:
            if left:
                self._count(path)  # it left without an answer (a timeout, a dropped connection)

    def _reason(self, exc):
        # The innermost reason is the useful one; requests wraps urllib3's wrapping of the socket error.
        reason = exc
        while getattr(reason, "args", None) and isinstance(reason.args[0], Exception):
            reason = reason.args[0]
        text = getattr(reason, "reason", None) or reason
        return self.redact(str(text))

    def _snippet(self, response):
        text = response.text[:SNIPPET_LENGTH]
        text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
        return self.redact(text) or "(empty body)"

    def fetch_token(self, client_id, client_secret):
        """Get an API 2.0 bearer token with the client-credentials grant; return ``(token, seconds it lasts)``.

        One request, no retry loop of its own: it is sent from inside the exchange of the call that needs the
        token, whose one loop retries it within that call's ``max_retries`` budget. Its failures name it
        (``request``): the call itself was not sent. The lifetime is None when Mimecast does not give one.
        """
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        try:
            body = self._token_reply(self._http(TOKEN_PATH, data=form))
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

    def _token_reply(self, response):
        if response.status_code == 429 or response.status_code >= 500:
            raise self._status_error(response, TOKEN_PATH, self._json_or_empty(response))
        body = self._json(response, TOKEN_PATH)
        if response.status_code in (400, 401) or (response.status_code == 200 and not body.get("access_token")):
            error = body.get("error") or "error"
            raise MimecastError(
                "API 2.0 token request was rejected (%s): check client_id and client_secret, and that the API "
                "application is enabled." % error,
                status=response.status_code,
                code=error,
            )
        if response.status_code != 200:
            raise self._status_error(response, TOKEN_PATH, body)
        return body

    def _api_reply(self, path, response, per_item=False):
        """Return the JSON body of an API reply that ran; raise MimecastError for every kind of failure.

        With ``per_item`` (writes), ``fail`` entries are left in the body for the caller to match to its items,
        as long as the request as a whole ran (``meta.status`` 200, or failures given per item).
        """
        status = response.status_code
        if status == 429 or status >= 500:
            raise self._status_error(response, path, self._json_or_empty(response))
        body = self._json(response, path)
        if status != 200:
            raise self._status_error(response, path, body)
        errors = _errors_of(body)
        meta_status = (body.get("meta") or {}).get("status", 200)
        if per_item and meta_status < 500 and (meta_status == 200 or body.get("fail")):
            return body
        if errors or meta_status != 200:
            # Mimecast marks failures worth retrying; whether a write ran before one is not said.
            transient = meta_status >= 500 or bool(errors and all(e["retryable"] for e in errors))
            raise MimecastError(
                "Mimecast refused %s (status %s): %s"
                % (path, meta_status, self.redact(_describe(errors) or "no error given")),
                status=meta_status,
                code=errors[0]["code"] if errors else None,
                errors=errors,
                retryable=transient,
                uncertain=transient,
            )
        return body

    def _json(self, response, path):
        try:
            body = response.json()
        except ValueError:
            if response.status_code == 400 and not response.content:
                # Mimecast answers a malformed or truncated id with an empty 400.
                raise MimecastError(
                    "Mimecast refused the request to %s with an empty HTTP 400: an id may be malformed or "
                    "truncated." % path,
                    status=400,
                ) from None
            raise MimecastError(
                "Mimecast answered %s with HTTP %s and a body that is not JSON (%s): %s"
                % (
                    path,
                    response.status_code,
                    response.headers.get("Content-Type", "no content type"),
                    self._snippet(response),
                ),
                status=response.status_code,
                # A gateway page in place of the API's answer says nothing about whether the call ran.
                retryable=response.status_code == 200 or response.status_code >= 500,
                uncertain=response.status_code == 200 or response.status_code >= 500,
            ) from None
        if not isinstance(body, dict):
            raise MimecastError(
                "Mimecast answered %s with JSON that is not an object: %s" % (path, self._snippet(response)),
                status=response.status_code,
            )
        return body

    def _status_error(self, response, path, body):
        status = response.status_code
        errors = _errors_of(body)
        code = errors[0]["code"] if errors else body.get("error")
        detail = _describe(errors) if errors else body.get("error_description") or body.get("error") or ""
        if not body and response.content:
            detail = "a reply that is not JSON (%s): %s" % (
                response.headers.get("Content-Type", "no content type"),
                self._snippet(response),
            )
        if status == 401:
            if self.auth.kind == "api1":
                advice = (
                    "the signature was rejected: check access_key, secret_key, app_id and app_key, and that this "
                    "machine's clock is right (Mimecast refuses requests dated more than a few minutes off)"
                )
            elif not self.auth.given_in_use:
                advice = "the bearer token was rejected: check client_id and client_secret"
            elif self.auth.can_fetch:
                advice = (
                    "the access_token was refused (expired, revoked, or for another tenant); client_id and "
                    "client_secret were not tried"
                )
            else:
                advice = (
                    "the access_token was refused (expired, revoked, or for another tenant): give a new one, or "
                    "client_id and client_secret so that one is fetched"
                )
        elif status >= 500:
            advice = "Mimecast had a server error"
        else:
            advice = STATUS_ADVICE.get(status, "unexpected HTTP status")
        message = "Mimecast answered %s with HTTP %s: %s" % (path, status, advice)
        if detail:
            message += " (%s)" % self.redact(detail)
        return MimecastError(
            message,
            status=status,
            code=code,
            errors=errors,
            retryable=status == 429 or status >= 500,
            uncertain=status >= 500,
            wait_hint=server_wait_hint(response.headers) if status == 429 else None,
        )

    def _json_or_empty(self, response):
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

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
        reply = self._exchange(path, self._post(path, body), lambda response: self._api_reply(path, response), False)
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
            body = self._api_reply(path, response, per_item=True)
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
            failures[index] = _errors_of({"fail": [entry]})
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
