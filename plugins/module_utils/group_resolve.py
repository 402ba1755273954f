# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where a path of names leads, by ``find-groups`` name searches instead of the full listing, when that is both
cheaper and certain. Internal use only: this API may change without notice.

Only the full listing tells that a group is at the root: a root group's ``parentId`` is the id of an invisible
root that no call returns. That id is the same for every root group, so once a listing of the run has shown it
(GroupTree.root_fact), the action plugin keeps it for the tenant for the rest of the run (plugin_utils/run_store.py,
where the API 2.0 token is kept too) and passes it in as ``directory_root``. Then one name search per segment
(``query`` = the name, results filtered to that exact name), linked by parent ids from the top, whose parent must
be that root id, settles a path.

Every search reads all its pages (a name that fills a page is no doubt), within a budget of fewer pages than the
listing. Groups of the wanted name that stand elsewhere but none under the parent prove it absent there when a
search sent after the name's own links to the root id: ids are seen to change for every group at once, so an
answer after the name's that still shows the root id proves that the name's answer showed current ids. Under a
parent path, the path's own searches are that proof; at the root, a search for the listing's witness (a
root-level group whose name few groups hold, GroupTree.root_fact) is sent last.

Never a wrong answer: whenever the searches cannot settle it, :func:`locate_by_search` returns None and the caller
reads the full listing, as without a known root. That is when no root id is known, when the searches could cost
as many pages as the listing, when the ids do not link (ids drift: an old root id links nothing), when a segment
is ambiguous, or when the name stands elsewhere, none at the root, and the witness is unknown or links nothing.
A name that no search finds anywhere is absent wherever it is asked for, whatever the ids.
"""

from ansible_collections.community.mimecast.plugins.module_utils.client import MAX_PAGE_SIZE
from ansible_collections.community.mimecast.plugins.module_utils.group_path import join_path
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import ParentNotFound
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import PageLimit
from ansible_collections.community.mimecast.plugins.module_utils.run_contract import known_root


def listing_pages(groups):
    """How many requests the full listing of ``groups`` groups costs."""
    return max(1, -(-groups // MAX_PAGE_SIZE))


def locate_by_search(directory, name, parent_names):
    """Return ``(parent_id, matches)`` for the group ``name`` under the path ``parent_names`` (a list of names,
    empty for the root; ``parent_id`` None means the root), or None when only the full listing can tell.

    Raises ParentNotFound when a name of the parent path exists nowhere (a search that finds no group of a name
    proves that whatever the ids).
    """
    root = known_root(directory.known_root)
    if directory.listed() or root is None:
        return None  # the listing is read anyway, or nothing proves where the root is
    budget = listing_pages(root["groups"]) - 1  # the searches must cost fewer requests than the listing
    if budget < len(parent_names) + 1:
        return None  # one search a segment at least: the listing is no dearer
    searcher = _Searches(directory, budget)
    try:
        found = searcher.named(name)
        parent_id = _parent_by_search(searcher, parent_names, root["id"])
        if parent_id is None:
            return None
        matches = [g for g in found if g["parent_id"] == parent_id]
        if not matches and found and not parent_names and not _root_still_current(searcher, root):
            return None  # same-name groups elsewhere, none at the root, and nothing shows the root id is current
    except PageLimit:
        return None
    return (parent_id if parent_names else None), matches


def _root_still_current(searcher, root):
    """True when a search sent after the name's own shows the witness (a root-level group of the listing) under
    the known root id: the ids the name's search showed were then current, so a group of that name at the root
    would have shown that id. Without a witness, or when it links nothing (ids changed), nothing is proved."""
    witness = root.get("witness")
    if not witness:
        return False
    return any(g["parent_id"] == root["id"] for g in searcher.named(witness))


class _Searches:
    """Name searches that stop (PageLimit) before their pages together pass ``budget``."""

    def __init__(self, directory, budget):
        self.directory = directory
        self.left = budget

    def named(self, name):
        if self.left < 1:
            raise PageLimit("no page left")
        groups, pages = self.directory.search_pages(name, max_pages=self.left)
        self.left -= pages
        return groups


def _parent_by_search(searcher, names, root_id):
    """The id of the group at ``names`` (``root_id`` for the root), or None when the searches do not settle it."""
    if not names:
        return root_id
    levels = []
    for depth in range(len(names) - 1, -1, -1):  # leaf up: a name found nowhere ends it early
        groups = searcher.named(names[depth])
        if not groups:
            raise ParentNotFound(
                "parent %r does not exist: there is no group named %r anywhere" % (join_path(names), names[depth])
            )
        levels.append(groups)
    current = root_id
    for groups in reversed(levels):  # top down, each level linked to the one above by its parent id
        linked = [g for g in groups if g["parent_id"] == current]
        if len(linked) != 1:
            return None  # missing (or ids drifted) or ambiguous: the listing says which, and how
        current = linked[0]["id"]
    return current
