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

from ansible_collections.community.mimecast.plugins.module_utils.run_contract import TOKEN_OPTION

DEFAULT_API2_BASE_URL = "https://api.services.mimecast.com"
BASE_URL_ENV = "MIMECAST_BASE_URL"
API1_OPTIONS = ("access_key", "secret_key", "app_id", "app_key")
API2_OPTIONS = ("client_id", "client_secret")
# An API 2.0 bearer token (TOKEN_OPTION) goes with client_id and client_secret (from options or variables) or
# stands alone; it never decides which credential set a task has.
SECRET_OPTIONS = ("secret_key", "app_key", "client_secret", TOKEN_OPTION)
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


def as_text(name, value):
    """Return a connection value as the module's argument spec (``type: str``) would see it, or None.

    The controller reads the task's raw values (templated, so perhaps an int); the module gets them converted
    to text. Numbers and booleans are converted as the module converts them; a list or a mapping is refused
    with the module's kind of message rather than failing on a missing string method.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise ConnectionOptionsError("%s must be a string, got a %s" % (name, type(value).__name__))


def resolve_credentials(params, environ):
    """Return ``(kind, values)`` for exactly one complete credential set, else raise ConnectionOptionsError.

    ``kind`` is ``api1`` or ``api2``. Task options win as a set; the MIMECAST_* variables of ``environ`` are
    read only when no credential option is set on the task. ``access_token`` (an option only) joins the API 2.0
    set from either source, or is the whole API 2.0 credential when there is none.
    """
    given = dict((k, as_text(k, params.get(k))) for k in API1_OPTIONS + API2_OPTIONS if _present(params.get(k)))
    origin = "options"
    if not given:
        given = dict((k, str(environ.get(v))) for k, v in CREDENTIAL_ENV.items() if _present(environ.get(v)))
        origin = "environment variables"
    token = as_text(TOKEN_OPTION, params.get(TOKEN_OPTION))
    api1 = [k for k in API1_OPTIONS if k in given]
    api2 = [k for k in API2_OPTIONS if k in given]
    if _present(token):
        if api1:
            raise ConnectionOptionsError(
                "access_token is an API 2.0 bearer token: it cannot be used with API 1.0 keys (the %s set: %s)"
                % (origin, ", ".join(sorted(given)))
            )
        if not api2:  # the token alone: used until it is refused, never replaced
            return "api2", {TOKEN_OPTION: token.strip()}
        given[TOKEN_OPTION] = token.strip()
    if api1 and api2:
        raise ConnectionOptionsError(
            "Give either API 1.0 keys (access_key, secret_key, app_id, app_key) or API 2.0 credentials "
            "(client_id, client_secret), not both; the %s set: %s" % (origin, ", ".join(sorted(given)))
        )
    if not api1 and not api2:
        raise ConnectionOptionsError(
            "No Mimecast credentials: set client_id and client_secret (API 2.0) or access_key, secret_key, app_id "
            "and app_key (API 1.0), as options or as MIMECAST_* environment variables (or an API 2.0 access_token)"
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
    base_url = as_text("base_url", base_url)
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


def effective_base_url(params, environ):
    """The base URL the module uses: the option, else (unset or null) MIMECAST_BASE_URL, else None."""
    base_url = as_text("base_url", params.get("base_url"))
    if base_url is None:
        base_url = as_text("base_url", environ.get(BASE_URL_ENV))
    return base_url


def canonical_base_url(base_url):
    """Return one spelling per API host of a valid base URL: lower-case scheme and host, no default port."""
    parts = urlsplit(base_url)
    host = parts.hostname
    if ":" in host:
        host = "[%s]" % host
    default_port = {"https": 443, "http": 80}[parts.scheme]
    if parts.port is not None and parts.port != default_port:
        host = "%s:%d" % (host, parts.port)
    return "%s://%s" % (parts.scheme, host)


def resolve_tenant(params, environ):
    """Return ``(kind, canonical base URL, credentials)`` as the module resolves them, else raise
    ConnectionOptionsError (the module would refuse the options anyway)."""
    kind, credentials = resolve_credentials(params, environ)
    return kind, canonical_base_url(validate_base_url(effective_base_url(params, environ), kind)), credentials


def tenant_keys(params, environ):
    """Return ``(tenant key, credential key, client_secret)`` from one resolution of the task's connection (the
    controller resolves it once per task; :func:`tenant_key` and :func:`credential_key` say what each key is).
    The last two are None for API 1.0 keys and for a lone ``access_token`` (nothing to fetch a token with).
    Raises ConnectionOptionsError when the module would refuse the options anyway.
    """
    kind, base_url, credentials = resolve_tenant(params, environ)
    tenant = _digest("community.mimecast tenant v1", kind, base_url, credentials.get(IDENTIFIER_OPTION[kind]) or "")
    if kind != "api2" or "client_secret" not in credentials:
        return tenant, None, None
    secret = credentials["client_secret"]
    secret_hash = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    return tenant, _digest("community.mimecast client v1", base_url, credentials["client_id"], secret_hash), secret


def tenant_key(params, environ):
    """Return a hex digest naming the tenant a task writes to: its API host and credential identifier.

    ``params`` are the task's options and ``environ`` the environment the module runs with; credentials and
    the base URL are resolved exactly as the module resolves them (``base_url``, else MIMECAST_BASE_URL;
    ``https://host:443/`` and ``https://HOST`` are one host). The digest covers the credential kind, the base URL
    and ``access_key`` or ``client_id`` (nothing for a lone ``access_token``), never a secret: the same tenant
    gives the same key whether its credentials come from options or from MIMECAST_* variables.
    Raises ConnectionOptionsError when the module would refuse the options anyway.
    """
    return tenant_keys(params, environ)[0]


def credential_key(params, environ):
    """Return a hex digest naming a tenant and one exact API 2.0 client: the base URL, ``client_id`` and a hash
    of ``client_secret``, so other credentials (another secret of the same client included) never share what is
    kept under it. None for API 1.0 keys and for a lone ``access_token`` (nothing to fetch a token with).
    Raises ConnectionOptionsError when the module would refuse the options anyway.
    """
    return tenant_keys(params, environ)[1]


def _digest(*parts):
    return hashlib.sha256("\n".join(str(part) for part in parts).encode("utf-8")).hexdigest()
