# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Carrying out a tree plan: the task's options checked once (:func:`run_tree`, :func:`check_tree_options`),
one listing, the plan (tree_plan), then the writes in batches through the write engine (write_engine), and what
the task returns. Internal use only: this API may change without notice.

The writes, in order:

* creates, level by level: one level's items go in requests of at most ``batch_size`` items, and the ids in
  a level's answers are the ``parentId`` of the next level's items;
* with ``members``, then every member add and every member remove, batched across groups (tree_members);
* then deletes, level by level (leaves first), batched the same way.

A batch whose outcome is unknown (a dropped connection, a timeout, a server error) is never sent again
blind: the client calls ``confirm``, which reads the directory again and finds each item's effect by its
path of names (ids can change over time; paths are what the task manages). Only the items with no effect
are sent again.

Every item ends done, refused (Mimecast's code) or unknown. A batch whose request fails whole part-way keeps
what was confirmed before; items whose outcome stays unknown (``max_retries`` used up, a confirming read that
failed) are named in ``unknown`` and count as a change, since they may have been carried out; items of a
request Mimecast refused whole (a rate limit past ``max_retries``, an HTTP 403) are named as not done.

A partly failed batch keeps its successes. The rest of the run does only what stays safe: creates go on
where they do not depend on a failed create (its descendants are not attempted, nor their members); no
delete is sent once a create or member write failed (deleting is what cannot be undone, so a run that
already went wrong stops before it); a group whose child could not be deleted is not attempted. The task
then fails, naming each failed item with Mimecast's codes, and returns what was done.
"""

from ansible_collections.community.mimecast.plugins.module_utils.group_api import ALREADY_ABSENT, already_absent_message
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupError, planned_group
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    DONE,
    NOT_DONE,
    UNKNOWN,
    MimecastError,
    unknown_outcome_message,
)
from ansible_collections.community.mimecast.plugins.module_utils.rate_budget import warn_over_budget, write_requests
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import (
    MESSAGE_LIMIT,
    join_path,
    parse_request,
    plan_tree,
)

# Mimecast documents no item limit for the group endpoints; 100 items per request is what its own
# guidance and public clients treat as safe, and it keeps a 1,000-group level to 10 requests.
DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 500


def validate_batch_size(batch_size):
    """Return ``batch_size`` if it is between 1 and MAX_BATCH_SIZE, else raise GroupError."""
    if batch_size is None or batch_size < 1 or batch_size > MAX_BATCH_SIZE:
        raise GroupError("batch_size must be between 1 and %d, got %s" % (MAX_BATCH_SIZE, batch_size))
    return batch_size


def _at_path(tree, path):
    """The facts of the one group at ``path`` in ``tree``, or None; GroupError if several stand there."""

    def several(depth, found):
        raise GroupError(
            "while confirming a write, %d groups named %r were found under %s (ids: %s): they appeared during "
            "this run; nothing more was sent"
            % (
                len(found),
                path[depth],
                repr(join_path(path[:depth])) if depth else "the directory root",
                ", ".join(g["id"] for g in found),
            )
        )

    return tree.at_names(path, several)


class TreeOutcome:
    """What a tree task did (or, in check mode, would do), and the result it returns."""

    def __init__(self, plan, check_mode, members=None):
        self.plan = plan
        self.check_mode = check_mode
        self.members = members  # a tree_members.TreeMembers when the task has members
        self.created = []  # (path, facts) in the order done
        self.deleted = []  # (path, facts) in the order done
        self.already_absent = []  # (path, facts) of deletes whose group someone else deleted before they arrived
        self.failures = []  # (action, path, errors)
        self.skipped = []  # (action, path) not attempted because of a failure (refused, unknown or an error)
        self.error = None  # an exception that stopped the run part-way
        self.unknown = []  # (action, path) sent, whose outcome is unknown: they may have been carried out
        self.not_done = []  # (action, path) of a request Mimecast refused whole: it said they were not done

    def file(self, state, action, path, result):
        """File an item that is not done, by its write_engine outcome: unknown, refused whole with its request
        (``NOT_DONE``), or refused alone."""
        if state == UNKNOWN:
            self.unknown.append((action, path))
        elif state == NOT_DONE:
            self.not_done.append((action, path))
        else:
            self.failures.append((action, path, result.errors))

    @property
    def changed(self):
        return bool(self.created or self.deleted or self.unknown or (self.members and self.members.changed))

    @property
    def failed(self):
        return bool(self.failures or self.error)

    def warnings(self):
        """One warning naming the groups purge kept, one naming the groups someone else deleted, if any."""
        warnings = []
        kept = self.plan.kept
        if kept:
            shown = ", ".join("%r (%s)" % (join_path(path), reason) for path, _group, reason in kept[:MESSAGE_LIMIT])
            more = " and %d more" % (len(kept) - MESSAGE_LIMIT) if len(kept) > MESSAGE_LIMIT else ""
            warnings.append("purge kept %d group(s) under root that are not listed: %s%s" % (len(kept), shown, more))
        if self.already_absent:
            warnings.append(already_absent_message([path for path, _facts in self.already_absent]))
        return warnings

    def skip_the_rest(self):
        """List under ``skipped`` every planned write that was never attempted: not done, refused, unknown nor
        already skipped (a write whose outcome is unknown, or an error, stopped the run before it)."""
        seen = set((action, path) for action, path in self.skipped)
        seen.update(("create", path) for path, _facts in self.created)
        seen.update(("delete", path) for path, _facts in self.deleted + self.already_absent)
        seen.update((action, path) for action, path, _errors in self.failures)
        seen.update(self.unknown)
        seen.update(self.not_done)
        # In the order of the run: creates, member writes, deletes.
        self.skipped.extend(("create", op.path) for op in self.plan.creates if ("create", op.path) not in seen)
        if self.members is not None:
            self.members.skip_unsent(self)
        self.skipped.extend(("delete", op.path) for op in self.plan.deletes if ("delete", op.path) not in seen)

    def failure_message(self):
        """Why the task failed, naming each failed item, and what was done before."""
        parts = []
        if self.failures:
            listed = [
                "%s %r: %s"
                % (action, join_path(path), "; ".join("%s: %s" % (e.get("code"), e.get("message")) for e in errors))
                for action, path, errors in self.failures[:MESSAGE_LIMIT]
            ]
            more = " and %d more" % (len(self.failures) - MESSAGE_LIMIT) if len(self.failures) > MESSAGE_LIMIT else ""
            parts.append("Mimecast refused %d item(s): %s%s" % (len(self.failures), ", ".join(listed), more))
        if self.error is not None:
            parts.append(getattr(self.error, "message", None) or str(self.error))
            if self.not_done:
                named = ", ".join("%s %r" % (kind, join_path(path)) for kind, path in self.not_done[:MESSAGE_LIMIT])
                more = (
                    " and %d more" % (len(self.not_done) - MESSAGE_LIMIT) if len(self.not_done) > MESSAGE_LIMIT else ""
                )
                parts.append("Mimecast refused the request whole, so these were not done: %s%s" % (named, more))
        if self.unknown:
            parts.append(unknown_outcome_message(self._unknown_names()))
        if self.skipped:
            parts.append(
                "not attempted because of the failures above: %d (%s)"
                % (len(self.skipped), ", ".join(sorted(set(action for action, _path in self.skipped))))
            )
        done = "%d created, %d deleted (see created and deleted)" % (len(self.created), len(self.deleted))
        if self.members is not None:
            done += ", %d member(s) added, %d removed (see members_added and members_removed)" % self.members.counts()
        parts.append("done before the failure and kept: %s" % done)
        return "; ".join(parts)

    def details(self):
        """Mimecast's status and codes when an API error stopped the run."""
        return self.error.details() if isinstance(self.error, MimecastError) else {}

    def result(self, diff=False):
        """The module's return values: changed, created, deleted, groups, and diff when asked."""
        created = [join_path(path) for path, _facts in self.created]
        deleted = [join_path(path) for path, _facts in self.deleted]
        result = dict(changed=self.changed, created=created, deleted=deleted, groups=self._groups_after())
        if self.unknown:
            result["unknown"] = self._unknown_names()
        if self.skipped:
            # A path once, in the order of the run (a dict keeps it, in linear time for tens of thousands)
            result["skipped"] = list(dict.fromkeys(join_path(path) for _action, path in self.skipped))
        if self.already_absent:
            result["already_absent"] = [join_path(path) for path, _facts in self.already_absent]
        if diff:
            after = self.plan.before_paths()
            for path in deleted + result.get("already_absent", []):
                after.remove(path)
            result["diff"] = dict(
                before=dict(paths=self.plan.before_paths()), after=dict(paths=sorted(after + created))
            )
        if self.members is not None:
            self.members.result(result, diff=diff)
        return result

    def _unknown_names(self):
        return ["%s %s" % (action, join_path(path)) for action, path in self.unknown]

    def _groups_after(self):
        """Facts, with ``path``, of every group under root once the run is over, sorted by path."""
        root_depth = len(self.plan.root_path)
        gone = set(id(facts) for _path, facts in self.deleted + self.already_absent)
        final = [
            (path, facts)
            for path, found in self.plan.before.items()
            if len(path) > root_depth
            for facts in found
            if id(facts) not in gone
        ]
        final.extend((path, facts) for path, facts in self.created if len(path) > root_depth)
        # Child counts as they are now: every child of a group under root is under root too.
        counts = {}
        for _path, facts in final:
            counts[facts["parent_id"]] = counts.get(facts["parent_id"], 0) + 1
        groups = []
        # Sorted like the paths users read (mimecast_group_info's paths): as strings.
        for path, facts in sorted(final, key=lambda item: join_path(item[0])):
            group = dict(facts, path=join_path(path))
            if group["id"] is not None:
                group["folder_count"] = counts.get(group["id"], 0)
            groups.append(group)
        return groups


def check_tree_options(entries, root_path, state="present", purge=False, batch_size=DEFAULT_BATCH_SIZE, members=None):
    """The checks across a tree task's options, before any request: the one place they are made. ``members`` is
    the option as given or as parsed (only None or not matters here)."""
    validate_batch_size(batch_size)
    if members is not None and state == "absent":
        raise GroupError("members is only used with state=present: state=absent deletes the listed groups")
    if purge and state == "absent":
        raise GroupError("purge only applies to state=present")
    if purge and not entries and not root_path:
        raise GroupError(
            "purge with an empty groups list and no root would delete every cloud group of the directory: "
            "list the groups to keep, or set root"
        )


def converge_tree(
    directory,
    entries,
    root_path=(),
    state="present",
    purge=False,
    batch_size=None,
    check_mode=False,
    members=None,
    warn=None,
):
    """Check the options (:func:`check_tree_options`), read the directory once, plan, and (unless ``check_mode``)
    write; return a :class:`TreeOutcome`.

    ``members`` (from ``tree_members.parse_members``) adds the named groups' members: they are read and
    planned before any write, and written after the creates and before the deletes. Refusals of the plan
    (GroupError) are raised before any write. An error during the writes stops them and is kept in the
    outcome (``error``), with what was done before it. Before the first write, ``warn`` (a callable, if given)
    gets the estimate when the plan's requests exceed what the listing's answer left of the rate limit.
    """
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    check_tree_options(entries, root_path, state, purge, batch_size, members)
    return _converge(directory, entries, root_path, state, purge, batch_size, check_mode, members, warn)


def _converge(directory, entries, root_path, state, purge, batch_size, check_mode, members, warn):
    """:func:`converge_tree` once its options are checked."""
    tree = directory.tree()
    listed = _counts(directory.client)
    plan = plan_tree(tree, entries, root_path, state=state, purge=purge)
    tree_members = None
    if members is not None:
        # Imported here, as the write engine is below: a tree task without members, or with nothing to write, does
        # not compile that code (docs/performance.md).
        from ansible_collections.community.mimecast.plugins.module_utils.tree_members import plan_tree_members

        tree_members = plan_tree_members(directory.client, plan, members)
    outcome = TreeOutcome(plan, check_mode, tree_members)
    if not check_mode and listed is not None:
        reads = _counts(directory.client)["total"] - listed["total"]  # the member reads since the listing
        writes = _planned_writes(plan, tree_members, batch_size)
        warn_over_budget(warn, listed["remaining"], listed["limit"], reads, writes)
    if check_mode:
        _plan_only(plan, outcome)
        if tree_members is not None:
            tree_members.plan_only()
        return outcome
    try:
        _create(directory, plan, batch_size, outcome)
        if tree_members is not None:
            tree_members.write(directory.client, outcome, batch_size)
        if outcome.failures:
            outcome.skipped.extend(("delete", op.path) for op in plan.deletes)
        else:
            _delete(directory, plan, batch_size, outcome)
    except (MimecastError, GroupError) as exc:
        outcome.error = exc
        outcome.skip_the_rest()
    return outcome


def run_tree(module):
    """The task of ``mimecast_group_tree``: every option checked before any request, then :func:`converge_tree`'s
    work, its warnings, and the result (a failed task keeps what was done)."""
    params = module.params
    state, purge, batch_size = params["state"], params["purge"], params["batch_size"]
    with module.failures():
        root_path, entries = parse_request(params["groups"], params["root"])
        check_tree_options(entries, root_path, state, purge, batch_size, params["members"])
        members = None
        if params["members"] is not None:
            from ansible_collections.community.mimecast.plugins.module_utils.tree_members import parse_members

            members = parse_members(params["members"], entries)
    directory = module.directory()  # bad connection options fail here, still before any request

    with module.failures():
        outcome = _converge(
            directory, entries, root_path, state, purge, batch_size, module.check_mode, members, module.warn
        )
    for warning in outcome.warnings() + (outcome.members.warnings() if outcome.members is not None else []):
        module.warn(warning)
    result = outcome.result(diff=module._diff)
    if outcome.failed:
        details = outcome.details()
        details.update(result)
        module.fail_json(msg=directory.client.redact(outcome.failure_message()), **details)
    module.exit_json(**result)


def _counts(client):
    """The client's request counts (client.request_counts), or None for a client that keeps none."""
    counts = getattr(client, "request_counts", None)
    return counts() if counts is not None else None


def _planned_writes(plan, tree_members, batch_size):
    """The write requests of a plan: each create level and delete level in batches, member adds then removes."""
    writes = sum(write_requests(len(level), batch_size) for level in plan.create_levels)
    writes += sum(write_requests(len(level), batch_size) for level in plan.delete_levels)
    if tree_members is not None:
        changes = tree_members.changes
        writes += write_requests(sum(len(c.to_add) for c in changes), batch_size)
        writes += write_requests(sum(len(c.to_remove) for c in changes), batch_size)
    return writes


def _plan_only(plan, outcome):
    outcome.created.extend((op.path, planned_group(op.name, op.parent_id)) for op in plan.creates)
    outcome.deleted.extend((op.path, op.group) for op in plan.deletes)


def _create_item(entry):
    op, parent_id = entry
    item = {"description": op.name}
    if parent_id is not None:
        item["parentId"] = parent_id
    return item


def _create(directory, plan, batch_size, outcome):
    if not plan.create_levels:
        return
    from ansible_collections.community.mimecast.plugins.module_utils.write_engine import write_batches

    new_ids = {}  # path -> id of the group this run created there

    def confirm(pending):
        # The group now at each pending item's path, found in a fresh listing.
        tree = directory.tree()
        return [_at_path(tree, op.path) for _item, (op, _parent_id) in pending]

    for level in plan.create_levels:
        ready = []
        for op in level:
            if op.parent_id is not None or not op.parent_path:
                ready.append((op, op.parent_id))
            elif op.parent_path in new_ids:
                ready.append((op, new_ids[op.parent_path]))
            else:
                outcome.skipped.append(("create", op.path))  # its parent could not be created
        for answer in write_batches(directory.create, ready, batch_size, _create_item, confirm):
            unlisted = None
            for (op, parent_id), state, result in answer.outcomes():
                if state != DONE:
                    outcome.file(state, "create", op.path, result)
                    continue
                facts = dict(result.record or {})
                if not facts.get("id") and answer.failure is None and unlisted is None:
                    # The answer did not say which id the new group has; the listing does. A failure to tell stops
                    # the run once this batch is filed: its groups were created all the same.
                    try:
                        facts = dict(_at_path(directory.tree(), op.path) or facts)
                    except (MimecastError, GroupError) as exc:
                        unlisted = exc
                if facts.get("parent_id") is None:
                    facts["parent_id"] = parent_id
                new_ids[op.path] = facts.get("id")
                outcome.created.append((op.path, facts))
            if answer.failure is not None or unlisted is not None:
                raise answer.failure or unlisted


def _delete(directory, plan, batch_size, outcome):
    if not plan.delete_levels:
        return
    from ansible_collections.community.mimecast.plugins.module_utils.write_engine import write_batches

    blocked = set()  # ids of groups that keep a child this run could not delete
    for level in plan.delete_levels:
        ready = []
        for op in level:
            if op.group["id"] in blocked:
                outcome.skipped.append(("delete", op.path))
                blocked.add(op.group["parent_id"])
            else:
                ready.append(op)
        targets = write_batches(
            lambda batch, _confirm: directory.delete(batch), ready, batch_size, lambda op: (op.group, list(op.path))
        )
        for answer in targets:
            for op, state, result in answer.outcomes():
                if state == DONE:
                    outcome.deleted.append((op.path, op.group))
                elif state == ALREADY_ABSENT:
                    outcome.already_absent.append((op.path, op.group))  # someone else deleted it: not ours
                else:
                    outcome.file(state, "delete", op.path, result)
                    blocked.add(op.group["parent_id"])
            if answer.failure is not None:
                raise answer.failure
