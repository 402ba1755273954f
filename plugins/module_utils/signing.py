# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mimecast API 1.0 request signing (HMAC-SHA1). Internal use only: this API may change without notice."""

import base64
import binascii
import hashlib
import hmac
import time

DATE_FORMAT = "%a, %d %b %Y %H:%M:%S UTC"


def mimecast_date(now=None):
    """Return the ``x-mc-date`` header value for ``now`` (seconds since the epoch; default: the current time)."""
    return time.strftime(DATE_FORMAT, time.gmtime(time.time() if now is None else now))


def decode_secret_key(secret_key):
    """Decode a base64 secret key to bytes; raise ``ValueError`` (without the key in the text) when it is not base64."""
    try:
        raw = base64.b64decode(secret_key.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("secret_key is not valid base64: copy it exactly as Mimecast issued it") from None
    if not raw:
        raise ValueError("secret_key decodes to nothing: copy it exactly as Mimecast issued it")
    return raw


def sign(secret_key, app_key, date, request_id, path):
    """Return the base64 HMAC-SHA1 signature Mimecast expects.

    A pure function of its inputs: ``{date}:{request_id}:{path}:{app_key}`` signed with the base64-decoded
    ``secret_key``. ``path`` is the request path only (``/api/directory/create-group``), never the full URL.
    """
    data_to_sign = ":".join((date, request_id, path, app_key)).encode("utf-8")
    digest = hmac.new(decode_secret_key(secret_key), data_to_sign, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization_header(access_key, signature):
    """Return the API 1.0 ``Authorization`` header value."""
    return "MC %s:%s" % (access_key, signature)
