# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: UP031 - percent formatting, as in plugins/, and for the aligned tables

"""Mimecast API 1.0 headers for an ansible.builtin.uri task (benchmark helper, not part of the collection).

``{{ '/api/directory/find-groups' | mimecast_bench_api1_headers(access_key, secret_key, app_id, app_key) }}``
returns the four headers of one signed request: a fresh ``x-mc-req-id`` and ``x-mc-date`` every time it is
templated, and ``Authorization: MC {access_key}:{base64(HMAC-SHA1(base64decode(secret_key),
"{date}:{req_id}:{path}:{app_key}"))}``. One call returns all four, so they always belong together.
It is written independently of the collection's module_utils on purpose: the uri side of the benchmark
must not depend on the code under test.
"""

import base64
import hashlib
import hmac
import time
import uuid

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _mc_date(now):
    t = time.gmtime(now)
    return "%s, %02d %s %04d %02d:%02d:%02d UTC" % (
        _DAYS[t.tm_wday],
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def mimecast_bench_api1_headers(path, access_key, secret_key, app_id, app_key):
    date = _mc_date(time.time())
    request_id = str(uuid.uuid4())
    message = ("%s:%s:%s:%s" % (date, request_id, path, app_key)).encode("utf-8")
    digest = hmac.new(base64.b64decode(secret_key), message, hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode("ascii")
    return {
        "Authorization": "MC %s:%s" % (access_key, signature),
        "x-mc-date": date,
        "x-mc-req-id": request_id,
        "x-mc-app-id": app_id,
    }


class FilterModule:
    def filters(self):
        return {"mimecast_bench_api1_headers": mimecast_bench_api1_headers}
