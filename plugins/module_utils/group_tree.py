# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mimecast profile groups as data: name rules, group facts, and the immutable tree of one listing.
No I/O here. Internal use only: this API may change without notice.

Why identity is not a string comparison:

* names are not unique: the same name may exist under several parents;
* ``find-groups`` matches ``query`` partially, so results are filtered to the exact name here;
* a root-level group's ``parentId`` is the id of an invisible root, never empty, and no call returns
  that root: a group is at the root when its ``parentId`` is not the id of any group, which only the
  full listing can tell;
* id strings of the same group have been seen to change over time, so groups are found by name and
  parent path on every run; ids are compared only within one run's answers.
"""

from ansible_collections.community.mimecast.plugins.module_utils.group_path import (
    SEPARATOR as PATH_SEPARATOR,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_path import (
    PathError,
    join_path,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_path import split_path as split_names

MAX_NAME_LENGTH = 255
# How many root-level groups are weighed as the listing's witness (GroupTree.root_fact): enough to find a name of
# its own in a real directory, few enough that a 100,000-group listing weighs them in a fraction of a second.
WITNESS_CANDIDATES = 20


class GroupError(ValueError):
    """The task's group cannot be identified safely (missing parent, ambiguous match, bad input)."""


class ParentNotFound(GroupError):
    """A group named in a parent path does not exist."""


def group_facts(record):
    """Return the snake_case facts of an API group record (1.0 ``folderCount`` or 2.0 ``groupCount``)."""
    folder_count = record.get("folderCount")
    if folder_count is None:
        folder_count = record.get("groupCount")
    return {
        "id": record.get("id"),
        "name": record.get("description"),
        "description": record.get("description"),
        "parent_id": record.get("parentId"),
        "source": record.get("source"),
        "folder_count": folder_count,
        "user_count": record.get("userCount"),
    }


def planned_group(name, parent_id):
    """The facts a group about to be created will have, as far as they are known before the write."""
    return {
        "id": None,
        "name": name,
        "description": name,
        "parent_id": parent_id,
        "source": "cloud",
        "folder_count": 0,
        "user_count": 0,
    }


def validate_name(name, what="name"):
    """Return ``name`` if it is a usable group name, else raise GroupError saying why."""
    if name is None or not name.strip():
        raise GroupError("%s must not be empty or blank" % what)
    if name != name.strip():
        raise GroupError("%s must not start or end with white space: %r" % (what, name))
    if len(name) > MAX_NAME_LENGTH:
        raise GroupError("%s is %d characters long; at most %d are allowed" % (what, len(name), MAX_NAME_LENGTH))
    if any(not ch.isprintable() for ch in name):
        raise GroupError("%s must not contain control characters: %r" % (what, name))
    return name


def parse_names(path, where, what, anchored=False):
    """The names of ``path`` (group_path's syntax: ``\\/`` for a ``/`` in a name, ``\\\\`` for a backslash), each
    checked by the name rules: the one place a path given by a user is parsed. A malformed path raises GroupError
    prefixed by ``where``, a bad name one that calls it ``what``. ``anchored`` allows a leading or trailing ``/``.
    """
    try:
        names = split_names(path, anchored=anchored)
    except PathError as exc:
        raise GroupError("%s: %s" % (where, exc)) from None
    return [validate_name(name, what=what) for name in names]


def split_path(path):
    """Split a parent path (``Departments/EMEA``, ``Sales\\/Marketing``) into its names; raise GroupError if malformed.

    A leading or trailing separator is allowed (``/Departments/EMEA/``) and means the same; ``/`` alone is the root
    (``[]``).
    """
    if path is None or not path.strip():
        raise GroupError("parent must not be empty or blank: omit it, or give %r, for the root" % PATH_SEPARATOR)
    return parse_names(path, "parent", "each name in parent %r" % path, anchored=True)


def listable(path):
    """True when ``path`` (group_path's syntax, as ``GroupTree.path_of`` gives it) can be a ``groups`` entry of a
    tree task: every name on it follows the name rules. The tree task's purge keeps the groups it cannot list."""
    try:
        parse_names(path, "path", "a name")
    except GroupError:
        return False
    return True


def validate_id(value, what):
    """Return an id if it looks like one (printable, no white space), else raise GroupError."""
    if value is None or not value.strip():
        raise GroupError("%s must not be empty or blank" % what)
    if any(ch.isspace() or not ch.isprintable() for ch in value) or len(value) > 1024:
        raise GroupError("%s is not a valid Mimecast id: %r" % (what, value[:80]))
    return value


def validate_target(name, parent=None, parent_id=None):
    """Check a task's group options before any request; raise GroupError on the first bad one.

    ``name`` None means not given (the task names its group by id).
    """
    if name is not None:
        validate_name(name)
    if parent is not None:
        split_path(parent)
    if parent_id is not None:
        validate_id(parent_id, "parent_id")


class GroupTree:
    """The groups of one full listing, as an immutable tree: which group is where, and under which path.

    A group is at the root when its parent id is not the id of any listed group (Mimecast's root is
    invisible). Ids are compared only within this one listing.
    """

    def __init__(self, groups):
        self.groups = tuple(groups)
        self._by_id = dict((g["id"], g) for g in self.groups)
        self._children = {}
        for group in self.groups:
            parent = group["parent_id"] if group["parent_id"] in self._by_id else None
            self._children.setdefault(parent, []).append(group)

    def __len__(self):
        return len(self.groups)

    def get(self, group_id):
        """Return the facts of the group whose id is ``group_id``, or None."""
        return self._by_id.get(group_id)

    def is_root(self, group):
        """True when ``group`` sits at the root: its parent id is not the id of any group."""
        return group["parent_id"] not in self._by_id

    def root_id(self):
        """The id of Mimecast's invisible root, learnt from any root-level group (None if there is none)."""
        for group in self._children.get(None, []):
            return group["parent_id"]
        return None

    def root_fact(self):
        """What this listing proves for later name searches: ``{"id": the invisible root's id, "groups": how many
        groups were listed, "witness": the name of a root-level group}`` (group_resolve.py); None when there is no
        root-level group, or when they do not all name the same parent id (ids changed while the listing was read:
        nothing is proved)."""
        parents = set(g["parent_id"] for g in self._children.get(None, []))
        if len(parents) != 1:
            return None
        root_id = parents.pop()
        if not isinstance(root_id, str) or not root_id:
            return None
        fact = {"id": root_id, "groups": len(self.groups)}
        witness = self._witness()
        if witness is not None:
            fact["witness"] = witness
        return fact

    def _witness(self):
        """The name of a root-level group whose name search fits one page (the fewest groups hold its name, among
        the first root groups), or None: a later search for it shows whether the root's id is still current."""
        best = None
        for group in self._children.get(None, [])[:WITNESS_CANDIDATES]:
            name = group["name"]
            if not isinstance(name, str) or not name:
                continue
            needle = name.casefold()
            hits = sum(1 for g in self.groups if needle in (g["name"] or "").casefold())
            if best is None or hits < best[0]:
                best = (hits, name)
            if hits <= 1:
                break
        return None if best is None else best[1]

    def children(self, parent_id):
        """Direct children of a group; ``None`` means the root."""
        if parent_id is not None and parent_id not in self._by_id:
            return list(self._children.get(None, [])) if parent_id == self.root_id() else []
        return list(self._children.get(parent_id, []))

    def named(self, name):
        """Return the groups whose name is exactly ``name``, wherever they are."""
        return [g for g in self.groups if g["name"] == name]

    def path_of(self, group):
        """Return the path of ``group`` (names from the root, group_path's join), or None if a link is missing."""
        names = self.names_of(group)
        return None if names is None else join_path(names)

    def names_of(self, group):
        """Return the list of names from the root down to ``group``, or None if a link is missing."""
        names = [group["name"]]
        seen = set([group["id"]])
        parent = self.get(group["parent_id"])
        while parent is not None:
            if parent["id"] in seen:
                return None  # a cycle in what the API returned: no path to give
            seen.add(parent["id"])
            names.append(parent["name"])
            parent = self.get(parent["parent_id"])
        return list(reversed(names))

    def at_names(self, names, several=None):
        """The one group at the path ``names`` (names from the root down), or None when a step finds none.

        Where a step finds several groups of that name, ``several(depth, found)`` is called when given (it may
        raise); the answer is None either way: which group is meant cannot be told.
        """
        group = None
        for depth, name in enumerate(names):
            found = [g for g in self.children(group["id"] if group else None) if g["name"] == name]
            if len(found) > 1 and several is not None:
                several(depth, found)
            if len(found) != 1:
                return None
            group = found[0]
        return group

    def is_gone(self, group_id, names):
        """True when a group deleted in this run is no longer listed: neither under its id nor at its path.

        Ids can change between answers, so a missing id alone proves nothing: the path of names must be free
        too. A path whose parent is gone is free; one whose parent is ambiguous is not looked into further.
        """
        if self.get(group_id) is not None:
            return False
        parent = None
        for name in names[:-1]:
            found = [g for g in self.children(parent["id"] if parent else None) if g["name"] == name]
            if len(found) != 1:
                return len(found) == 0  # the parent is gone, so is the group; several parents: look no further
            parent = found[0]
        return not any(g["name"] == names[-1] for g in self.children(parent["id"] if parent else None))

    def is_below(self, group_id, ancestor):
        """True when the group ``group_id`` is a descendant of ``ancestor``."""
        current = self.get(group_id)
        seen = set()
        while current is not None and current["id"] not in seen:
            if current["parent_id"] == ancestor["id"]:
                return True
            seen.add(current["id"])
            current = self.get(current["parent_id"])
        return False

    def resolve_path(self, path):
        """Return the facts of the group at ``path`` (names from the root), None for the root itself.

        Raises ParentNotFound when a name is missing and GroupError when one is ambiguous.
        """
        parent = None
        walked = []
        for name in split_path(path):
            found = [g for g in self.children(parent["id"] if parent else None) if g["name"] == name]
            where = join_path(walked) or "the root"
            if not found:
                raise ParentNotFound("parent %r does not exist: there is no group %r under %s" % (path, name, where))
            if len(found) > 1:
                raise GroupError(
                    "parent %r is ambiguous: %d groups named %r under %s (ids: %s); use parent_id"
                    % (path, len(found), name, where, ", ".join(g["id"] for g in found))
                )
            parent = found[0]
            walked.append(name)
        return parent
