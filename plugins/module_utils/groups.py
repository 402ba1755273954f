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
UPDATE_GROUP = "/api/directory/update-group"
DELETE_GROUP = "/api/directory/delete-group"

MAX_NAME_LENGTH = 255
PATH_SEPARATOR = "/"


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
    """Check a task's group options before any request; raise GroupError on the first bad one.

    ``name`` None means not given (the task names its group by id).
    """
    if name is not None:
        validate_name(name)
    if parent is not None:
        split_path(parent)
    if parent_id is not None:
        validate_id(parent_id, "parent_id")


class Location:
    """Where a task's group belongs, and what already stands there."""

    def __init__(self, parent_id, matches):
        self.parent_id = parent_id  # None means the root: create-group is sent without parentId
        self.matches = matches  # groups of the wanted name under that parent


class GroupDirectory:
    """Reads and writes profile groups through a MimecastClient, with one listing per run at most."""

    def __init__(self, client):
        self.client = client
        self._listing = None
        self._by_id = None

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
            self._by_id = dict((g["id"], g) for g in groups)
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
        """Drop what was read, after a write."""
        self._listing = None
        self._by_id = None

    def get(self, group_id):
        """Return the facts of the group whose current id is ``group_id``, or None."""
        self.listing()
        return self._by_id.get(group_id)

    def is_root(self, group):
        """True when ``group`` sits at the root: its parent id is not the id of any group."""
        return self.get(group["parent_id"]) is None

    def root_id(self):
        """The id of Mimecast's invisible root, learnt from any root-level group (None if there is none)."""
        for group in self.listing():
            if self.is_root(group):
                return group["parent_id"]
        return None

    def path_of(self, group):
        """Return the names from the root down to ``group`` joined by ``/``, or None if a link is missing."""
        names = [group["name"]]
        seen = set([group["id"]])
        parent = self.get(group["parent_id"])
        while parent is not None:
            if parent["id"] in seen:
                return None  # a cycle in what the API returned: no path to give
            seen.add(parent["id"])
            names.append(parent["name"])
            parent = self.get(parent["parent_id"])
        return PATH_SEPARATOR.join(reversed(names))

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
                raise ParentNotFound("parent %r does not exist: there is no group %r under %s" % (path, name, where))
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

        Uses the fewest calls the API allows. At the root or under a path, the full listing is needed anyway
        (only it tells root-ness), and it answers the name too: a name search first would be one call more.
        Under a ``parent_id``, a name search settles it unless the name also exists elsewhere.
        """
        if parent_id:
            return self._locate_under_id(name, parent_id)
        if parent and split_path(parent):
            parent_group = self.resolve_path(parent)
            matches = [g for g in self.listing() if g["name"] == name and g["parent_id"] == parent_group["id"]]
            return Location(parent_group["id"], matches)
        return Location(None, [g for g in self.listing() if g["name"] == name and self.is_root(g)])

    def _locate_under_id(self, name, parent_id):
        same_name = self.named(name)
        matches = [g for g in same_name if g["parent_id"] == parent_id]
        if matches or not same_name:
            return Location(parent_id, matches)
        # Same-name groups stand elsewhere. If parent_id were an older id string of their parent,
        # creating now would duplicate the group: only go ahead for an id that is current.
        if self.get(parent_id) is None:
            raise GroupError(
                "parent_id %r is not the current id of any group, and groups named %r exist elsewhere "
                "(ids: %s). Mimecast ids can change over time: use parent (a path of names) or a current id."
                % (parent_id, name, ", ".join(g["id"] for g in same_name))
            )
        return Location(parent_id, [])

    # -- writing -----------------------------------------------------------------------------------

    def _write(self, path, item, confirm):
        """Send one write and return the group facts it produced, never applying it twice.

        When the outcome is unknown (the connection dropped, a 5xx, a gateway page), ``confirm()`` reads
        the directory again and returns the facts if the write did happen (or raises GroupError if what
        it finds makes a retry unsafe); only when it did not is the write sent again.
        """
        attempt = 0
        while True:
            try:
                data, _meta = self.client.call(path, [item], write=True)
            except MimecastError as exc:
                if not exc.uncertain or attempt >= self.client.max_retries:
                    raise
                attempt += 1
                self.client.wait_before_retry(
                    path, "%s; reading the directory before trying again" % exc.message, attempt
                )
                self.forget()
                done = confirm()
                if done is not None:
                    return done
                continue
            self.forget()
            return group_facts(data[0]) if data else {}

    def create(self, name, parent_id, relocate):
        """Create ``name`` under ``parent_id`` (None: the root) and return its facts."""
        item = {"description": name}
        if parent_id:
            item["parentId"] = parent_id

        def confirm():
            matches = relocate().matches
            if len(matches) > 1:
                raise GroupError(_ambiguous(name, matches))
            return matches[0] if matches else None

        return self._write(CREATE_GROUP, item, confirm)

    def update(self, group, name, parent_id):
        """Rename and/or move ``group``; ``parent_id`` None keeps the parent. Returns the updated facts."""
        item = {"id": group["id"]}
        if name != group["name"]:
            item["description"] = name
        if parent_id is not None and parent_id != group["parent_id"]:
            item["parentId"] = parent_id

        def confirm():
            now = self.get(group["id"])
            if now is None:
                raise GroupError("group %s disappeared while it was being updated" % group["id"])
            moved = parent_id is None or now["parent_id"] == parent_id
            return now if now["name"] == name and moved else None

        updated = self._write(UPDATE_GROUP, item, confirm)
        # Some answers carry only what changed: fill in the rest from what was read.
        merged = dict(group)
        merged.update(dict((k, v) for k, v in updated.items() if v is not None))
        return merged

    def delete(self, group, relocate):
        """Delete ``group``; ``relocate()`` finds it again (by name and parent) if the outcome is unknown."""

        def confirm():
            return {} if not any(g["id"] == group["id"] for g in relocate()) else None

        self._write(DELETE_GROUP, {"id": group["id"]}, confirm)


def _ambiguous(name, matches):
    return "%d groups named %r exist under that parent (ids: %s); resolve the duplicates in Mimecast first" % (
        len(matches),
        name,
        ", ".join(g["id"] for g in matches),
    )


def _refuse_ldap(group, action):
    if group.get("source") == "ldap":
        raise GroupError(
            "group %r (%s) comes from directory synchronisation (source ldap): it is managed in the directory, "
            "not here, so it is not %s" % (group["name"], group["id"], action)
        )


def _planned(name, parent_id):
    return {
        "id": None,
        "name": name,
        "description": name,
        "parent_id": parent_id,
        "source": "cloud",
        "folder_count": 0,
        "user_count": 0,
    }


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
        return True, None, _planned(name, location.parent_id)
    return True, None, directory.create(name, location.parent_id, relocate)


def ensure_absent(directory, name, parent=None, parent_id=None, check_mode=False):
    """Make sure no group of that name is under that parent; return ``(changed, before, after)``.

    Nothing is written when it is already absent. Child groups are never deleted implicitly.
    """

    def relocate():
        return directory.locate(name, parent=parent, parent_id=parent_id).matches

    try:
        matches = relocate()
    except ParentNotFound:
        return False, None, None  # its parent is missing, so the group is too
    if len(matches) > 1:
        raise GroupError(_ambiguous(name, matches))
    if not matches:
        return False, None, None
    return _delete(directory, matches[0], check_mode, relocate)


def _delete(directory, group, check_mode, relocate):
    _refuse_ldap(group, "deleted")
    children = directory.children(group["id"])
    if children or group.get("folder_count"):
        raise GroupError(
            "group %r (%s) has %d child group(s) (%s): delete or move them first; child groups are never "
            "deleted implicitly"
            % (
                group["name"],
                group["id"],
                len(children) or group["folder_count"],
                ", ".join(g["name"] for g in children),
            )
        )
    if not check_mode:
        directory.delete(group, relocate)
    return True, group, None


def ensure_by_id(directory, group_id, state="present", name=None, parent=None, parent_id=None, check_mode=False):
    """Manage the exact group ``group_id``: rename, move or delete it; return ``(changed, before, after)``."""
    group = directory.get(group_id)
    if state == "absent":
        if group is None:
            return False, None, None
        return _delete(directory, group, check_mode, directory.listing)
    if group is None:
        raise GroupError(
            "no group has the id %r. Mimecast ids can change over time: find the group by name and parent "
            "instead, or look up its current id with community.mimecast.mimecast_group_info" % group_id
        )
    wanted_name = name if name is not None else group["name"]
    wanted_parent = None  # None: keep the parent
    if parent is not None:
        wanted_parent = directory.resolve_path(parent)["id"] if split_path(parent) else directory.root_id()
    elif parent_id is not None:
        if directory.get(parent_id) is None and parent_id != directory.root_id():
            raise GroupError("parent_id %r is not the current id of any group" % parent_id)
        wanted_parent = parent_id
    if wanted_parent is not None and (wanted_parent == group["id"] or _is_below(directory, wanted_parent, group)):
        raise GroupError("group %r cannot be moved under itself or one of its own children" % group["name"])
    rename = wanted_name != group["name"]
    move = wanted_parent is not None and wanted_parent != group["parent_id"]
    if not rename and not move:
        return False, group, group
    _refuse_ldap(group, "renamed or moved")
    target_parent = wanted_parent if move else group["parent_id"]
    clash = [
        g
        for g in directory.listing()
        if g["name"] == wanted_name and g["parent_id"] == target_parent and g["id"] != group["id"]
    ]
    if clash:
        raise GroupError(
            "a group named %r already exists there (ids: %s): renaming or moving would make two"
            % (wanted_name, ", ".join(g["id"] for g in clash))
        )
    after = dict(group, name=wanted_name, description=wanted_name, parent_id=target_parent)
    if check_mode:
        return True, group, after
    return True, group, directory.update(group, wanted_name, wanted_parent if move else None)


def _is_below(directory, group_id, ancestor):
    """True when the group ``group_id`` is a descendant of ``ancestor``."""
    current = directory.get(group_id)
    seen = set()
    while current is not None and current["id"] not in seen:
        if current["parent_id"] == ancestor["id"]:
            return True
        seen.add(current["id"])
        current = directory.get(current["parent_id"])
    return False


def list_groups(directory, name=None, query=None, parent=None, parent_id=None, source=None):
    """Return the facts, with ``path``, of the groups that pass every filter given.

    ``name`` matches exactly, ``query`` partially (case-insensitive, like the API); ``parent`` (a path,
    ``/`` for the root) or ``parent_id`` keeps direct children only; ``source`` is ``cloud`` or ``ldap``.
    A parent that does not exist simply has no children. Paths need the listing, so the listing answers
    ``query`` too: a name search first would be one read more.
    """
    directory.listing()
    groups = directory.find(query)
    if name is not None:
        groups = [g for g in groups if g["name"] == name]
    if source is not None:
        groups = [g for g in groups if g["source"] == source]
    if parent is not None:
        try:
            parent_group = directory.resolve_path(parent) if split_path(parent) else None
        except ParentNotFound:
            return []
        groups = [g for g in groups if (g["parent_id"] == parent_group["id"] if parent_group else directory.is_root(g))]
    elif parent_id is not None:
        groups = [g for g in groups if g["parent_id"] == parent_id]
    return [dict(g, path=directory.path_of(g)) for g in groups]
