# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The batch-write engine with plain data: batches, the confirmation's operations, the outcome of each operation,
and the stop after a request that failed whole."""

from ansible_collections.community.mimecast.plugins.module_utils import members as members_module
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    UNKNOWN,
    ItemResult,
    MimecastError,
    WriteError,
)
from ansible_collections.community.mimecast.plugins.module_utils.write_engine import (
    DONE,
    HELD,
    NOT_DONE,
    REFUSED,
    write_batches,
    written,
)

ALREADY = [{"code": "err_already", "message": "already", "retryable": False}]
INVALID = [{"code": "err_invalid", "message": "invalid", "retryable": False}]


class Writes:
    """A ``write(items, confirm)`` that answers each request from a script of callables (items -> Written)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def __call__(self, items, confirm):
        self.sent.append([item["value"] for item in items])
        return self.answers.pop(0)(items, confirm)


def done(items, _confirm):
    return written(lambda batch, _check: [ItemResult(item, {}) for item in batch], items)


def lost(items, _confirm):
    def fail(batch, _check):
        raise WriteError(MimecastError("reset", uncertain=True), [ItemResult(i, state=UNKNOWN) for i in batch])

    return written(fail, items)


def test_ops_go_in_batches_and_the_caller_gets_each_request_with_its_ops():
    writes = Writes(done, done, done)
    answers = list(write_batches(writes, list(range(5)), 2, lambda op: {"value": op}))
    assert writes.sent == [[0, 1], [2, 3], [4]]
    assert [answer.ops for answer in answers] == [[0, 1], [2, 3], [4]]
    assert all(state == DONE for answer in answers for _op, state, _result in answer.outcomes())


def test_no_request_follows_one_that_failed_even_when_the_caller_reads_on():
    writes = Writes(done, lost, done)
    answers = list(write_batches(writes, list(range(6)), 2, lambda op: {"value": op}))
    assert writes.sent == [[0, 1], [2, 3]]  # the third batch is never sent
    assert answers[1].failure.message == "reset"
    assert [state for _op, state, _result in answers[1].outcomes()] == [UNKNOWN, UNKNOWN]


def test_the_confirmation_gets_each_item_in_doubt_with_its_op():
    asked = []

    def confirm(pending):
        asked.extend(pending)
        return [None for _pending in pending]

    def write(items, check):
        check(items[1:])
        return done(items, check)

    list(write_batches(write, ["a", "b"], 5, lambda op: {"value": op}, confirm))
    assert asked == [({"value": "b"}, "b")]


def test_settled_answers_are_held_on_a_first_try_done_on_a_resend_and_others_refused_alone_or_whole():
    results = [
        ItemResult({"value": 1}, errors=ALREADY),
        ItemResult({"value": 2}, errors=ALREADY, resent=True),
        ItemResult({"value": 3}, errors=INVALID),
        ItemResult({"value": 4}, state=UNKNOWN),
    ]
    alone = written(lambda items, _confirm: results, [])
    assert [state for _op, state, _result in alone.outcomes("err_already")] == [HELD, DONE, REFUSED, UNKNOWN]

    def refused_whole(_items, _confirm):
        raise WriteError(MimecastError("HTTP 403", status=403), results)

    whole = written(refused_whole, [])
    assert [state for _op, state, _result in whole.outcomes("err_already")] == [HELD, DONE, NOT_DONE, UNKNOWN]


def test_a_member_write_stopped_by_a_failed_add_sends_no_remove_even_when_read_on():
    class Client:
        def __init__(self):
            self.paths = []

        def write(self, path, items, confirm=None):
            self.paths.append(path)
            raise WriteError(MimecastError("HTTP 403", status=403), [ItemResult(i, errors=INVALID) for i in items])

    client = Client()
    answers = list(members_module.send_member_writes(client, [(None, "g1", ["a@example.com"], ["b@example.com"])]))
    assert client.paths == [members_module.ADD_GROUP_MEMBER]
    assert [(action, failure.status) for action, _outcomes, failure in answers] == [("add", 403)]
