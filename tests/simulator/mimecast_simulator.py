"""Mimecast API simulator for the community.mimecast tests.

A real HTTP(S) server that behaves like Mimecast's directory group API closely enough to catch
the mistakes real users hit: it verifies API 1.0 HMAC signatures and API 2.0 bearer tokens the
way Mimecast does, keeps a group tree in memory (with an invisible root, non-unique names and
ids that change over time), paginates, rate-limits, counts every call and injects faults.

Tests drive it through a loopback-only control API under ``/_sim/`` (see README.md beside this
file) or, from Python, through :func:`start_server`.

Standard library only, Python 3.9+; ``cryptography`` is imported only when TLS is requested.
Nothing secret (Authorization values, signatures, tokens, client secret) is ever logged.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import calendar
import copy
import hashlib
import hmac
import ipaddress
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_PATH = "/oauth/token"
FIND_GROUPS = "/api/directory/find-groups"
CREATE_GROUP = "/api/directory/create-group"
UPDATE_GROUP = "/api/directory/update-group"
DELETE_GROUP = "/api/directory/delete-group"
WRITE_PATHS = frozenset({CREATE_GROUP, UPDATE_GROUP, DELETE_GROUP})
GET_GROUP_MEMBERS = "/api/directory/get-group-members"
ADD_GROUP_MEMBER = "/api/directory/add-group-member"
REMOVE_GROUP_MEMBER = "/api/directory/remove-group-member"
MEMBER_PATHS = frozenset({GET_GROUP_MEMBERS, ADD_GROUP_MEMBER, REMOVE_GROUP_MEMBER})

CREDENTIAL_KEYS = ("access_key", "secret_key", "app_id", "app_key", "client_id", "client_secret")
# Values that must never leave the simulator (config answers, logs).
SECRET_KEYS = frozenset({"secret_key", "app_key", "client_secret"})

DEFAULT_CONFIG = {
    "access_key": "mc-sim-access-key",
    "secret_key": base64.b64encode(b"mimecast-simulator-secret-key-0001").decode("ascii"),
    "app_id": "mc-sim-app-id",
    "app_key": "mc-sim-app-key",
    "client_id": "mc-sim-client-id",
    "client_secret": "mc-sim-client-secret",
    "page_size_default": 25,
    "page_size_max": 100,
    "date_skew_seconds": 900,
    "token_ttl": 1800,
    # High enough that ordinary tests never notice the limiter.
    "rate_limit": 1_000_000,
    "rate_window_ms": 60_000,
    "id_mode": "stable",
    "binding_expired": False,
    "forbidden_paths": [],
    # The most `data` items one request may carry (0: no cap). A request with more is refused whole,
    # with HTTP 400 and nothing executed, so a test can prove that a client splits its writes into batches.
    "max_items_per_request": 0,
    # Member values (lower-case) that add-group-member refuses item by item (err_folder_member_not_allowed), the
    # other items of the call still running: how a test gets one refused member inside a batch.
    "refused_members": [],
}
# Smallest accepted value of each integer setting.
INT_MINIMUMS = {
    "page_size_default": 1,
    "page_size_max": 1,
    "date_skew_seconds": 0,
    "token_ttl": 0,
    "rate_limit": 0,
    "rate_window_ms": 1,
    "max_items_per_request": 0,
}
ID_MODES = ("stable", "per_response")
SOURCES = ("cloud", "ldap")

FAULT_KINDS = frozenset(
    {
        "rate_limit",
        "server_error",
        "drop_before",
        "drop_after",
        "delay",
        "non_json",
        "fail_200",
        "expire_token",
        "partial_answer",
        "not_found",
        "deleted_first",
        "land_late",
    }
)
REQUEST_LOG_SIZE = 1000
MAX_BODY_BYTES = 10 * 1024 * 1024

# Member values: an address has exactly one "@", a non-empty local part without white space, and a
# host name (at least two labels of letters, digits and inner hyphens) as domain; a domain is that host name.
_HOST_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.ASCII)
_LOCAL_PART_RE = re.compile(r"^[^\s@]{1,64}$")

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# `%a, %d %b %Y %H:%M:%S UTC` (or GMT). Parsed by hand so the process locale cannot matter;
# a one-digit day is accepted because Mimecast's own Java sample produces it.
_DATE_RE = re.compile(
    rf"^(?:{'|'.join(_DAY_NAMES)}), (\d\d?) ({'|'.join(_MONTH_NAMES)}) (\d\d\d\d) (\d\d):(\d\d):(\d\d) (?:UTC|GMT)$",
    re.ASCII,
)


# --------------------------------------------------------------------------------------------
# Signing helpers (also used by the tests and handy for debugging a client)
# --------------------------------------------------------------------------------------------


def compute_signature(secret_key: str, app_key: str, date: str, request_id: str, path: str) -> str:
    """Return base64(HMAC-SHA1(base64decode(secret_key), "date:request_id:path:app_key"))."""
    data_to_sign = f"{date}:{request_id}:{path}:{app_key}".encode()
    digest = hmac.new(base64.b64decode(secret_key), data_to_sign, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization_header(access_key: str, secret_key: str, app_key: str, date: str, request_id: str, path: str) -> str:
    """Return the API 1.0 ``Authorization`` header value ``MC {accessKey}:{signature}``."""
    return f"MC {access_key}:{compute_signature(secret_key, app_key, date, request_id, path)}"


def format_mc_date(timestamp: float | None = None) -> str:
    """Format a UNIX time as Mimecast's ``x-mc-date`` (``Sun, 21 Aug 2022 13:49:40 UTC``)."""
    moment = time.gmtime(time.time() if timestamp is None else timestamp)
    return (
        f"{_DAY_NAMES[moment.tm_wday]}, {moment.tm_mday:02d} {_MONTH_NAMES[moment.tm_mon - 1]} {moment.tm_year:04d} "
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} UTC"
    )


def parse_mc_date(value: str) -> float | None:
    """Return the UNIX time of an ``x-mc-date`` value, or None when it is not in Mimecast's format."""
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    day, month, year, hour, minute, second = (int(part) if part.isdigit() else part for part in match.groups())
    if not (1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    return float(calendar.timegm((year, _MONTH_NAMES.index(month) + 1, day, hour, minute, second)))


def member_kind(value: str) -> str | None:
    """``"address"``, ``"domain"`` or None (not a valid member value), by the rules Mimecast applies."""
    if not value or not value.isprintable() or any(ch.isspace() for ch in value):
        return None
    local, at, host = value.lower().rpartition("@")
    if at and (not _LOCAL_PART_RE.match(local)):
        return None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    if not all(_HOST_LABEL_RE.match(label) for label in labels):
        return None
    return "address" if at else "domain"


def raw_member_ok(value: str) -> bool:
    """True for a value a tenant may hold although ``member_kind`` refuses it: non-empty, printable, no white space."""
    return bool(value) and value.isprintable() and not any(ch.isspace() for ch in value)


def _same(left: str, right: str) -> bool:
    # compare_digest refuses non-ASCII str; header values may hold any latin-1 character.
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Responses and errors
# --------------------------------------------------------------------------------------------


def error_entry(code: str, message: str, field: str | None = None, retryable: bool = False) -> dict:
    entry = {"code": code, "message": message, "retryable": retryable}
    if field:
        entry["field"] = field
    return entry


def error_envelope(status: int, code: str, message: str, retryable: bool = False) -> dict:
    """The body Mimecast sends when a whole call fails (auth, rate limit, malformed request...)."""
    return {"meta": {"status": status}, "data": [], "fail": [{"errors": [error_entry(code, message, None, retryable)]}]}


class Reply:
    """One HTTP answer: a JSON payload or a raw body, plus extra headers."""

    def __init__(self, status: int, payload=None, *, body: bytes | None = None, content_type="application/json"):
        self.status = status
        self.body = body if body is not None else json.dumps(payload).encode("utf-8")
        self.content_type = content_type
        self.headers: dict[str, str] = {}


class ApiError(Exception):
    """A failure of the whole call, answered with the error envelope."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ItemError(Exception):
    """A failure of one ``data`` item; the other items of the call still run."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class ControlError(ValueError):
    """A bad request to the control API or a bad start-up option."""


def validate_config(updates) -> dict:
    """Check config keys and value types; return them normalised (``mc_sim_`` prefixes stripped)."""
    if not isinstance(updates, dict):
        raise ControlError("config must be a JSON object")
    clean = {}
    for key, value in updates.items():
        name = key.removeprefix("mc_sim_")
        if name not in DEFAULT_CONFIG:
            raise ControlError(f"unknown config key: {key}")
        if name in CREDENTIAL_KEYS:
            if not isinstance(value, str) or not value:
                raise ControlError(f"{name} must be a non-empty string")
            if name == "secret_key":
                try:
                    base64.b64decode(value, validate=True)
                except binascii.Error:
                    raise ControlError("secret_key must be base64") from None
        elif name in INT_MINIMUMS:
            if isinstance(value, bool) or not isinstance(value, int) or value < INT_MINIMUMS[name]:
                raise ControlError(f"{name} must be an integer >= {INT_MINIMUMS[name]}")
        elif name == "binding_expired":
            if not isinstance(value, bool):
                raise ControlError("binding_expired must be true or false")
        elif name == "forbidden_paths":
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                raise ControlError("forbidden_paths must be a list of paths")
            value = list(value)
        elif name == "refused_members":
            if not isinstance(value, list) or not all(isinstance(v, str) and member_kind(v) for v in value):
                raise ControlError("refused_members must be a list of valid addresses and domains")
            value = [v.lower() for v in value]
        elif name == "id_mode" and value not in ID_MODES:
            raise ControlError(f"id_mode must be one of {', '.join(ID_MODES)}")
        clean[name] = value
    return clean


def credentials_from_env(environ=None) -> dict:
    """Credential overrides from ``MC_SIM_ACCESS_KEY`` and friends."""
    environ = os.environ if environ is None else environ
    found = {key: environ["MC_SIM_" + key.upper()] for key in CREDENTIAL_KEYS if environ.get("MC_SIM_" + key.upper())}
    return validate_config(found)


def _optional_int(rule: dict, key: str, minimum: int, default=None):
    value = rule.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{key} must be an integer >= {minimum}")
    return value


def validate_fault_rule(rule) -> dict:
    """Normalise one fault rule, adding its counters."""
    if not isinstance(rule, dict):
        raise ControlError("each fault rule must be an object")
    kind = rule.get("kind")
    if kind not in FAULT_KINDS:
        raise ControlError(f"fault kind must be one of {', '.join(sorted(FAULT_KINDS))}")
    path = rule.get("path")
    if path is not None and not isinstance(path, str):
        raise ControlError("fault path must be a string")
    probability = rule.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        raise ControlError("fault probability must be between 0 and 1")
    clean = dict(rule)
    clean.update(
        kind=kind,
        path=path,
        probability=float(probability),
        times=_optional_int(rule, "times", 0),
        after=_optional_int(rule, "after", 0, 0),
        matched=0,
        injected=0,
    )
    if kind == "rate_limit":
        clean["reset_ms"] = _optional_int(rule, "reset_ms", 0, 1000)
        clean["retry_after"] = _optional_int(rule, "retry_after", 0)
    elif kind == "server_error":
        clean["status"] = _optional_int(rule, "status", 500, 500)
        if clean["status"] > 599:
            raise ControlError("server_error status must be 5xx")
    elif kind == "delay":
        clean["ms"] = _optional_int(rule, "ms", 0, 500)
    elif kind == "partial_answer":
        clean["answered"] = _optional_int(rule, "answered", 0, 1)
    elif kind == "land_late":
        clean["ms"] = _optional_int(rule, "ms", 0, 1500)
        answer = rule.get("answer", "drop")
        if answer != "drop" and (isinstance(answer, bool) or not isinstance(answer, int) or not 500 <= answer <= 599):
            raise ControlError('land_late answer must be "drop" or a 5xx status')
        clean["answer"] = answer
    return clean


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class Group:
    """A group (Mimecast calls it a folder). The invisible root is a Group with no parent."""

    __slots__ = (
        "aliases",
        "canonical_id",
        "children",
        "members",
        "name",
        "parent",
        "serial",
        "source",
        "user_count",
    )

    def __init__(self, serial: int, name: str, parent: Group | None, source: str, user_count: int):
        self.serial = serial
        self.canonical_id = ""
        self.aliases: list[str] = []  # every id string that resolves to this group, oldest first
        self.name = name
        self.parent = parent
        self.source = source
        self.user_count = user_count
        self.children: set[int] = set()
        # lower-case address or domain -> member record (without emailAddress/domain), insertion order
        self.members: dict[str, dict] = {}

    def path_names(self) -> list[str]:
        names, node = [], self
        while node.parent is not None:
            names.append(node.name)
            node = node.parent
        return names[::-1]

    def is_self_or_ancestor_of(self, other: Group) -> bool:
        node = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False


class SimulatorState:
    """Everything the simulator knows. Every public method takes ``self.lock``."""

    def __init__(self, config: dict | None = None):
        self.lock = threading.RLock()
        base = copy.deepcopy(DEFAULT_CONFIG)
        base.update(credentials_from_env())
        base.update(validate_config(config or {}))
        # What /_sim/reset returns to: defaults, then environment, then start-up options.
        self._base_config = base
        # Signs page tokens so a forged or mangled token is detected.
        self._page_token_key = secrets.token_bytes(16)
        # Every value derived from a secret that crossed the wire (tokens issued or presented, signatures
        # and Authorization values presented), so tests can prove none leaks into output. It outlives
        # /_sim/reset, since leak checks span scenarios that reset; DELETE /_sim/derived-secrets clears it.
        self._derived_secrets: set[str] = set()
        # Issued bearer tokens: the token service's state, not the directory's, so they outlive /_sim/reset as
        # Mimecast's outlive changes to a directory (a run keeps its token across scenarios that reset);
        # /_sim/expire-tokens (or an expire_token fault) revokes them.
        self._tokens: dict[str, list] = {}  # token -> [client_id, expires_at (monotonic)]
        self.reset()

    # ---- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.config = copy.deepcopy(self._base_config)
            self._serials = 0
            self._groups: dict[int, Group] = {}  # creation order (dicts keep insertion order)
            self._by_id: dict[str, Group] = {}  # every live id string, aliases included
            self.root = self._new_group("", None, "cloud", 0)
            self._seen_request_ids: dict[str, float] = {}  # x-mc-req-id -> wall time first seen
            self._rate: dict[str, list] = {}  # credential -> [window start (monotonic), calls]
            self._fault_rules: list[dict] = []
            self._member_serial = 0
            self._fault_seed = 0
            self._fault_rng = random.Random(0)
            self.reset_stats()

    def reset_stats(self) -> None:
        with self.lock:
            self.stats = {
                "total": 0,
                "by_path": {},
                "by_auth": {"hmac": 0, "bearer": 0},
                "token_requests": 0,
                "writes": 0,
                "rejected": 0,
                "rate_limited": 0,
                "faults": {},
                # data items carried by the calls that ran, per path (a batch of 100 members counts 100)
                "items": {},
                # calls of the land_late fault that ran in the background, after their answer
                "late_landings": 0,
            }
            self.requests: deque = deque(maxlen=REQUEST_LOG_SIZE)

    # ---- config ----------------------------------------------------------------------------

    def configure(self, updates) -> dict:
        clean = validate_config(updates if updates is not None else {})
        with self.lock:
            self.config.update(clean)
            return self.public_config()

    def public_config(self) -> dict:
        with self.lock:
            return {key: copy.deepcopy(value) for key, value in self.config.items() if key not in SECRET_KEYS}

    # ---- ids and records -------------------------------------------------------------------

    def _mint_id(self, group: Group) -> str:
        # Shaped like Mimecast's ids ("eNo" + base64url); only ever compared as opaque strings.
        while True:
            new_id = "eNo" + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode("ascii").rstrip("=")
            if new_id not in self._by_id:
                break
        self._by_id[new_id] = group
        group.aliases.append(new_id)
        return new_id

    def _new_group(self, name: str, parent: Group | None, source: str, user_count: int) -> Group:
        self._serials += 1
        group = Group(self._serials, name, parent, source, user_count)
        group.canonical_id = self._mint_id(group)
        if parent is not None:
            parent.children.add(group.serial)
            self._groups[group.serial] = group
        return group

    def _response_ids(self):
        """Return a function giving the id string to show for a group in this one response."""
        if self.config["id_mode"] != "per_response":
            return lambda group: group.canonical_id
        minted: dict[int, str] = {}

        def fresh(group: Group) -> str:
            # One new alias per group per response, so a response stays self-consistent.
            if group.serial not in minted:
                minted[group.serial] = self._mint_id(group)
            return minted[group.serial]

        return fresh

    @staticmethod
    def _api_record(group: Group, show_id) -> dict:
        return {
            "id": show_id(group),
            "description": group.name,
            "parentId": show_id(group.parent),
            "source": group.source,
            "folderCount": len(group.children),
            "userCount": group.user_count,
        }

    @staticmethod
    def _sim_record(group: Group) -> dict:
        return {
            "id": group.canonical_id,
            "name": group.name,
            "parent_id": group.parent.canonical_id,
            "path": "/".join(group.path_names()),
            "source": group.source,
            "folder_count": len(group.children),
            "user_count": group.user_count,
            "aliases": list(group.aliases),
        }

    def groups_snapshot(self, body=None) -> dict:
        """Every group in creation order; with ``members`` in ``body`` (``?members=1``) each with its sorted
        ``members`` too, so a test checks a whole directory's memberships in one control call."""
        members = isinstance(body, dict) and body.get("members") not in (None, "", "0", False)
        with self.lock:
            records = []
            for group in self._groups.values():
                record = self._sim_record(group)
                if members:
                    record["members"] = sorted(group.members)
                records.append(record)
            return {"root_id": self.root.canonical_id, "groups": records}

    def rotate_ids(self) -> dict:
        """Give the root and every group a new canonical id; old ids stay valid as aliases."""
        with self.lock:
            for group in [self.root, *self._groups.values()]:
                group.canonical_id = self._mint_id(group)
            return self.groups_snapshot()

    # ---- seeding ---------------------------------------------------------------------------

    def seed(self, body) -> dict:
        """Create groups from ``{"groups": [{"name", "parent", "source", "count"}, ...]}``."""
        entries = body.get("groups") if isinstance(body, dict) else body
        if not isinstance(entries, list):
            raise ControlError('seed needs {"groups": [...]}')
        with self.lock:
            # Validate everything first so a bad entry leaves the tree untouched.
            plans = [self._seed_plan(entry) for entry in entries]
            # (parent serial, name) -> the oldest such group: one pass over the tree, then a dict look-up per
            # path part, so seeding thousands of groups stays linear in their number.
            oldest: dict[tuple, Group] = {}
            for group in self._groups.values():  # creation order: the first seen is the oldest
                oldest.setdefault((group.parent.serial, group.name), group)
            created = []
            for name, parent_ref, source, count, user_count in plans:
                parent = parent_ref if isinstance(parent_ref, Group) else self._ensure_path(parent_ref, oldest)
                for _copy in range(count):
                    group = self._new_group(name, parent, source, user_count)
                    oldest.setdefault((parent.serial, name), group)
                    created.append(group)
            return {"groups": [self._sim_record(g) for g in created]}

    def _seed_plan(self, entry):
        if not isinstance(entry, dict):
            raise ControlError("each seed entry must be an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ControlError("each seed entry needs a non-empty name")
        source = entry.get("source", "cloud")
        if source not in SOURCES:
            raise ControlError("source must be cloud or ldap")
        count = _optional_int(entry, "count", 0, 1)
        user_count = _optional_int(entry, "user_count", 0, 0)
        if entry.get("parent_id") is not None:
            parent = self._by_id.get(entry["parent_id"]) if isinstance(entry["parent_id"], str) else None
            if parent is None:
                raise ControlError("unknown parent_id")
            return name, parent, source, count, user_count
        parent_path = entry.get("parent")
        if parent_path is None or parent_path == "":
            names = []
        elif isinstance(parent_path, str):
            names = [part for part in parent_path.split("/") if part]
        elif isinstance(parent_path, list) and all(isinstance(p, str) and p for p in parent_path):
            names = list(parent_path)  # lets a test use names that contain "/"
        else:
            raise ControlError("parent must be a path string or a list of names")
        return name, names, source, count, user_count

    def _ensure_path(self, names: list[str], oldest: dict) -> Group:
        node = self.root
        for name in names:
            # Names are not unique; like the brief says, an ambiguous part resolves to the oldest.
            match = oldest.get((node.serial, name))
            if match is None:
                match = oldest[(node.serial, name)] = self._new_group(name, node, "cloud", 0)
            node = match
        return node

    # ---- tokens ----------------------------------------------------------------------------

    def issue_token(self, form: dict) -> Reply:
        """Answer ``POST /oauth/token`` (client_credentials grant)."""
        with self.lock:
            self.stats["token_requests"] += 1

            def field(name: str) -> str:
                values = form.get(name) or [""]
                return values[0]

            if field("grant_type") != "client_credentials":
                return Reply(
                    400,
                    {"error": "unsupported_grant_type", "error_description": "only client_credentials is supported"},
                )
            if not (
                _same(field("client_id"), self.config["client_id"])
                and _same(field("client_secret"), self.config["client_secret"])
            ):
                self.stats["rejected"] += 1
                return Reply(401, {"error": "invalid_client", "error_description": "client authentication failed"})
            token = secrets.token_urlsafe(32)
            self._remember_derived(token)
            ttl = self.config["token_ttl"]
            self._tokens[token] = [self.config["client_id"], time.monotonic() + ttl]
            reply = Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl})
            reply.headers["Cache-Control"] = "no-store"
            return reply

    def _remember_derived(self, *values: str) -> None:
        if len(self._derived_secrets) < 100_000:
            self._derived_secrets.update(v for v in values if len(v) >= 8)

    def derived_secrets(self) -> dict:
        with self.lock:
            return {"values": sorted(self._derived_secrets)}

    def forget_derived_secrets(self) -> dict:
        with self.lock:
            self._derived_secrets.clear()
            return {"ok": True}

    def expire_tokens(self) -> dict:
        with self.lock:
            expired_at = time.monotonic() - 1
            for entry in self._tokens.values():
                entry[1] = min(entry[1], expired_at)
            return {"expired": len(self._tokens)}

    # ---- authentication and rate limiting --------------------------------------------------

    def _authenticate(self, headers, path: str) -> str:
        """Verify the caller like Mimecast does; return its rate-limit bucket or raise ApiError."""
        header = (headers.get("Authorization") or "").strip()
        if not header:
            raise ApiError(400, "err_xdk_missing_authorization", "the Authorization header is missing")
        scheme, _space, credentials = header.partition(" ")
        self._remember_derived(header, credentials.strip(), credentials.rpartition(":")[2])
        if scheme.lower() == "bearer":
            bucket = self._authenticate_bearer(credentials.strip())
        elif scheme.upper() == "MC":
            bucket = self._authenticate_hmac(headers, path, credentials.strip())
            if self.config["binding_expired"]:
                raise ApiError(418, "err_xdk_binding_expired", "the access key binding has expired")
        else:
            raise ApiError(401, "err_xdk_invalid_signature", "unsupported Authorization scheme")
        if path in self.config["forbidden_paths"]:
            raise ApiError(403, "app_forbidden", "the application has no permission for this endpoint")
        return bucket

    def _authenticate_hmac(self, headers, path: str, credentials: str) -> str:
        date, request_id, app_id = (headers.get(name) for name in ("x-mc-date", "x-mc-req-id", "x-mc-app-id"))
        for name, value in (("x-mc-date", date), ("x-mc-req-id", request_id), ("x-mc-app-id", app_id)):
            if not value:
                raise ApiError(400, "err_xdk_missing_header", f"the {name} header is missing")
        access_key, _colon, signature = credentials.rpartition(":")
        config = self.config
        if not access_key or not _same(access_key, config["access_key"]):
            raise ApiError(401, "err_xdk_invalid_signature", "unknown access key")
        if not _same(app_id, config["app_id"]):
            raise ApiError(401, "err_xdk_invalid_signature", "the application id does not match the access key")
        expected = compute_signature(config["secret_key"], config["app_key"], date, request_id, path)
        if not _same(signature, expected):
            raise ApiError(401, "err_xdk_invalid_signature", "the request signature is invalid")
        sent_at = parse_mc_date(date)
        now = time.time()
        skew = config["date_skew_seconds"]
        if sent_at is None or abs(now - sent_at) > skew:
            raise ApiError(401, "err_xdk_invalid_date", "x-mc-date is malformed or too far from the server time")
        # A request id can only be replayed while its date is still fresh, so ids older than
        # twice the allowed skew can be forgotten (dict order is arrival order).
        while self._seen_request_ids:
            oldest = next(iter(self._seen_request_ids))
            if now - self._seen_request_ids[oldest] <= 2 * skew + 60:
                break
            del self._seen_request_ids[oldest]
        if request_id in self._seen_request_ids:
            raise ApiError(401, "err_xdk_duplicate_request_id", "x-mc-req-id has already been used")
        self._seen_request_ids[request_id] = now
        return "hmac:" + access_key

    def _authenticate_bearer(self, token: str) -> str:
        entry = self._tokens.get(token)
        if entry is None:
            raise ApiError(401, "err_xdk_invalid_token", "the bearer token is not valid")
        if time.monotonic() >= entry[1]:
            raise ApiError(401, "err_xdk_token_expired", "the bearer token has expired")
        return "bearer:" + entry[0]

    def rate_headers(self, bucket: str | None = None) -> dict:
        """Rate-limit headers without spending a call (for answers given before authentication)."""
        with self.lock:
            limit = self.config["rate_limit"]
            window = self._rate.get(bucket) if bucket else None
            if window is None or time.monotonic() - window[0] >= self.config["rate_window_ms"] / 1000:
                return self._format_rate(limit, limit, 0)
            return self._format_rate(
                limit, max(limit - window[1], 0), 0 if window[1] < limit else self._reset_ms(window)
            )

    def _reset_ms(self, window) -> int:
        left = window[0] + self.config["rate_window_ms"] / 1000 - time.monotonic()
        return max(math.ceil(left * 1000), 1)

    @staticmethod
    def _format_rate(limit: int, remaining: int, reset_ms: int) -> dict:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset_ms),
        }

    def _spend_call(self, bucket: str):
        """Fixed window per credential. Return (allowed, headers)."""
        limit = self.config["rate_limit"]
        now = time.monotonic()
        window = self._rate.get(bucket)
        if window is None or now - window[0] >= self.config["rate_window_ms"] / 1000:
            window = self._rate[bucket] = [now, 0]
        allowed = window[1] < limit
        if allowed:
            window[1] += 1
        remaining = limit - window[1]
        # Reset = milliseconds until at least one more call is allowed (0 while calls are left).
        return allowed, self._format_rate(limit, remaining, 0 if remaining > 0 else self._reset_ms(window))

    # ---- the API ---------------------------------------------------------------------------

    def api_call(self, path: str, headers, body: bytes, fault: dict | None = None) -> Reply:
        """Authenticate, rate-limit and run one ``/api/...`` call.

        ``fault`` (a rule picked for this call) shapes the answer of a call that runs: ``partial_answer`` runs
        and answers only the first ``answered`` items (the others are not run, and no ``fail`` entry says so);
        ``not_found`` runs no item and answers each with ``err_folder_not_found``, whether its group exists or not.
        ``deleted_first`` deletes the group of each item's ``id`` first (as another client would; a group with
        children stays), then runs the call: a delete is answered ``err_folder_not_found`` by the call itself.
        """
        with self.lock:
            try:
                bucket = self._authenticate(headers, path)
            except ApiError as exc:
                self.stats["rejected"] += 1
                reply = Reply(exc.status, error_envelope(exc.status, exc.code, exc.message))
                reply.headers.update(self.rate_headers())
                return reply
            allowed, rate = self._spend_call(bucket)
            if not allowed:
                self.stats["rate_limited"] += 1
                reply = Reply(429, error_envelope(429, "err_rate_limit_exceeded", "rate limit exceeded, retry later"))
            else:
                try:
                    payload = _parse_envelope(body)
                    self._check_item_cap(payload)
                except ApiError as exc:
                    reply = Reply(exc.status, error_envelope(exc.status, exc.code, exc.message))
                else:
                    self.stats["items"][path] = self.stats["items"].get(path, 0) + len(payload.get("data") or [])
                    kind = fault["kind"] if fault else None
                    if kind == "partial_answer":
                        payload = dict(payload, data=list(payload.get("data") or [])[: fault["answered"]])
                    if kind == "deleted_first":
                        self._delete_first(payload)
                    if kind == "not_found":
                        reply = Reply(200, self._not_found(payload))
                    else:
                        reply = Reply(200, self._execute(path, payload))
            reply.headers.update(rate)
            return reply

    @staticmethod
    def _not_found(payload: dict) -> dict:
        """The answer of the ``not_found`` fault: every item refused as if its group did not exist; none runs."""
        error = error_entry("err_folder_not_found", "no group has the id given in id", "id")
        fail = [{"key": item, "errors": [error]} for item in payload.get("data") or []]
        return {"meta": {"status": 200}, "data": [], "fail": fail}

    def _delete_first(self, payload: dict) -> None:
        """The ``deleted_first`` fault: another client deletes the group of each item's ``id`` just before the call
        runs (a group with children, an ldap group or an unknown id is left alone)."""
        chosen = []
        for item in payload.get("data") or []:
            group = self._by_id.get(item.get("id")) if isinstance(item, dict) else None
            if group is not None and group is not self.root and not group.children and group.source != "ldap":
                chosen.append(group)  # chosen before any goes: a parent of a chosen child keeps its child
        for group in chosen:
            if group.serial not in self._groups:
                continue
            group.parent.children.discard(group.serial)
            del self._groups[group.serial]
            for alias in group.aliases:
                self._by_id.pop(alias, None)

    def _check_item_cap(self, payload: dict) -> None:
        """Refuse a request with more ``data`` items than ``max_items_per_request`` (0: no cap).

        The whole request is refused before any item runs (HTTP 400, ``err_request_too_many_items``),
        the way an API refuses a body over its limit; it counts as ``rejected`` in the stats.
        """
        cap = self.config["max_items_per_request"]
        items = payload.get("data") or []
        if cap and len(items) > cap:
            self.stats["rejected"] += 1
            raise ApiError(
                400,
                "err_request_too_many_items",
                f"a request may carry at most {cap} data items; this one has {len(items)}",
            )

    def _execute(self, path: str, payload: dict) -> dict:
        items = payload.get("data") or []
        show_id = self._response_ids()
        if path == FIND_GROUPS:
            return self._find_groups(items or [{}], payload.get("meta") or {}, show_id)
        if path in MEMBER_PATHS:
            return self._member_call(path, items, payload.get("meta") or {}, show_id)
        operation = {
            CREATE_GROUP: self._create_group,
            UPDATE_GROUP: self._update_group,
            DELETE_GROUP: self._delete_group,
        }[path]
        data, fail = [], []
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise ItemError("err_request_malformed", "each data item must be a JSON object")
                data.extend(operation(item, show_id))
            except ItemError as exc:
                fail.append({"key": item, "errors": [error_entry(exc.code, exc.message, exc.field)]})
        if path in WRITE_PATHS:
            self.stats["writes"] += 1
        return {"meta": {"status": 200}, "data": data, "fail": fail}

    def _find_groups(self, items: list, meta: dict, show_id) -> dict:
        data, fail, pagination = [], [], None
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise ItemError("err_request_malformed", "each data item must be a JSON object")
                size, offset = self._page_request(meta.get("pagination") or {})
                query, source = item.get("query"), item.get("source")
                if query is not None and not isinstance(query, str):
                    raise ItemError("err_validation_invalid_type", "query must be a string", "query")
                if source not in (None, "", *SOURCES):
                    raise ItemError("err_validation_invalid_value", "source must be cloud or ldap", "source")
                needle = (query or "").casefold()
                matches = [
                    g
                    for g in self._groups.values()
                    if needle in g.name.casefold() and (not source or g.source == source)
                ]
                page, item_pagination = self._page_of(matches, size, offset)
                data.append({"folders": [self._api_record(g, show_id) for g in page], "source": source, "query": query})
                pagination = pagination or item_pagination
            except ItemError as exc:
                fail.append({"key": item, "errors": [error_entry(exc.code, exc.message, exc.field)]})
        meta_out = {"status": 200}
        if pagination is not None:
            meta_out["pagination"] = pagination
        return {"meta": meta_out, "data": data, "fail": fail}

    def _page_of(self, values: list, size: int, offset: int) -> tuple:
        """One page of ``values`` and the ``meta.pagination`` that goes with it (the first item's wins)."""
        pagination = {"pageSize": size, "totalCount": len(values)}
        if offset + size < len(values):
            pagination["next"] = self._page_token(offset + size)
        if offset > 0:
            pagination["previous"] = self._page_token(max(offset - size, 0))
        return values[offset : offset + size], pagination

    def _page_request(self, pagination) -> tuple:
        if not isinstance(pagination, dict):
            raise ItemError("err_request_malformed", "meta.pagination must be an object", "pagination")
        size = pagination.get("pageSize", self.config["page_size_default"])
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ItemError("err_validation_page_size", "pageSize must be a positive integer", "pageSize")
        size = min(size, self.config["page_size_max"])
        token = pagination.get("pageToken")
        offset = 0 if token in (None, "") else self._page_offset(token)
        return size, offset

    def _page_token(self, offset: int) -> str:
        mac = hmac.new(self._page_token_key, str(offset).encode("ascii"), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{offset}:{mac}".encode("ascii")).decode("ascii").rstrip("=")

    def _page_offset(self, token) -> int:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            offset_text, _mac = raw.split(":")
            offset = int(offset_text)
        except (TypeError, ValueError):  # binascii.Error and UnicodeDecodeError are ValueErrors
            offset = -1
        if offset < 0 or self._page_token(offset) != token:
            raise ItemError("err_validation_page_token", "the page token is not valid", "pageToken")
        return offset

    @staticmethod
    def _text(item: dict, key: str) -> str:
        value = item.get(key)
        if value is None:
            raise ItemError("err_validation_null", f"{key} must not be null", key)
        if not isinstance(value, str):
            raise ItemError("err_validation_invalid_type", f"{key} must be a string", key)
        if not value.strip():
            raise ItemError("err_validation_blank", f"{key} must not be blank", key)
        return value

    def _lookup(self, group_id, field: str, allow_root: bool) -> Group:
        group = self._by_id.get(group_id) if isinstance(group_id, str) else None
        if group is None or (group is self.root and not allow_root):
            raise ItemError("err_folder_not_found", f"no group has the id given in {field}", field)
        return group

    def _create_group(self, item: dict, show_id) -> list:
        name = self._text(item, "description")
        parent_id = item.get("parentId")
        # Only an absent (or null) parentId means "root"; "" is an unknown id, as it would be for Mimecast.
        parent = self.root if parent_id is None else self._lookup(parent_id, "parentId", allow_root=True)
        return [self._api_record(self._new_group(name, parent, "cloud", 0), show_id)]

    def _editable_group(self, item: dict) -> Group:
        if item.get("id") is None:
            raise ItemError("err_validation_null", "id must not be null", "id")
        group = self._lookup(item["id"], "id", allow_root=False)
        if group.source == "ldap":
            raise ItemError("err_folder_read_only", "the group is synchronised from a directory (ldap)", "id")
        return group

    def _update_group(self, item: dict, show_id) -> list:
        group = self._editable_group(item)
        rename, move = item.get("description") is not None, item.get("parentId") is not None
        if not (rename or move):
            raise ItemError("err_validation_at_least_one_not_null", "give description or parentId")
        name = self._text(item, "description") if rename else group.name
        parent = self._lookup(item["parentId"], "parentId", allow_root=True) if move else group.parent
        if group.is_self_or_ancestor_of(parent):
            raise ItemError(
                "err_folder_invalid_parent", "a group cannot move under itself or its descendant", "parentId"
            )
        group.name = name
        if parent is not group.parent:
            group.parent.children.discard(group.serial)
            parent.children.add(group.serial)
            group.parent = parent
        return [self._api_record(group, show_id)]

    def _delete_group(self, item: dict, show_id) -> list:
        group = self._editable_group(item)
        if group.children:
            raise ItemError("err_folder_has_children", "delete the child groups first", "id")
        group.parent.children.discard(group.serial)
        del self._groups[group.serial]
        for alias in group.aliases:
            self._by_id.pop(alias, None)
        return [{"id": item["id"]}]

    # ---- members ---------------------------------------------------------------------------
    # A group holds addresses and whole domains, keyed by their lower-case value (Mimecast keeps them
    # lower-case). userCount moves with every member added or removed, so it stays consistent.

    def _member_call(self, path: str, items: list, meta: dict, show_id) -> dict:
        if path == GET_GROUP_MEMBERS:
            return self._get_group_members(items or [{}], meta, show_id)
        operation = self._add_group_member if path == ADD_GROUP_MEMBER else self._remove_group_member
        data, fail = [], []
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise ItemError("err_request_malformed", "each data item must be a JSON object")
                data.append(operation(item, show_id))
            except ItemError as exc:
                fail.append({"key": item, "errors": [error_entry(exc.code, exc.message, exc.field)]})
        self.stats["writes"] += 1
        return {"meta": {"status": 200}, "data": data, "fail": fail}

    def _get_group_members(self, items: list, meta: dict, show_id) -> dict:
        data, fail, pagination = [], [], None
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise ItemError("err_request_malformed", "each data item must be a JSON object")
                size, offset = self._page_request(meta.get("pagination") or {})
                if item.get("id") is None:
                    raise ItemError("err_validation_null", "id must not be null", "id")
                group = self._lookup(item["id"], "id", allow_root=False)
                page, item_pagination = self._page_of(list(group.members), size, offset)
                data.append({"groupMembers": [self._member_record(v, group.members[v]) for v in page]})
                pagination = pagination or item_pagination
            except ItemError as exc:
                fail.append({"key": item, "errors": [error_entry(exc.code, exc.message, exc.field)]})
        meta_out = {"status": 200}
        if pagination is not None:
            meta_out["pagination"] = pagination
        return {"meta": meta_out, "data": data, "fail": fail}

    @staticmethod
    def _member_record(value: str, record: dict) -> dict:
        # A domain member comes back with emailAddress = domain = the domain, as Mimecast has been seen to do.
        domain = value.rpartition("@")[2]
        return {
            "emailAddress": value,
            "domain": domain,
            "name": record["name"],
            "type": record["type"],
            "internal": record["internal"],
        }

    def _member_target(self, item: dict) -> tuple:
        """Check an add/remove item: ``(group, lower-case value, field)``; raise ItemError like Mimecast would."""
        if item.get("id") is None:
            raise ItemError("err_validation_null", "id must not be null", "id")
        group = self._lookup(item["id"], "id", allow_root=False)
        address, domain = item.get("emailAddress"), item.get("domain")
        if (address is None) == (domain is None):
            raise ItemError("err_validation_at_least_one_not_null", "give exactly one of emailAddress or domain")
        if address is not None:
            if not isinstance(address, str) or member_kind(address) != "address":
                raise ItemError(
                    "err_validation_invalid_email_address", "emailAddress is not a valid email address", "emailAddress"
                )
            value, field = address, "emailAddress"
        else:
            if not isinstance(domain, str) or member_kind(domain) != "domain":
                raise ItemError("err_validation_invalid_domain", "domain is not a valid domain name", "domain")
            value, field = domain, "domain"
        if group.source == "ldap":
            raise ItemError("err_folder_read_only", "the group is synchronised from a directory (ldap)", "id")
        return group, value.lower(), field

    def _add_group_member(self, item: dict, show_id) -> dict:
        group, value, field = self._member_target(item)
        if value in group.members:
            raise ItemError("err_folder_group_member_already_exists", "the member already exists in this group", field)
        if value in self.config["refused_members"]:
            raise ItemError("err_folder_member_not_allowed", "this member may not be added (refused_members)", field)
        notes = item.get("notes")
        record = self._put_member(group, value, "created_manually", notes if isinstance(notes, str) else None)
        return {"id": record["id"], "folderId": show_id(group), "emailAddress": value, "internal": record["internal"]}

    def _remove_group_member(self, item: dict, show_id) -> dict:
        group, value, field = self._member_target(item)
        record = group.members.pop(value, None)
        if record is None:
            raise ItemError("err_folder_email_address_not_found", "the group has no member with this address", field)
        group.user_count = max(group.user_count - 1, 0)
        return {"folderId": show_id(group), "emailAddress": value, "id": record["id"], "internal": record["internal"]}

    def _put_member(self, group: Group, value: str, kind: str, notes: str | None) -> dict:
        self._member_serial += 1
        record = {"id": f"mbr{self._member_serial:08d}", "name": "", "type": kind, "internal": False}
        if notes:
            record["notes"] = notes
        group.members[value] = record
        group.user_count += 1
        return record

    def _control_group(self, body: dict) -> Group:
        """The group a control call names by ``id`` (any alias) or by ``path`` (oldest on ambiguity): a string
        split on ``/``, or a list of names, which may contain ``/``."""
        path = body.get("path")
        if isinstance(path, list) and path and all(isinstance(name, str) and name for name in path):
            names = list(path)
        elif isinstance(path, str) and path.strip("/"):
            names = [part for part in path.split("/") if part]
        else:
            names = None
        if isinstance(body.get("id"), str):
            group = self._by_id.get(body["id"])
        elif names is not None:
            group = self.root
            for name in names:
                group = next((g for g in self._groups.values() if g.parent is group and g.name == name), None)
                if group is None:
                    break
        else:
            raise ControlError("give the group's id or path")
        if group is None or group is self.root:
            raise ControlError("no such group")
        return group

    def seed_members(self, body) -> dict:
        """Add members straight to a group: ``{"id"|"path", "members": [...], "count": N, "domain": "d"}``.

        ``count`` generates ``user<n>@<domain>`` addresses (default domain ``members.example``) so a test
        can give a group thousands of members in one control call. Seeded members are ``created_by_import``.

        With ``"raw": true`` the values skip the simulator's own member checks (``member_kind``), which refuse
        what ``add-group-member`` refuses: a tenant can still hold such values (synchronised or imported before
        a rule changed, such as ``svc@mail_relay.example.com``, a local part over 64 characters, or
        ``jurgen@münchen.de``). A raw value must only be a non-empty string without white space or control
        characters; it is kept lower-case and read back by ``get-group-members`` like any member.

        ``{"groups": [<such an object>, ...]}`` seeds many groups in one call (all checked first) and answers
        ``{"groups": [<one answer each>]}``.
        """
        if isinstance(body, dict) and isinstance(body.get("groups"), list) and "members" not in body:
            with self.lock:
                plans = [self._member_seed_plan(entry) for entry in body["groups"]]
                return {"groups": [self._seed_group_members(*plan) for plan in plans]}
        with self.lock:
            return self._seed_group_members(*self._member_seed_plan(body))

    def _member_seed_plan(self, body) -> tuple:
        """``(group, lower-case values)`` for one ``seed_members`` object; ControlError on a bad one."""
        if not isinstance(body, dict):
            raise ControlError('members need {"id" or "path", "members": [...], "count": N}')
        values = body.get("members", [])
        raw = body.get("raw", False)
        if not isinstance(raw, bool):
            raise ControlError("raw must be true or false")
        if raw:
            valid = all(isinstance(v, str) and raw_member_ok(v) for v in values) if isinstance(values, list) else False
        else:
            valid = isinstance(values, list) and all(isinstance(v, str) and member_kind(v) for v in values)
        if not valid:
            raise ControlError(
                "members must be a list of %s"
                % ("non-empty values without white space" if raw else "valid addresses and domains (or raw: true)")
            )
        count = _optional_int(body, "count", 0, 0)
        domain = body.get("domain", "members.example")
        if not isinstance(domain, str) or member_kind(domain) != "domain":
            raise ControlError("domain must be a valid domain name")
        group = self._control_group(body)
        return group, [v.lower() for v in values] + [f"user{n:06d}@{domain.lower()}" for n in range(1, count + 1)]

    def _seed_group_members(self, group: Group, wanted: list) -> dict:
        added = 0
        for value in wanted:
            if value not in group.members:
                self._put_member(group, value, "created_by_import", None)
                added += 1
        return {"id": group.canonical_id, "added": added, **self._members_summary(group)}

    def members_snapshot(self, body) -> dict:
        """``{"id", "path", "user_count", "count", "members": [sorted lower-case values]}`` of one group."""
        if not isinstance(body, dict):
            raise ControlError("give the group's id or path, e.g. /_sim/members?id=...")
        with self.lock:
            group = self._control_group(body)
            return {"id": group.canonical_id, "path": "/".join(group.path_names()), **self._members_summary(group)}

    @staticmethod
    def _members_summary(group: Group) -> dict:
        return {"user_count": group.user_count, "count": len(group.members), "members": sorted(group.members)}

    # ---- faults ----------------------------------------------------------------------------

    def set_faults(self, body) -> dict:
        if isinstance(body, list) or body is None:
            seed, rules = 0, body or []
        elif isinstance(body, dict):
            seed, rules = body.get("seed", 0), body.get("rules", [])
        else:
            raise ControlError('faults need {"seed": N, "rules": [...]}')
        if not isinstance(rules, list):
            raise ControlError("rules must be a list")
        if isinstance(seed, bool) or not isinstance(seed, (int, str)):
            raise ControlError("seed must be an integer or a string")
        clean = [validate_fault_rule(rule) for rule in rules]
        with self.lock:
            self._fault_rules, self._fault_seed, self._fault_rng = clean, seed, random.Random(seed)
            return self.faults_snapshot()

    def faults_snapshot(self) -> dict:
        with self.lock:
            return {"seed": self._fault_seed, "rules": copy.deepcopy(self._fault_rules)}

    def pick_fault(self, path: str) -> dict | None:
        """Choose the fault (if any) for this request; the first eligible rule wins."""
        with self.lock:
            chosen = None
            for rule in self._fault_rules:
                if rule["path"] != path and (rule["path"] is not None or not path.startswith("/api/")):
                    continue
                rule["matched"] += 1  # every matching request counts towards `after`
                if chosen is not None or rule["matched"] <= rule["after"]:
                    continue
                if rule["times"] is not None and rule["injected"] >= rule["times"]:
                    continue
                if rule["probability"] < 1 and self._fault_rng.random() >= rule["probability"]:
                    continue
                rule["injected"] += 1
                chosen = dict(rule)
            if chosen is not None:
                faults = self.stats["faults"]
                faults[chosen["kind"]] = faults.get(chosen["kind"], 0) + 1
                if chosen["kind"] == "expire_token":
                    self.expire_tokens()
            return chosen

    # ---- counting --------------------------------------------------------------------------

    def count_request(self, path: str, auth: str | None) -> None:
        with self.lock:
            self.stats["total"] += 1
            self.stats["by_path"][path] = self.stats["by_path"].get(path, 0) + 1
            if auth in ("hmac", "bearer"):
                self.stats["by_auth"][auth] += 1

    def log_request(
        self, method: str, path: str, auth: str | None, status: int | None, fault: str | None, items: int | None = None
    ) -> None:
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "auth": auth, "status": status, "fault": fault, "items": items}
            )

    def stats_snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.stats)

    def requests_snapshot(self) -> list:
        with self.lock:
            return [dict(entry) for entry in self.requests]


def _parse_envelope(body: bytes) -> dict:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "err_request_malformed", "the request body is not valid JSON") from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("data", []), (list, type(None)))
        or not isinstance(payload.get("meta", {}), (dict, type(None)))
    ):
        raise ApiError(400, "err_request_malformed", 'the body must look like {"data": [...], "meta": {...}}')
    return payload


def _count_items(body: bytes) -> int | None:
    """How many ``data`` items a request body carries (None when it is not a valid envelope), for the log."""
    try:
        data = json.loads(body.decode("utf-8")).get("data")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    return len(data) if isinstance(data, list) else 0


def auth_kind(header: str | None) -> str | None:
    """Which API authentication a request presents: "hmac", "bearer" or None."""
    scheme = (header or "").strip().partition(" ")[0]
    if scheme.upper() == "MC":
        return "hmac"
    if scheme.lower() == "bearer":
        return "bearer"
    return None


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


def _control_routes():
    def reset(state, body):
        state.reset()
        return {"ok": True}

    def reset_stats(state, body):
        state.reset_stats()
        return {"ok": True}

    return {
        "/_sim/health": {"GET": lambda state, body: {"ok": True}},
        "/_sim/reset": {"POST": reset},
        "/_sim/seed": {"POST": lambda state, body: state.seed(body if body is not None else {})},
        "/_sim/groups": {"GET": lambda state, body: state.groups_snapshot(body)},
        "/_sim/stats": {"GET": lambda state, body: state.stats_snapshot()},
        "/_sim/stats/reset": {"POST": reset_stats},
        "/_sim/requests": {"GET": lambda state, body: state.requests_snapshot()},
        "/_sim/config": {
            "GET": lambda state, body: state.public_config(),
            "POST": lambda state, body: state.configure(body),
        },
        "/_sim/expire-tokens": {"POST": lambda state, body: state.expire_tokens()},
        "/_sim/derived-secrets": {
            "GET": lambda state, body: state.derived_secrets(),
            "DELETE": lambda state, body: state.forget_derived_secrets(),
        },
        "/_sim/rotate-ids": {"POST": lambda state, body: state.rotate_ids()},
        "/_sim/members": {
            "GET": lambda state, body: state.members_snapshot(body),
            "POST": lambda state, body: state.seed_members(body),
        },
        "/_sim/faults": {
            "GET": lambda state, body: state.faults_snapshot(),
            "POST": lambda state, body: state.set_faults(body),
            "DELETE": lambda state, body: state.set_faults([]),
        },
    }


CONTROL_ROUTES = _control_routes()
API_PATHS = frozenset({FIND_GROUPS, CREATE_GROUP, UPDATE_GROUP, DELETE_GROUP}) | MEMBER_PATHS


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    server_version = "MimecastSimulator/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection keeps "drop" faults simple
    timeout = 60

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_OPTIONS(self):
        self._handle("OPTIONS")

    def version_string(self):
        return self.server_version

    def log_request(self, code="-", size="-"):
        pass  # _handle writes its own line, built from safe fields only

    def log_message(self, format, *args):
        if self.server.log_requests:
            sys.stderr.write(f"mc-sim: {self.client_address[0]} {format % args}\n")

    # ---- dispatch --------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path  # the query string is never logged; only control GETs read it
        is_control = path == "/_sim" or path.startswith("/_sim/")
        outcome = {"status": None, "auth": None, "fault": None}
        logged = False
        try:
            body = self._read_body()
            if body is None:
                status = 413 if self._body_too_large else 400
                reply = Reply(status, error_envelope(status, "err_request_malformed", "bad Content-Length or body"))
            elif is_control:
                reply = self._control(method, path, body)
            else:
                reply = self._api(method, path, body, outcome)
            if reply is not None:
                outcome["status"] = reply.status
            # Logged before the client can read the answer, so the log keeps the order the client sees.
            logged = True
            if not is_control:
                self.server.state.log_request(
                    method, path, outcome["auth"], outcome["status"], outcome["fault"], outcome.get("items")
                )
            if reply is None:
                self._drop()
            else:
                self._send(reply, method)
        finally:
            if not is_control and not logged:
                self.server.state.log_request(
                    method, path, outcome["auth"], outcome["status"], outcome["fault"], outcome.get("items")
                )
            if self.server.log_requests:
                elapsed_ms = int((time.monotonic() - started) * 1000)
                status = outcome["status"] if outcome["status"] is not None else "dropped"
                sys.stderr.write(
                    f"mc-sim: {self.client_address[0]} {method} {path} {status} "
                    f"auth={outcome['auth'] or '-'} fault={outcome['fault'] or '-'} {elapsed_ms}ms\n"
                )

    def _read_body(self) -> bytes | None:
        self._body_too_large = False
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self._body_too_large = length > MAX_BODY_BYTES
            return None
        return self.rfile.read(length)

    def _send(self, reply: Reply, method: str) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(reply.body)
        except OSError:
            pass  # the client went away; nothing to tell it

    def _drop(self) -> None:
        """Close the connection without any answer, like a gateway timeout or a reset."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- control API -----------------------------------------------------------------------

    def _is_loopback(self) -> bool:
        try:
            address = ipaddress.ip_address(self.client_address[0].split("%")[0])
        except ValueError:
            return False
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address).is_loopback

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        if not self._is_loopback():
            return Reply(403, {"error": "the control API only answers loopback clients"})
        routes = CONTROL_ROUTES.get(path.rstrip("/") or path)
        if routes is None:
            return Reply(404, {"error": f"unknown control path {path}"})
        action = routes.get(method)
        if action is None:
            return Reply(405, {"error": "use " + " or ".join(sorted(routes))})
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            return Reply(400, {"error": "the body must be JSON"})
        query = parse_qs(urlsplit(self.path).query)
        if method == "GET" and query and isinstance(payload, (dict, type(None))):
            # GET /_sim/members?id=...: query values, overridden by a JSON body's keys if one was sent too
            payload = {**{key: values[-1] for key, values in query.items()}, **(payload or {})}
        try:
            return Reply(200, action(self.server.state, payload))
        except ControlError as exc:
            return Reply(400, {"error": str(exc)})

    # ---- Mimecast API ----------------------------------------------------------------------

    def _api(self, method: str, path: str, body: bytes, outcome: dict) -> Reply | None:
        state = self.server.state
        outcome["auth"] = "token" if path == TOKEN_PATH else auth_kind(self.headers.get("Authorization"))
        outcome["items"] = _count_items(body) if path.startswith("/api/") else None
        if path == TOKEN_PATH or path.startswith("/api/"):
            state.count_request(path, outcome["auth"])
        if path != TOKEN_PATH and path not in API_PATHS:
            reply = Reply(404, error_envelope(404, "err_not_found", "no such endpoint"))
        elif method != "POST":
            reply = Reply(405, error_envelope(405, "err_method_not_allowed", "use POST"))
            reply.headers["Allow"] = "POST"
        else:
            reply = None
        if reply is not None:
            reply.headers.update(state.rate_headers())
            return reply

        fault = state.pick_fault(path)
        if fault is not None and fault["kind"] == "land_late" and path != TOKEN_PATH:
            outcome["fault"] = fault["kind"]
            return self._land_late(fault, path, body)
        if fault is not None:
            outcome["fault"] = fault["kind"]
            early = self._fault_reply(fault)
            if early is not None or fault["kind"] == "drop_before":
                return early
        if path == TOKEN_PATH:
            reply = state.issue_token(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
            reply.headers.update(state.rate_headers())
        else:
            reply = state.api_call(path, self.headers, body, fault)
        if fault is not None and fault["kind"] == "drop_after":
            return None  # the call ran, but the client never hears about it
        return reply

    def _land_late(self, fault: dict, path: str, body: bytes) -> Reply | None:
        """Answer at once (drop the connection, or a 5xx) and run the call ``ms`` later in the background.

        A proxy or load balancer that closed the connection, or answered 503, after the request reached Mimecast:
        the client hears a failure, and Mimecast carries the call out later all the same.
        """
        state = self.server.state
        headers = self.headers

        def land():
            time.sleep(fault["ms"] / 1000)
            state.api_call(path, headers, body)
            with state.lock:
                state.stats["late_landings"] += 1

        threading.Thread(target=land, name="mc-sim-land-late", daemon=True).start()
        if fault["answer"] == "drop":
            return None
        status = fault["answer"]
        reply = Reply(status, error_envelope(status, "err_internal", "simulated server error", True))
        reply.headers.update(state.rate_headers())
        return reply

    def _fault_reply(self, fault: dict) -> Reply | None:
        """Answer a fault that short-circuits the call; None lets the call run (maybe delayed)."""
        kind = fault["kind"]
        state = self.server.state
        if kind == "delay":
            time.sleep(fault["ms"] / 1000)
            return None
        if kind in ("drop_before", "drop_after", "expire_token", "partial_answer", "not_found", "deleted_first"):
            return None  # the handler drops, or api_call shapes the answer; expire_token already expired the tokens
        if kind == "rate_limit":
            reply = Reply(429, error_envelope(429, "err_rate_limit_exceeded", "rate limit exceeded, retry later"))
            reply.headers.update(state.rate_headers())
            reply.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(fault["reset_ms"])})
            if fault["retry_after"] is not None:
                reply.headers["Retry-After"] = str(fault["retry_after"])
            return reply
        if kind == "server_error":
            reply = Reply(
                fault["status"], error_envelope(fault["status"], "err_internal", "simulated server error", True)
            )
        elif kind == "non_json":
            reply = Reply(200, body=b"<html>gateway error</html>", content_type="text/html")
        else:  # fail_200: HTTP says fine, the body says it was not
            reply = Reply(200, error_envelope(500, "err_internal", "simulated internal error", True))
        reply.headers.update(state.rate_headers())
        return reply


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state: SimulatorState, ssl_context=None, log_requests=True):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.ssl_context = ssl_context
        self.log_requests = log_requests
        super().__init__(address, SimulatorRequestHandler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the worker thread, so a slow client cannot stall accept().
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(SimulatorRequestHandler.timeout)
        try:
            tls_socket = self.ssl_context.wrap_socket(request, server_side=True)
        except OSError as exc:  # ssl.SSLError is an OSError
            if self.log_requests:
                sys.stderr.write(f"mc-sim: {client_address[0]} TLS handshake failed: {type(exc).__name__}\n")
            return
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            self.shutdown_request(tls_socket)

    def handle_error(self, request, client_address):
        if self.log_requests:
            sys.stderr.write(f"mc-sim: error serving {client_address[0]}\n{traceback.format_exc()}")


# --------------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------------


def generate_tls_files(cert_dir: str) -> tuple:
    """Write a throw-away CA and a server cert for 127.0.0.1/localhost/::1; return their paths."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_dir = os.path.abspath(cert_dir)  # the ready file must point at it from any working directory
    os.makedirs(cert_dir, exist_ok=True)
    # dt.UTC only exists from Python 3.11; this is the same zone and works on 3.9.
    now = dt.datetime.now(dt.timezone(dt.timedelta(0)))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mimecast Simulator Test CA")])
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])

    def usage(**flags):
        names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
        names += ("key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        return x509.KeyUsage(**{name: flags.get(name, False) for name in names})

    def builder(subject, public_key):
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    # Extensions chosen so Python 3.13's VERIFY_X509_STRICT default accepts the chain.
    ca_cert = (
        builder(ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    alt_names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    server_cert = (
        builder(server_name, server_key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tuple(os.path.join(cert_dir, name) for name in ("ca.pem", "server.pem", "server-key.pem"))
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    contents = (ca_cert.public_bytes(serialization.Encoding.PEM), server_cert.public_bytes(serialization.Encoding.PEM))
    for path, data, mode in zip(paths, (*contents, key_pem), (0o644, 0o644, 0o600)):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    return paths


# --------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------


def load_seed(seed) -> dict:
    """Accept a seed as a dict/list or as the path of a JSON file holding one."""
    if isinstance(seed, (str, os.PathLike)):
        with open(seed, encoding="utf-8") as handle:
            seed = json.load(handle)
    return seed if isinstance(seed, dict) else {"groups": seed}


class SimulatorServer:
    """A simulator bound to a port. ``start()`` serves from a daemon thread."""

    def __init__(self, host="127.0.0.1", port=0, *, tls=False, cert_dir=None, seed=None, log_requests=True, **config):
        self.state = SimulatorState(config)
        if seed is not None:
            self.state.seed(load_seed(seed))
        ssl_context = None
        self.ca_cert = None
        if tls:
            cert_dir = cert_dir or tempfile.mkdtemp(prefix="mc-sim-tls-")
            self.ca_cert, cert_file, key_file = generate_tls_files(cert_dir)
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(cert_file, key_file)
        self.httpd = _HTTPServer((host, port), self.state, ssl_context, log_requests)
        self.host = host
        self.port = self.httpd.server_address[1]
        url_host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        if ":" in url_host:
            url_host = f"[{url_host}]"
        self.url = f"{'https' if tls else 'http'}://{url_host}:{self.port}"
        self._thread = None

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="mimecast-simulator", daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()

    def ready_info(self) -> dict:
        return {"url": self.url, "port": self.port, "pid": os.getpid(), "ca_cert": self.ca_cert}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown()


def start_server(host="127.0.0.1", port=0, **config) -> SimulatorServer:
    """Start a simulator in a daemon thread (for tests). Extra keywords: config keys, ``tls``,
    ``cert_dir``, ``seed`` and ``log_requests``."""
    return SimulatorServer(host, port, **config).start()


def write_ready_file(path: str, info: dict) -> None:
    # Write then rename, so a reader never sees a half-written file.
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(info, handle)
    os.replace(temporary, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Mimecast group API simulator for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help="write {url, port, pid, ca_cert} here (atomically) once listening")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a freshly generated CA")
    parser.add_argument("--cert-dir", help="where --tls writes ca.pem, server.pem, server-key.pem")
    parser.add_argument("--seed", help="JSON file in the /_sim/seed format")
    parser.add_argument("--page-size-default", type=int)
    parser.add_argument("--page-size-max", type=int)
    parser.add_argument("--rate-limit", type=int)
    parser.add_argument("--rate-window-ms", type=int)
    parser.add_argument("--id-mode", choices=ID_MODES)
    parser.add_argument("--date-skew-seconds", type=int)
    parser.add_argument("--token-ttl", type=int)
    parser.add_argument("--max-items-per-request", type=int, help="refuse requests with more data items (0: no cap)")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config_names = ("page_size_default", "page_size_max", "rate_limit", "rate_window_ms", "id_mode")
    config_names += ("date_skew_seconds", "token_ttl", "max_items_per_request")
    config = {name: getattr(args, name) for name in config_names if getattr(args, name) is not None}
    try:
        server = SimulatorServer(
            args.host,
            args.port,
            tls=args.tls,
            cert_dir=args.cert_dir,
            seed=args.seed,
            log_requests=not args.quiet,
            **config,
        )
    except (ControlError, OSError, ValueError, ImportError) as exc:
        sys.stderr.write(f"mc-sim: cannot start: {exc}\n")
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    server.start()
    if args.ready_file:
        write_ready_file(args.ready_file, server.ready_info())
    sys.stderr.write(f"mc-sim: listening on {server.url} (pid {os.getpid()})\n")
    sys.stderr.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        if args.ready_file:
            try:
                os.remove(args.ready_file)
            except OSError:
                pass
        sys.stderr.write("mc-sim: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
