# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How Mimecast's answers, and the failures to get one, read: the JSON envelope, its ``fail`` entries, HTTP statuses
and what to check for each, gateway pages, token replies, transport failures. Pure mapping from a response (or a
transport failure) to a body or a :class:`MimecastError`, with no I/O, so each rule can be tested with a stub
response. Internal use only: this API may change without notice.
"""

from ansible_collections.community.mimecast.plugins.module_utils.http_transport import (
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    ProxyError,
    ReadTimeout,
    ResolveError,
    TLSError,
)
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError, describe_errors
from ansible_collections.community.mimecast.plugins.module_utils.retry import server_wait_hint

TOKEN_PATH = "/oauth/token"
# How much of a non-JSON reply is quoted in an error: enough to recognise a proxy or gateway page.
SNIPPET_LENGTH = 160

STATUS_ADVICE = {
    400: "the request was refused as malformed or incomplete",
    401: "authentication was rejected",
    403: "the application is not allowed to do this: check the API application's permissions and products",
    404: "the endpoint was not found: check base_url (the regional API host, without a path)",
    405: "the endpoint refused the method",
    418: "the access key binding has expired: create new access and secret keys for the API application",
    429: "the rate limit was exceeded",
}


def errors_of(body):
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


class Replies:
    """The reading of one client's answers. ``client`` (a MimecastClient, or any object with these attributes) gives,
    read at each answer: ``base_url``, ``timeout`` and ``auth`` (for what a failure says to check), and
    ``redact``, which keeps every secret-derived value out of the messages."""

    def __init__(self, client):
        self._client = client

    @property
    def base_url(self):
        return self._client.base_url

    @property
    def timeout(self):
        return self._client.timeout

    @property
    def auth(self):
        return self._client.auth

    def _redact(self, text):
        return self._client.redact(text)

    def transport_error(self, path, exc):
        """The MimecastError of a transport failure: what it means for a write, and what to check."""
        reason = self._reason(exc)
        if isinstance(exc, TLSError):
            return MimecastError(
                "TLS failure talking to %s: %s. Check the certificate chain, ca_path, or validate_certs."
                % (self.base_url, reason)
            )
        if isinstance(exc, ConnectTimeout):
            return MimecastError(
                "Timed out after %ss connecting to %s: check base_url, proxy and network."
                % (self.timeout, self.base_url),
                retryable=True,
            )
        if isinstance(exc, ProxyError):
            return MimecastError("Proxy failure reaching %s: %s" % (self.base_url, reason), retryable=True)
        if isinstance(exc, ResolveError):
            return MimecastError("Could not resolve the host of %s: check base_url and DNS." % self.base_url)
        if isinstance(exc, ConnectError):
            # Refused or unreachable before a connection stood: the request was never sent.
            return MimecastError("Could not connect to %s: %s" % (self.base_url, reason), retryable=True)
        if isinstance(exc, ReadTimeout):
            return MimecastError(
                "Timed out after %ss waiting for %s%s; raise timeout if the API is slow."
                % (self.timeout, self.base_url, path),
                retryable=True,
                uncertain=True,
                still_running=True,
            )
        if isinstance(exc, ConnectionDropped):
            # A connection that breaks after the request was sent may have executed it.
            return MimecastError(
                "Connection to %s failed: %s" % (self.base_url, reason), retryable=True, uncertain=True
            )
        # A broken body after the answer began (BrokenAnswer), or a request that could not be written at all:
        # whatever was sent may have run, so its outcome is unknown, never "not done".
        return MimecastError("Request to %s%s failed: %s" % (self.base_url, path, reason), uncertain=exc.sent)

    def _reason(self, exc):
        return self._redact(str(exc))

    def _snippet(self, response):
        text = response.text[:SNIPPET_LENGTH]
        text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
        return self._redact(text) or "(empty body)"

    def token(self, response):
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

    def api(self, path, response, per_item=False):
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
        errors = errors_of(body)
        meta_status = (body.get("meta") or {}).get("status", 200)
        if per_item and meta_status < 500 and (meta_status == 200 or body.get("fail")):
            return body
        if errors or meta_status != 200:
            # Mimecast marks failures worth retrying; whether a write ran before one is not said.
            transient = meta_status >= 500 or bool(errors and all(e["retryable"] for e in errors))
            raise MimecastError(
                "Mimecast refused %s (status %s): %s"
                % (path, meta_status, self._redact(describe_errors(errors) or "no error given")),
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
        errors = errors_of(body)
        code = errors[0]["code"] if errors else body.get("error")
        detail = describe_errors(errors) if errors else body.get("error_description") or body.get("error") or ""
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
            message += " (%s)" % self._redact(detail)
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
