# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mimecast profile groups: identity (which group a task means) and the read-diff-write flow.
Internal use only: this API may change without notice.

Why identity is not a string comparison:

* names are not unique: the same name may exist under several parents;
* ``find-groups`` matches ``query`` partially, so results are filtered to the exact name here;
* a root-level group's ``parentId`` is the id of an invisible root, never empty, and no call returns
  that root: a group is at the root when its ``parentId`` is not the id of any group, which only the
  full listing can tell;
* id strings of the same group have been seen to change over time, so groups are found by name and
  parent path on every run; ids are compared only within one run's answers.
"""

from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastError

FIND_GROUPS = "/api/directory/find-groups"
CREATE_GROUP = "/api/directory/create-group"

MAX_NAME_LENGTH = 255
PATH_SEPARATOR = "/"


class GroupError(Exception):
    """The task's group cannot be identified safely (missing parent, ambiguous match, bad input)."""


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


def split_path(path):
    """Split a parent path of group names (``Departments/EMEA``) into its names; raise GroupError if malformed.

    A leading separator is allowed (``/Departments/EMEA``) and means the same. A path names groups from the
    root, so a group whose own name contains the separator cannot be reached by path: use ``parent_id``.
    """
    if path is None or not path.strip():
        raise GroupError("parent must not be empty or blank: omit it, or give %r, for the root" % PATH_SEPARATOR)
    if path == PATH_SEPARATOR:
        return []
    names = path[1:].split(PATH_SEPARATOR) if path.startswith(PATH_SEPARATOR) else path.split(PATH_SEPARATOR)
    if path.endswith(PATH_SEPARATOR) and len(names) > 1:
        names = names[:-1]
    for name in names:
        validate_name(name, what="each name in parent %r" % path)
    return names


def validate_id(value, what):
    """Return an id if it looks like one (printable, no white space), else raise GroupError."""
    if value is None or not value.strip():
        raise GroupError("%s must not be empty or blank" % what)
    if any(ch.isspace() or not ch.isprintable() for ch in value) or len(value) > 1024:
        raise GroupError("%s is not a valid Mimecast id: %r" % (what, value[:80]))
    return value


def validate_target(name, parent=None, parent_id=None):
    """Check a task's group options before any request; raise GroupError on the first bad one."""
    validate_name(name)
    if parent is not None:
        split_path(parent)
    if parent_id is not None:
        validate_id(parent_id, "parent_id")


class Location:
    """Where a task's group belongs, and what already stands there."""

    def __init__(self, parent_id, parent, matches):
        self.parent_id = parent_id  # None means the root: create-group is sent without parentId
        self.parent = parent  # facts of the parent group, when known
        self.matches = matches  # groups of the wanted name under that parent


class GroupDirectory:
    """Reads and writes profile groups through a MimecastClient, with one listing per run at most."""

    def __init__(self, client):
        self.client = client
        self._listing = None

    # -- reading -----------------------------------------------------------------------------------

    def find(self, query=None):
        """Return the facts of every group whose name contains ``query`` (all pages)."""
        if self._listing is not None:
            return self._filter(self._listing, query)
        item = {"query": query} if query else {}
        groups = []
        for entry in self.client.paginate(FIND_GROUPS, item):
            groups.extend(group_facts(folder) for folder in entry.get("folders") or [])
        if not query:
            self._listing = groups
        return groups

    @staticmethod
    def _filter(groups, query):
        if not query:
            return list(groups)
        needle = query.lower()
        return [g for g in groups if needle in (g["name"] or "").lower()]

    def named(self, name):
        """Return the groups whose name is exactly ``name``."""
        return [g for g in self.find(name) if g["name"] == name]

    def listing(self):
        """Return every group, listing the directory once per run."""
        if self._listing is None:
            self.find()
        return self._listing

    def forget(self):
        """Drop what was read, after a write whose outcome is unknown."""
        self._listing = None

    def by_id(self):
        return dict((g["id"], g) for g in self.listing())

    def is_root(self, group):
        """True when ``group`` sits at the root: its parent id is not the id of any group."""
        return group["parent_id"] not in self.by_id()

    def children(self, parent_id):
        """Direct children of a group; ``None`` means the root."""
        if parent_id is None:
            return [g for g in self.listing() if self.is_root(g)]
        return [g for g in self.listing() if g["parent_id"] == parent_id]

    def resolve_path(self, path):
        """Return the facts of the group at ``path`` (names from the root); raise GroupError if missing or ambiguous."""
        parent = None
        walked = []
        for name in split_path(path):
            found = [g for g in self.children(parent["id"] if parent else None) if g["name"] == name]
            where = PATH_SEPARATOR.join(walked) or "the root"
            if not found:
                raise GroupError("parent %r does not exist: there is no group %r under %s" % (path, name, where))
            if len(found) > 1:
                raise GroupError(
                    "parent %r is ambiguous: %d groups named %r under %s (ids: %s); use parent_id"
                    % (path, len(found), name, where, ", ".join(g["id"] for g in found))
                )
            parent = found[0]
            walked.append(name)
        return parent

    def locate(self, name, parent=None, parent_id=None):
        """Find where the group ``name`` belongs (under ``parent`` path, ``parent_id``, or the root) and what is there.

        Uses the fewest calls the API allows: one name search when it settles the question, the full
        listing (once) when root-ness or a path has to be known.
        """
        if parent and split_path(parent):
            parent_group = self.resolve_path(parent)
            matches = [g for g in self.named(name) if g["parent_id"] == parent_group["id"]]
            return Location(parent_group["id"], parent_group, matches)
        same_name = self.named(name)
        if parent_id:
            matches = [g for g in same_name if g["parent_id"] == parent_id]
            if matches or not same_name:
                return Location(parent_id, None, matches)
            # Same-name groups stand elsewhere. If parent_id were an older id string of their parent,
            # creating now would duplicate the group: only go ahead for an id that is current.
            parent_group = self.by_id().get(parent_id)
            if parent_group is None:
                raise GroupError(
                    "parent_id %r is not the current id of any group, and groups named %r exist elsewhere "
                    "(ids: %s). Mimecast ids can change over time: use parent (a path of names) or a current id."
                    % (parent_id, name, ", ".join(g["id"] for g in same_name))
                )
            return Location(parent_id, parent_group, [])
        if not same_name:
            return Location(None, None, [])
        return Location(None, None, [g for g in same_name if self.is_root(g)])

    # -- writing -----------------------------------------------------------------------------------

    def create(self, name, location, relocate):
        """Create ``name`` at ``location`` and return its facts, never twice.

        When the outcome of a create is unknown (the connection dropped, a 5xx), ``relocate()`` looks
        again before another attempt, so a create that did run is found rather than repeated.
        """
        item = {"description": name}
        if location.parent_id:
            item["parentId"] = location.parent_id
        attempt = 0
        while True:
            try:
                data, _meta = self.client.call(CREATE_GROUP, [item], write=True)
            except MimecastError as exc:
                if not exc.uncertain or attempt >= self.client.max_retries:
                    raise
                attempt += 1
                self.client.wait_before_retry(
                    CREATE_GROUP, "%s; looking the group up before trying again" % exc.message, attempt=attempt
                )
                self.forget()
                matches = relocate().matches
                if len(matches) == 1:
                    return matches[0]
                if matches:
                    raise GroupError(_ambiguous(name, matches))
                continue
            if not data:
                raise MimecastError("Mimecast accepted %s but returned no group" % CREATE_GROUP)
            self.forget()
            return group_facts(data[0])


def _ambiguous(name, matches):
    return "%d groups named %r exist under that parent (ids: %s); resolve the duplicates in Mimecast first" % (
        len(matches),
        name,
        ", ".join(g["id"] for g in matches),
    )


def ensure_present(directory, name, parent=None, parent_id=None, check_mode=False):
    """Make sure the group exists; return ``(changed, before, after)`` facts (``before`` is None if created)."""

    def relocate():
        return directory.locate(name, parent=parent, parent_id=parent_id)

    location = relocate()
    if len(location.matches) > 1:
        raise GroupError(_ambiguous(name, location.matches))
    if location.matches:
        group = location.matches[0]
        return False, group, group
    if check_mode:
        planned = {
            "id": None,
            "name": name,
            "description": name,
            "parent_id": location.parent_id,
            "source": "cloud",
            "folder_count": 0,
            "user_count": 0,
        }
        return True, None, planned
    return True, None, directory.create(name, location, relocate)
