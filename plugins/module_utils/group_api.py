# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The group endpoints of the Mimecast API, over lists of items: the listing read once per run, and
batched creates, updates and deletes through the client's one write path.
Internal use only: this API may change without notice.
"""

from ansible_collections.community.mimecast.plugins.module_utils.client import WriteError
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupTree, group_facts

FIND_GROUPS = "/api/directory/find-groups"
CREATE_GROUP = "/api/directory/create-group"
UPDATE_GROUP = "/api/directory/update-group"
DELETE_GROUP = "/api/directory/delete-group"


class GroupDirectory:
    """Reads and writes profile groups through a MimecastClient, listing the directory once per run at most."""

    def __init__(self, client, known_root=None):
        self.client = client
        self._tree = None
        # What an earlier task of the run learnt from a listing ({"id": the invisible root's id, "groups": how
        # many were listed}), or None; and what this task's own listing proved, to hand on to later tasks.
        self.known_root = known_root
        self.learnt_root = None

    def tree(self):
        """Return the :class:`GroupTree` of every group (every page of ``find-groups``), read once until forgotten."""
        if self._tree is None:
            groups = []
            for entry in self.client.paginate(FIND_GROUPS, {}):
                groups.extend(group_facts(folder) for folder in entry.get("folders") or [])
            self._tree = GroupTree(groups)
            fact = self._tree.root_fact()
            if fact is not None:
                self.known_root = self.learnt_root = fact
        return self._tree

    def listed(self):
        """True when the full listing has been read and not forgotten since."""
        return self._tree is not None

    def search_pages(self, name, max_pages=None):
        """Return ``(groups named exactly name, pages read)`` by a name search; client.PageLimit is raised rather
        than read more than ``max_pages`` pages."""
        found = []
        pages = 0
        for entry in self.client.paginate(FIND_GROUPS, {"query": name}, max_pages=max_pages):
            pages += 1  # one item a call: one data entry a page
            found.extend(group_facts(folder) for folder in entry.get("folders") or [])
        # The search matches partially; only the exact name is the group.
        return [g for g in found if g["name"] == name], pages

    def forget(self):
        """Drop what was read, so the next question reads the directory again."""
        self._tree = None

    def search(self, name):
        """Return the groups named exactly ``name``: from the listing when it was read, else by a name search."""
        if self._tree is not None:
            return self._tree.named(name)
        return self.search_pages(name)[0]

    def create(self, items, confirm):
        """Create groups (items ``{description, parentId?}``); ItemResults whose records are group facts."""
        return self._write(CREATE_GROUP, items, confirm)

    def update(self, items, confirm):
        """Rename or move groups (items ``{id, description?, parentId?}``); ItemResults with group facts."""
        return self._write(UPDATE_GROUP, items, confirm)

    def delete(self, items, confirm):
        """Delete groups (items ``{id}``); ItemResults."""
        return self._write(DELETE_GROUP, items, confirm)

    def _write(self, path, items, confirm):
        def confirm_fresh(pending):
            self.forget()  # a confirmation must see the directory as it is now
            return confirm(pending)

        try:
            results = self.client.write(path, items, confirm_fresh)
        except WriteError as exc:
            _as_facts(exc.results)  # what was confirmed before the failure is kept, as facts too
            raise
        finally:
            self.forget()
        return _as_facts(results)


def _as_facts(results):
    for result in results:
        # Records that confirm() found are facts already (they have a name); the API's answers are converted.
        if result.ok and result.record and "name" not in result.record:
            result.record = group_facts(result.record)
    return results
