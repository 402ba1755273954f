# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which Mimecast tenant a task talks to, and with which credentials: the credential set (task options or
the MIMECAST_* environment variables), the API host, and the tenant key derived from them. No I/O and no
third-party imports, so the controller (the action plugin's lock) and the module share this one logic.
Internal use only: this API may change without notice.
"""

import hashlib
import ipaddress
from urllib.parse import urlsplit

DEFAULT_API2_BASE_URL = "https://api.services.mimecast.com"
BASE_URL_ENV = "MIMECAST_BASE_URL"
API1_OPTIONS = ("access_key", "secret_key", "app_id", "app_key")
API2_OPTIONS = ("client_id", "client_secret")
SECRET_OPTIONS = ("secret_key", "app_key", "client_secret")
# The option that names the credential without being secret: the identity part of the tenant key.
IDENTIFIER_OPTION = {"api1": "access_key", "api2": "client_id"}
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


class ConnectionOptionsError(ValueError):
    """Bad connection options: reported before any request is sent."""


def _present(value):
    return value is not None and str(value).strip() != ""


def resolve_credentials(params, environ):
    """Return ``(kind, values)`` for exactly one complete credential set, else raise ConnectionOptionsError.

    ``kind`` is ``api1`` or ``api2``. Task options win as a set; the MIMECAST_* variables of ``environ`` are
    read only when no credential option is set on the task.
    """
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


def tenant_key(params, environ):
    """Return a hex digest naming the tenant a task writes to: its API host and credential identifier.

    ``params`` are the task's options and ``environ`` the environment the module runs with; credentials and
    the base URL are resolved exactly as the module resolves them (``base_url``, else MIMECAST_BASE_URL). The
    digest covers the credential kind, the base URL and ``access_key`` or ``client_id``, never a secret: the
    same tenant gives the same key whether its credentials come from options or from MIMECAST_* variables.
    Raises ConnectionOptionsError when the module would refuse the options anyway.
    """
    kind, credentials = resolve_credentials(params, environ)
    base_url = params.get("base_url")
    if base_url is None:  # the module's argument spec falls back to the variable only when the option is unset
        base_url = environ.get(BASE_URL_ENV)
    # Scheme and host name are case-insensitive; the rest of a valid base URL is empty.
    base_url = validate_base_url(base_url, kind).lower()
    identity = "\n".join(("community.mimecast tenant v1", kind, base_url, str(credentials[IDENTIFIER_OPTION[kind]])))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()
