# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tree planner: from one listing (a GroupTree) and the paths a task wants, the ordered writes that
converge the tree. Pure: no I/O, no client; the writes are sent by tree_apply.
Internal use only: this API may change without notice.

Paths are tuples of names from the directory root; ``()`` is the directory root itself. What the planner
refuses, it refuses before any write, naming every offending entry or group at once:

* a malformed entry of ``groups`` or ``root`` (checked before any request by :func:`parse_request`);
* two groups of one name under one parent at a path the task manages (which one is meant?);
* with ``state=absent``, a listed group that has a child that is not listed (children are never deleted
  implicitly), or a listed group synchronised from the directory (``source: ldap``).

``purge`` never deletes an ``ldap`` group, a group whose name breaks the name rules (no entry could list it),
anything below such a group, or a group that still holds one of those: they are kept and reported in
``TreePlan.kept``. Nothing outside ``root`` is deleted.

Every path is read and written with group_path's ``split_path`` and ``join_path`` (``\\/`` is a ``/`` inside a
name, ``\\\\`` a backslash), so a group of any valid name can be listed.
"""

from collections import Counter, deque

from ansible_collections.community.mimecast.plugins.module_utils.group_path import SEPARATOR, join_path
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import (
    GroupError,
    parse_names,
    validate_name,
)

# How many offending entries one error message names before it only counts the rest.
MESSAGE_LIMIT = 10


def _refuse(problems, what):
    shown = problems[:MESSAGE_LIMIT]
    more = len(problems) - len(shown)
    message = "%s: %s" % (what, "; ".join(shown))
    if more:
        message += "; and %d more" % more
    raise GroupError(message)


def split_root(root):
    """Return ``root`` (``Org/IT``, ``/Org/IT``; None, ``""`` or ``/`` for the directory root) as a path tuple."""
    if root is None or root.strip() in ("", SEPARATOR):
        if root and root != root.strip():
            raise GroupError("root must not start or end with white space: %r" % root)
        return ()
    return tuple(parse_names(root, "root", "a name in root %r" % root, anchored=True))


def split_entry(entry, position, option="groups entry"):
    """Return one ``groups`` entry (``Departments/EMEA``, ``Sales\\/Marketing``, relative to root) as a path tuple.

    Strict: no leading or trailing ``/`` (an entry is relative to ``root``), no empty name (``A//B``), no bad
    escape. ``position`` (1-based) names the entry in the error, after ``option`` (``members`` keys are parsed
    here too).
    """
    where = "%s %d (%r)" % (option, position, entry)
    if entry is None or not entry.strip():
        raise GroupError("%s is empty" % where)
    return tuple(parse_names(entry, where, "%s: a name" % where))


def parse_request(groups, root=None):
    """Check ``groups`` and ``root`` before any request; return ``(root_path, entries)``.

    ``entries`` are the relative path tuples in first-seen order, repeats dropped. Every bad entry is
    named in one GroupError.
    """
    root_path = split_root(root)
    entries, seen, problems = [], set(), []
    for position, entry in enumerate(groups or [], start=1):
        try:
            path = split_entry(entry, position)
        except GroupError as exc:
            problems.append(str(exc))
            continue
        if path not in seen:
            seen.add(path)
            entries.append(path)
    if problems:
        _refuse(problems, "groups has %d bad entr%s" % (len(problems), "y" if len(problems) == 1 else "ies"))
    return root_path, entries


def _with_ancestors(paths):
    """Every path and each of its ancestors (the directory root excluded), parents before children, in
    first-seen order."""
    ordered, seen = [], set()
    for path in paths:
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in seen:
                seen.add(prefix)
                ordered.append(prefix)
    return ordered


def _addressable(name):
    """True when a group of this name can be written in a path entry (so a task can list it)."""
    try:
        validate_name(name)
    except GroupError:
        return False
    return True


class Create:
    """Create the group at ``path``; its parent is an existing group (``parent_id``), the directory root
    (``path`` of length 1, ``parent_id`` None), or a group an earlier level creates (``parent_id`` None)."""

    __slots__ = ("parent_id", "path")

    def __init__(self, path, parent_id):
        self.path = path
        self.parent_id = parent_id

    @property
    def name(self):
        return self.path[-1]

    @property
    def parent_path(self):
        return self.path[:-1]

    def __repr__(self):
        return "Create(%r, parent_id=%r)" % (join_path(self.path), self.parent_id)


class Delete:
    """Delete ``group`` (its facts), found at ``path``."""

    __slots__ = ("group", "path")

    def __init__(self, path, group):
        self.path = path
        self.group = group

    def __repr__(self):
        return "Delete(%r, id=%r)" % (join_path(self.path), self.group["id"])


class TreePlan:
    """What a tree task does, in order: ``create_levels`` (parents first; one level's creates can share
    requests), then ``delete_levels`` (deepest first). Also the paths before and after, for diff mode, and
    the groups purge keeps."""

    def __init__(self, root_path, create_levels, delete_levels, before, kept):
        self.root_path = root_path
        self.create_levels = create_levels
        self.delete_levels = delete_levels
        self.before = before  # {path tuple: [facts, ...]} of the root's chain and every group under it
        self.kept = kept  # [(path tuple, facts, reason)] purge did not delete

    @property
    def changed(self):
        return bool(self.create_levels or self.delete_levels)

    @property
    def creates(self):
        return [op for level in self.create_levels for op in level]

    @property
    def deletes(self):
        return [op for level in self.delete_levels for op in level]

    def before_paths(self):
        """Sorted full paths of the groups on the root's chain and under it, as listed (a duplicate twice)."""
        return sorted(join_path(path) for path, found in self.before.items() for _group in found)

    def after_paths(self):
        """``before_paths`` once every planned create and delete is done (one pass: linear in the paths)."""
        deleted = Counter(join_path(op.path) for op in self.deletes)
        paths = []
        for path in self.before_paths():
            if deleted[path]:
                deleted[path] -= 1  # one listed group of that path goes (a duplicate path stays once per other)
            else:
                paths.append(path)
        paths.extend(join_path(op.path) for op in self.creates)
        return sorted(paths)


def _index(tree):
    """parent id (None: the directory root) -> {name: [groups]}, in listing order."""
    index = {}
    for group in tree.groups:
        parent = None if tree.is_root(group) else group["parent_id"]
        index.setdefault(parent, {}).setdefault(group["name"], []).append(group)
    return index


class _Resolver:
    """Finds the groups at paths, one dict look-up per name; remembers the ambiguous paths it met."""

    MISSING = object()

    def __init__(self, tree):
        self.index = _index(tree)
        self.found = {(): None}  # path -> facts, MISSING, or None for the directory root
        self.ambiguous = []

    def at(self, path):
        if path in self.found:
            return self.found[path]
        parent = self.at(path[:-1])
        if parent is self.MISSING:
            result = self.MISSING
        else:
            matches = self.index.get(parent["id"] if parent else None, {}).get(path[-1], [])
            if len(matches) > 1:
                self.ambiguous.append(
                    "%d groups named %r under %s (ids: %s)"
                    % (
                        len(matches),
                        path[-1],
                        repr(join_path(path[:-1])) if path[:-1] else "the directory root",
                        ", ".join(g["id"] for g in matches),
                    )
                )
                result = self.MISSING  # nothing is planned below it: the plan is refused anyway
            else:
                result = matches[0] if matches else self.MISSING
        self.found[path] = result
        return result

    def check(self):
        if self.ambiguous:
            _refuse(
                self.ambiguous,
                "duplicate groups at a path this task manages; nothing was changed. Resolve the duplicates in "
                "Mimecast first",
            )

    def subtree(self, top):
        """(path, facts) of every group below ``top`` (a path tuple that resolved), parents before children."""
        start = self.found[top]
        result = []
        queue = deque([(top, start["id"] if start else None)])
        while queue:  # breadth first: a level is complete before the next one starts
            path, group_id = queue.popleft()
            for name, groups in self.index.get(group_id, {}).items():
                for group in groups:
                    result.append((path + (name,), group))
                    queue.append((path + (name,), group["id"]))
        return result


def plan_tree(tree, entries, root_path=(), state="present", purge=False):
    """Plan a tree task from one listing.

    ``tree`` is the GroupTree of the listing; ``entries`` and ``root_path`` come from :func:`parse_request`.
    ``present`` creates every listed path below ``root_path`` and each missing ancestor (``root_path``'s
    included), and with ``purge`` deletes every other group below ``root_path``; ``absent`` deletes the
    listed groups only. Raises GroupError, before any write, for what it refuses (see the module docstring).
    """
    if state not in ("present", "absent"):
        raise GroupError("state must be present or absent, got %r" % state)
    resolver = _Resolver(tree)
    root_chain = [root_path[:depth] for depth in range(1, len(root_path) + 1)]
    for path in root_chain:
        resolver.at(path)
    root_exists = resolver.at(root_path) is not resolver.MISSING
    below = resolver.subtree(root_path) if root_exists and not resolver.ambiguous else []

    before = {}
    for path in root_chain:
        if resolver.found[path] is not resolver.MISSING:
            before.setdefault(path, []).append(resolver.found[path])
    for path, group in below:
        before.setdefault(path, []).append(group)

    if state == "absent":
        resolver.check()
        listed = [root_path + entry for entry in entries]
        return TreePlan(root_path, [], _plan_absent(resolver, listed), before, [])

    wanted = root_chain + [root_path + path for path in _with_ancestors(entries)]
    missing = [path for path in wanted if resolver.at(path) is resolver.MISSING]
    resolver.check()
    # A create's level is how many of its ancestors are created too: whatever hangs under an existing group
    # goes in the first level, at any depth, so the number of write rounds is the depth of the new part only.
    generation = {}
    for path in missing:  # parents come before their children
        generation[path] = generation[path[:-1]] + 1 if path[:-1] in generation else 0
    create_levels = _levels(
        [Create(path, None if path[:-1] in generation else _id_of(resolver.found[path[:-1]])) for path in missing],
        [generation[path] for path in missing],
    )
    delete_levels, kept = [], []
    if purge and below:
        delete_levels, kept = _plan_purge(below, set(wanted), resolver.index)
    return TreePlan(root_path, create_levels, delete_levels, before, kept)


def _id_of(group):
    return group["id"] if group else None


def _levels(ops, levels):
    """Group operations by their level (``levels``, aligned with ``ops``), lowest first, keeping their order."""
    by_level = {}
    for op, level in zip(ops, levels):
        by_level.setdefault(level, []).append(op)
    return [by_level[level] for level in sorted(by_level)]


def _delete_levels(deletes, index):
    """Deletes by height: a group goes one level after the last of its children that is deleted too, so
    every leaf goes in the first level whatever its depth. Each level waits for the one before, because
    Mimecast documents no order among the items of one request. ``deletes`` lists parents before children."""
    doomed = set(op.group["id"] for op in deletes)
    height = {}
    for op in reversed(deletes):  # children before parents
        below = [
            height[child["id"]]
            for children in index.get(op.group["id"], {}).values()
            for child in children
            if child["id"] in doomed
        ]
        height[op.group["id"]] = max(below) + 1 if below else 0
    return _levels(deletes, [height[op.group["id"]] for op in deletes])


def _plan_absent(resolver, listed):
    targets = []
    for path in listed:
        group = resolver.at(path)
        if group is not resolver.MISSING:
            targets.append((path, group))
    resolver.check()
    doomed = set(group["id"] for _path, group in targets)
    problems = []
    for path, group in targets:
        if group.get("source") == "ldap":
            problems.append(
                "%r (%s) is synchronised from the directory (source ldap) and is never deleted here"
                % (join_path(path), group["id"])
            )
        unlisted = [
            join_path(path + (name,))
            for name, children in sorted(resolver.index.get(group["id"], {}).items())
            for child in children
            if child["id"] not in doomed
        ]
        if unlisted:
            problems.append(
                "%r (%s) has child groups that are not listed: %s" % (join_path(path), group["id"], ", ".join(unlisted))
            )
    if problems:
        _refuse(problems, "state=absent refuses before any write (child groups are never deleted implicitly)")
    targets.sort(key=lambda target: len(target[0]))  # parents before children (a stable sort keeps the order)
    return _delete_levels([Delete(path, group) for path, group in targets], resolver.index)


def _plan_purge(below, wanted, index):
    """Deletes for every group below the root that is not wanted, deepest first, and what purge keeps."""
    unaddressable = set()  # ids of groups whose path no entry can spell
    reasons = {}  # id -> why it is kept although not wanted
    for path, group in below:  # parents come first, so a parent's mark is known before its children
        parent_marked = group["parent_id"] in unaddressable
        if parent_marked or not _addressable(group["name"]):
            unaddressable.add(group["id"])
        if path in wanted:
            continue
        if group.get("source") == "ldap":
            reasons[group["id"]] = "synchronised from the directory (source ldap)"
        elif group["id"] in unaddressable:
            reasons[group["id"]] = "its path cannot be written in a groups entry (a name on it breaks the name rules)"
    # A group stays when it is wanted or kept, and so does every ancestor of one: walk children before parents.
    staying = set()
    for path, group in reversed(below):
        if path in wanted or group["id"] in reasons:
            staying.add(group["id"])
        if group["id"] in staying:
            staying.add(group["parent_id"])
    deletes, kept = [], []
    for path, group in below:
        if group["id"] not in staying:
            deletes.append(Delete(path, group))
        elif path not in wanted:
            kept.append((path, group, reasons.get(group["id"], "it holds a group that is kept")))
    return _delete_levels(deletes, index), kept
