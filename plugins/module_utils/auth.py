# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The two ways a request to Mimecast is authenticated: API 1.0 keys, each request signed (signing.py), and API 2.0
client credentials, a bearer token fetched through the client and sealed for the action plugin (token_seal.py).
Internal use only: this API may change without notice.
"""

import time
import uuid

from ansible_collections.community.mimecast.plugins.module_utils.outcomes import MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.signing import (
    authorization_header,
    decode_secret_key,
    mimecast_date,
    sign,
)
from ansible_collections.community.mimecast.plugins.module_utils.token_seal import seal


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
