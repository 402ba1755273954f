# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module base every community.mimecast module uses: the shared connection options (mirrored one for one
by the ``community.mimecast.mimecast`` doc fragment), credential checks, and the client built from them.
Internal use only: this API may change without notice.
"""

import contextlib
import ipaddress
import os
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.community.mimecast.plugins.module_utils.client import (
    DEFAULT_API2_BASE_URL,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiKeyAuth,
    ClientCredentialsAuth,
    MimecastClient,
    MimecastError,
)

API1_OPTIONS = ("access_key", "secret_key", "app_id", "app_key")
API2_OPTIONS = ("client_id", "client_secret")
SECRET_OPTIONS = ("secret_key", "app_key", "client_secret")
# Credentials come from the task as a set, or else from these variables as a set: never a mixture, so a
# stray variable in a shell profile cannot complete or spoil credentials given on the task.
CREDENTIAL_ENV = {
    "access_key": "MIMECAST_ACCESS_KEY",
    "secret_key": "MIMECAST_SECRET_KEY",
    "app_id": "MIMECAST_APP_ID",
    "app_key": "MIMECAST_APP_KEY",
    "client_id": "MIMECAST_CLIENT_ID",
    "client_secret": "MIMECAST_CLIENT_SECRET",
}


def connection_argument_spec():
    """Return the argument spec of the connection options shared by every module."""
    return dict(
        base_url=dict(type="str", fallback=(env_fallback, ["MIMECAST_BASE_URL"])),
        access_key=dict(type="str", no_log=False),
        secret_key=dict(type="str", no_log=True),
        app_id=dict(type="str"),
        app_key=dict(type="str", no_log=True),
        client_id=dict(type="str"),
        client_secret=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        proxy=dict(type="str"),
        timeout=dict(type="float", default=30),
        max_retries=dict(type="int", default=3),
    )


class ConnectionOptionsError(ValueError):
    """Bad connection options: reported before any request is sent."""


def _present(value):
    return value is not None and str(value).strip() != ""


def resolve_credentials(params, environ=None):
    """Return ``(kind, values)`` for exactly one complete credential set, else raise ConnectionOptionsError.

    ``kind`` is ``api1`` or ``api2``. Task options win as a set; the MIMECAST_* variables are read only
    when no credential option is set on the task.
    """
    environ = os.environ if environ is None else environ
    given = dict((k, params.get(k)) for k in API1_OPTIONS + API2_OPTIONS if _present(params.get(k)))
    origin = "options"
    if not given:
        given = dict((k, environ.get(v)) for k, v in CREDENTIAL_ENV.items() if _present(environ.get(v)))
        origin = "environment variables"
    api1 = [k for k in API1_OPTIONS if k in given]
    api2 = [k for k in API2_OPTIONS if k in given]
    if api1 and api2:
        raise ConnectionOptionsError(
            "Give either API 1.0 keys (access_key, secret_key, app_id, app_key) or API 2.0 credentials "
            "(client_id, client_secret), not both; the %s set: %s" % (origin, ", ".join(sorted(given)))
        )
    if not api1 and not api2:
        raise ConnectionOptionsError(
            "No Mimecast credentials: set client_id and client_secret (API 2.0) or access_key, secret_key, app_id "
            "and app_key (API 1.0), as options or as MIMECAST_* environment variables"
        )
    wanted, kind = (API1_OPTIONS, "api1") if api1 else (API2_OPTIONS, "api2")
    missing = [k for k in wanted if k not in given]
    if missing:
        raise ConnectionOptionsError(
            "Incomplete %s credentials from %s: missing %s"
            % ("API 1.0" if kind == "api1" else "API 2.0", origin, ", ".join(missing))
        )
    return kind, given


def validate_base_url(base_url, kind):
    """Return the normalised base URL, or raise ConnectionOptionsError; plain http is for loopback only."""
    if not _present(base_url):
        if kind == "api2":
            return DEFAULT_API2_BASE_URL
        raise ConnectionOptionsError(
            "base_url is required with API 1.0 keys: your region's host, such as https://eu-api.mimecast.com"
        )
    base_url = base_url.strip()
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConnectionOptionsError("base_url must be an https:// URL of a Mimecast API host, got %r" % base_url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConnectionOptionsError("base_url must be the host only, without a path or query, got %r" % base_url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConnectionOptionsError(
            "base_url uses plain http to %s: credentials would cross the network in clear text; use https"
            % parts.hostname
        )
    try:
        parts.port  # noqa: B018 - reading it is the check: urlsplit raises on a bad port
    except ValueError:
        raise ConnectionOptionsError("base_url has an invalid port: %r" % base_url) from None
    return base_url.rstrip("/")


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MimecastModule(AnsibleModule):
    """AnsibleModule with the shared connection options, their checks, and one client per run."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = connection_argument_spec()
        spec.update(argument_spec or {})
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        self._client = None

    def client(self):
        """Return the MimecastClient for this task; bad connection options fail the task before any request."""
        if self._client is None:
            try:
                self._client = self._build_client()
            except ValueError as exc:  # bad options, or a secret key that is not base64
                self.fail_json(msg=str(exc))
        return self._client

    def _build_client(self):
        params = self.params
        kind, credentials = resolve_credentials(params)
        for option in SECRET_OPTIONS:
            if option in credentials:
                self.no_log_values.add(credentials[option])
        base_url = validate_base_url(params.get("base_url"), kind)
        if params["timeout"] <= 0:
            raise ConnectionOptionsError("timeout must be a positive number of seconds, got %s" % params["timeout"])
        if params["max_retries"] < 0:
            raise ConnectionOptionsError("max_retries must be 0 or more, got %s" % params["max_retries"])
        if kind == "api1":
            auth = ApiKeyAuth(
                credentials["access_key"], credentials["secret_key"], credentials["app_id"], credentials["app_key"]
            )
        else:
            auth = ClientCredentialsAuth(credentials["client_id"], credentials["client_secret"])
        return MimecastClient(
            base_url,
            auth,
            validate_certs=params["validate_certs"],
            ca_path=params.get("ca_path"),
            timeout=params["timeout"],
            proxy=params.get("proxy"),
            max_retries=params["max_retries"],
            register_secret=self.no_log_values.add,
            warn=self.warn,
        )

    @contextlib.contextmanager
    def failures(self):
        """Turn every failure inside the block into a clear failed task, never a bare Python traceback.

        Mimecast's own errors keep their HTTP status, code and messages; bad input found by the group
        logic (``ValueError``, GroupError) its message; anything else is reported as unexpected, with the
        traceback kept for ``-vvv``. Every message passes through the client's redaction.
        """
        try:
            yield
        except MimecastError as exc:
            self.fail_json(msg=exc.message, **exc.details())
        except ValueError as exc:  # GroupError is one
            self.fail_json(msg=self._redact(str(exc)))
        except Exception as exc:
            self.fail_json(
                msg="Unexpected error (%s): %s" % (type(exc).__name__, self._redact(str(exc))),
                exception=self._redact(traceback.format_exc()),
            )

    def _redact(self, text):
        return self._client.redact(text) if self._client else text
