# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one batch-write engine: planned operations, an item builder, a confirmation and a batch size in, one
outcome per operation out. Group creates, updates and deletes (group_api), the tree's member writes and
``mimecast_group``'s member writes all go through it. Internal use only: this API may change without notice.

A mimecast_group or mimecast_group_info task that writes nothing does not import it (group_api and members import
it where they write), so it does not compile it (docs/performance.md).

``MimecastClient.write`` raises ``WriteError`` when a request fails whole part-way; :func:`written` is the one
place that reads it, and turns it into a :class:`Written`: every item's result, and the failure (or None).
"""

from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    DONE,
    HELD,
    NOT_DONE,
    REFUSED,
    OutcomeUnknown,
    WriteError,
)


class Written:
    """What one write request did: ``results`` (an ItemResult per item, in order) and ``failure``, the error that
    stopped the request before every outcome was known, or None. ``ops`` are the operations the items were built
    from, in the same order (the items themselves when none were given)."""

    __slots__ = ("failure", "ops", "results")

    def __init__(self, results, failure=None, ops=None):
        self.results = results
        self.failure = failure
        self.ops = ops if ops is not None else [result.item for result in results]

    def outcomes(self, settled=None):
        """``[(op, outcome, result)]``: the outcome is DONE, HELD, UNKNOWN, REFUSED, NOT_DONE, or a state of the
        caller's own (ALREADY_ABSENT).

        ``settled`` is the code that says the wanted state already holds ("already a member", "not a member"): done
        when the item was sent again after a try of unknown outcome (that try may have made it), else held.
        """
        return [(op, self._outcome(result, settled), result) for op, result in zip(self.ops, self.results)]

    def _outcome(self, result, settled):
        if result.state != REFUSED:
            return result.state
        if settled is not None and result.codes == {settled}:
            return DONE if result.resent else HELD
        return REFUSED if self.failure is None else NOT_DONE

    def only(self, what, refused_as):
        """The result of a one-item write, when it is done (or a state of the caller's own); otherwise raise:
        :class:`OutcomeUnknown` naming ``what`` (``create Departments/EMEA``), the failure that stopped it, or
        Mimecast's refusal, named as ``refused_as``."""
        result = self.results[0]
        if result.unknown:
            raise OutcomeUnknown([what], self.failure)
        if self.failure is not None:
            raise self.failure
        if result.state == REFUSED:
            raise result.error(refused_as)
        return result


def written(write, items, confirm=None):
    """Send ``items`` with ``write(items, confirm)`` (a ``MimecastClient.write`` bound to its path) and return a
    :class:`Written`: the one place a ``WriteError`` is read."""
    try:
        return Written(write(items, confirm))
    except WriteError as exc:
        return Written(exc.results, exc.cause)


def write_batches(write, ops, batch_size, item, confirm=None):
    """Send ``ops`` in requests of at most ``batch_size`` items; yield a :class:`Written` for each request, with its
    ``ops``, and stop after the first one that failed (its ``failure`` is set: the caller files it and stops).

    ``write(items, confirm)`` returns a :class:`Written` (``GroupDirectory.create``, or :func:`written` over a
    client write); ``item(op)`` builds the request item of an operation; ``confirm(pending)``, when given, gets
    ``(item, op)`` for each item still in doubt, reads the directory again and returns, for each, the record showing
    its effect or None.
    """
    for start in range(0, len(ops), batch_size):
        batch = ops[start : start + batch_size]
        items = [item(op) for op in batch]
        answer = write(items, None if confirm is None else _with_ops(confirm, items, batch))
        answer.ops = batch
        yield answer
        if answer.failure is not None:
            return


def _with_ops(confirm, items, ops):
    """The client-level ``confirm(items)`` of one request: ``confirm`` given each item with its operation."""
    op_of = dict((id(built), op) for built, op in zip(items, ops))
    return lambda pending: confirm([(built, op_of.get(id(built))) for built in pending])
