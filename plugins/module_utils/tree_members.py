# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The members of a whole tree: the ``members`` option of ``mimecast_group_tree`` checked before any request,
the member reads and per-group plans (``members.plan_members``, the planner ``mimecast_group`` uses), and
the member writes batched across groups. Internal use only: this API may change without notice.

Mimecast runs each item of ``add-group-member`` and ``remove-group-member`` on its own ``id``, so one request
carries changes for many groups, up to ``batch_size`` items. The order of a tree task's writes is: creates
(tree_apply), then every member add, then every member remove, then deletes (tree_apply), so that no member
write targets a group about to be deleted and a member that stays is never missing in between.

The writes are ``members.send_member_writes``, the one member write (``mimecast_group``'s too): a member batch
whose outcome is unknown is never sent again blind: ``confirm`` reads the members of each group that has an item
in doubt (one read per group, every page) and only the items with no visible effect are sent again. "Already a
member" on add and "not a member" on remove count as done (the wanted state holds).
"""

from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupError
from ansible_collections.community.mimecast.plugins.module_utils.members import (
    MemberError,
    current_members,
    kept_unwritable,
    members_after,
    plan_members,
    refuse_ldap_change,
    refuse_unwritable,
    send_member_writes,
    validate_members,
)
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import DONE, HELD
from ansible_collections.community.mimecast.plugins.module_utils.tree_plan import _refuse, join_path, split_entry


def parse_members(members, entries):
    """Check a tree task's ``members`` option before any request; return ``{relative path tuple: [values]}``.

    Keys are parsed like ``groups`` entries (:func:`tree_plan.split_entry`) and must be a listed path or an
    ancestor one implies; each value is the complete member list (``members.validate_members``' ``set``:
    lower-cased, de-duplicated). Every bad key or value is named in one GroupError. None stays None.
    """
    if members is None:
        return None
    if not isinstance(members, dict):
        raise GroupError("members must be a dict of paths (as in groups) to their complete member lists")
    listed = set(entry[:depth] for entry in entries for depth in range(1, len(entry) + 1))
    wanted, problems = {}, []
    for position, (key, values) in enumerate(members.items(), start=1):
        try:
            path = split_entry(key, position, option="members key")
        except GroupError as exc:
            problems.append(str(exc))
            continue
        if path not in listed:
            problems.append("members key %r is not a path of groups (nor an ancestor of one)" % key)
            continue
        if values is None or isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            problems.append("members of %r must be a list of addresses and domains ([] empties the group)" % key)
            continue
        try:
            wanted[path] = validate_members({"set": values})["set"]
        except MemberError as exc:
            text = str(exc)
            problems.append(
                "members of %r: %s" % (key, text[len("members: ") :] if text.startswith("members: ") else text)
            )
    if problems:
        _refuse(problems, "members has %d bad entr%s" % (len(problems), "y" if len(problems) == 1 else "ies"))
    return wanted


class MemberChange:
    """The members of one named group: ``before`` (None for a group this run creates), the wanted ``after``,
    and what goes: ``to_add`` and ``to_remove`` (sorted). ``group`` is its facts, None when it is created."""

    __slots__ = ("after", "before", "group", "path", "to_add", "to_remove")

    def __init__(self, path, group, before, to_add, to_remove):
        self.path = path
        self.group = group
        self.before = before
        self.to_add = to_add
        self.to_remove = to_remove
        self.after = members_after(before or [], to_add, to_remove)


class TreeMembers:
    """The member side of one tree task: the plan per named group, and what the writes did."""

    def __init__(self, changes, kept=()):
        self.changes = changes  # [MemberChange] sorted by path
        # (path tuple, value, why): members the groups hold and keep although the member checks refuse them
        self.kept = list(kept)
        self.added = {}  # full path tuple -> [values] added (in check mode: that would be)
        self.removed = {}  # full path tuple -> [values] removed
        self.skipped = []  # full path tuples of groups none of whose member writes was sent (not created, stopped)
        self.sent = set()  # (attribute, full path tuple, value) of every member write sent
        # Members Mimecast answered "already a member" / "not a member" for on a first try: the wanted state
        # holds, made by someone else, so they are no change of this task's.
        self.held_added = {}
        self.held_removed = {}

    @property
    def changed(self):
        return bool(self.added or self.removed)

    def warnings(self):
        """One warning naming the members kept although the member checks refuse them (never sent), if any."""
        if not self.kept:
            return []
        shown = "; ".join("%r in %r (%s)" % (value, join_path(path), why) for path, value, why in self.kept[:10])
        more = " and %d more" % (len(self.kept) - 10) if len(self.kept) > 10 else ""
        return [
            "members kept %d value(s) the groups hold that could not be added as given (never sent): %s%s"
            % (len(self.kept), shown, more)
        ]

    def plan_only(self):
        """Check mode: what would be done is what is planned."""
        for change in self.changes:
            if change.to_add:
                self.added[change.path] = list(change.to_add)
            if change.to_remove:
                self.removed[change.path] = list(change.to_remove)

    def now(self, change):
        """The sorted members of ``change``'s group as this run leaves them."""
        added = self.added.get(change.path, []) + self.held_added.get(change.path, [])
        removed = self.removed.get(change.path, []) + self.held_removed.get(change.path, [])
        return members_after(change.before or [], added, removed)

    def counts(self):
        """(members added, members removed) in all."""
        return sum(len(v) for v in self.added.values()), sum(len(v) for v in self.removed.values())

    def skip_unsent(self, outcome):
        """After a failure stopped the run: file under ``outcome.skipped``, once per group, each group with member
        writes that were never sent (none is lost from the result)."""
        for change in self.changes:
            if change.path in self.skipped:
                continue
            planned = [(a, change.path, v) for a in ("to_add", "to_remove") for v in getattr(change, a)]
            unsent = [op for op in planned if op not in self.sent]
            if unsent:
                outcome.skipped.append(("members", change.path))
                if len(unsent) == len(planned):
                    self.skipped.append(change.path)

    def result(self, result, diff=False):
        """Add ``members_added``, ``members_removed``, ``groups[].members`` and the diff's members to ``result``."""
        result["members_added"] = dict((join_path(path), sorted(v)) for path, v in self.added.items())
        result["members_removed"] = dict((join_path(path), sorted(v)) for path, v in self.removed.items())
        by_path = dict((join_path(change.path), change) for change in self.changes)
        for group in result.get("groups", []):
            change = by_path.get(group["path"])
            if change is None:
                continue
            members = self.now(change)
            group["members"] = members
            if isinstance(group.get("user_count"), int):
                group["user_count"] = max(group["user_count"] + len(members) - len(change.before or []), 0)
        if diff and "diff" in result:
            result["diff"]["before"]["members"] = dict(
                (join_path(c.path), list(c.before)) for c in self.changes if c.before is not None
            )
            result["diff"]["after"]["members"] = dict(
                (join_path(c.path), self.now(c)) for c in self.changes if c.path not in self.skipped
            )
        return result

    def write(self, client, outcome, batch_size):
        """Send every add, then every remove, in requests of at most ``batch_size`` items across groups
        (``members.send_member_writes``, the write ``mimecast_group`` uses).

        ``outcome`` is the tree's TreeOutcome: the ids of the groups it created, and where each item that is not
        done goes (``TreeOutcome.file``: refused, unknown, refused whole) and the groups not attempted
        (``skipped``). The failure that stops a request is raised after its items were filed there.
        """
        ids = dict((path, facts.get("id")) for path, facts in outcome.created)
        ready = []
        for change in self.changes:
            group_id = change.group["id"] if change.group is not None else ids.get(change.path)
            if group_id is None:
                if change.to_add or change.to_remove:
                    self.skipped.append(change.path)
                    outcome.skipped.append(("members", change.path))
                continue
            ready.append((change.path, group_id, change.to_add, change.to_remove))
        steps = {
            "add": ("to_add", "add member %s to", self.added, self.held_added),
            "remove": ("to_remove", "remove member %s from", self.removed, self.held_removed),
        }
        for action, outcomes, failure in send_member_writes(client, ready, batch_size):
            attribute, label, done, held = steps[action]
            for (path, _group_id, value), state, result in outcomes:
                self.sent.add((attribute, path, value))
                if state == DONE:
                    done.setdefault(path, []).append(value)
                elif state == HELD:
                    held.setdefault(path, []).append(value)  # someone else made the change: no change of ours
                else:
                    outcome.file(state, label % value, path, result)
            if failure is not None:
                raise failure


def plan_tree_members(client, plan, wanted):
    """Read the members of the existing groups named in ``wanted`` (from :func:`parse_members`) and plan each
    group; return a :class:`TreeMembers`. A group ``plan`` creates starts empty, and one whose listing shows
    ``userCount`` 0 has no members (members.current_members): neither is read.

    Raises GroupError, before any write, naming every group synchronised from the directory (source ldap)
    whose members would change, and every value the member checks refuse that would be added. Such a value a
    group holds and keeps is never sent: it is listed in ``kept`` for a warning, as purge keeps unwritable groups.
    """
    created = set(op.path for op in plan.creates)
    changes, problems, kept = [], [], []
    for path in sorted((plan.root_path + rel for rel in wanted), key=join_path):
        want = validate_members({"set": wanted[path[len(plan.root_path) :]]})  # checked already: names the odd ones
        if path in created:
            group, current = None, None
        else:
            group = plan.before[path][0]
            current = current_members(client, group)
        to_add, to_remove = plan_members(current or [], want)
        try:
            refuse_unwritable(to_add, want, label=join_path(path))
        except MemberError as exc:
            problems.append(str(exc))
        try:
            refuse_ldap_change(group or {}, to_add, to_remove, label=join_path(path))
        except MemberError as exc:
            problems.append(str(exc))
        change = MemberChange(path, group, current, to_add, to_remove)
        kept.extend((path, value, why) for value, why in kept_unwritable(change.after, want))
        changes.append(change)
    if problems:
        _refuse(problems, "members refused before any write")
    return TreeMembers(changes, kept)
