# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The client counts every request that left, by endpoint, and keeps the last rate-limit figures Mimecast gave."""

from ansible_collections.community.mimecast.plugins.module_utils import http_transport
from ansible_collections.community.mimecast.tests.unit.plugins.module_utils.fakes import envelope, response

FIND = "/api/directory/find-groups"
CREATE = "/api/directory/create-group"


def rate(limit, remaining):
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": "0"}


def test_nothing_sent_counts_zero(make_client):
    client, _session = make_client([])
    assert client.request_counts() == {"total": 0, "by_endpoint": {}, "limit": None, "remaining": None}


def test_each_request_counts_once_by_endpoint_with_the_last_rate_figures(make_client):
    client, session = make_client(
        [
            response(body=envelope([{}], pagination={"next": "p2"}), headers=rate(100, 99)),
            response(body=envelope([{}]), headers=rate(100, 98)),
            response(body=envelope([{"id": "g1"}]), headers=rate(100, 97)),
        ]
    )
    list(client.paginate(FIND, {}))
    client.write(CREATE, [{"description": "A"}])
    assert client.request_counts() == {
        "total": 3,
        "by_endpoint": {FIND: 2, CREATE: 1},
        "limit": 100,
        "remaining": 97,
    }
    assert len(session.requests) == 3


def test_retries_and_a_429_count_and_an_answer_without_figures_keeps_the_last(make_client):
    client, _session = make_client(
        [
            response(status=429, body={}, headers=dict(rate(10, 0), **{"X-RateLimit-Reset": "5"})),
            http_transport.ReadTimeout("read timed out"),
            response(body=envelope([{}])),
        ]
    )
    client.call(FIND, [{}])
    assert client.request_counts() == {"total": 3, "by_endpoint": {FIND: 3}, "limit": 10, "remaining": 0}


def test_a_request_that_never_left_is_not_counted(make_client):
    client, _session = make_client(
        [http_transport.ConnectTimeout("connect"), response(body=envelope([{}]), headers=rate(5, 4))]
    )
    client.call(FIND, [{}])
    assert client.request_counts()["by_endpoint"] == {FIND: 1}


def test_token_requests_count_under_their_own_path(make_client):
    token = response(body={"access_token": "t-unit-token", "token_type": "Bearer", "expires_in": 1800})
    client, _session = make_client([token, response(body=envelope([{}]), headers=rate(50, 48))], kind="api2")
    client.call(FIND, [{}])
    assert client.request_counts()["by_endpoint"] == {"/oauth/token": 1, FIND: 1}
    assert client.request_counts()["remaining"] == 48
