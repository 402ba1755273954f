# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The group endpoints of the Mimecast API, over lists of items: the listing read once per run, and
batched creates, updates and deletes through the one batch-write engine (write_engine); the member endpoints
beside them (their reads and writes are in members.py, which only tasks with members import).
Internal use only: this API may change without notice.
"""

from functools import partial

from ansible_collections.community.mimecast.plugins.module_utils.group_path import join_path
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import GroupTree, group_facts
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    REFUSED,
    UNKNOWN,
    ItemResult,
    MimecastError,
)

FIND_GROUPS = "/api/directory/find-groups"
CREATE_GROUP = "/api/directory/create-group"
UPDATE_GROUP = "/api/directory/update-group"
DELETE_GROUP = "/api/directory/delete-group"
GET_GROUP_MEMBERS = "/api/directory/get-group-members"
ADD_GROUP_MEMBER = "/api/directory/add-group-member"
REMOVE_GROUP_MEMBER = "/api/directory/remove-group-member"
# Members per get-group-members page: the largest page clients use (and find-groups allows).
MEMBER_PAGE_SIZE = 100
# Mimecast's answers that the wanted state of a member holds already: on add, and on remove.
ALREADY_MEMBER = "err_folder_group_member_already_exists"
NOT_A_MEMBER = "err_folder_email_address_not_found"
# Mimecast's answer to a delete whose id it does not know. It proves nothing alone: the group may be gone (deleted
# by this task's earlier try, or by someone else) or still there under another id string (ids drift).
NOT_FOUND = "err_folder_not_found"
# The outcome of a delete answered NOT_FOUND on its first try while a fresh listing no longer shows the group: it
# was gone before this task's delete reached it (someone else deleted it between the task's read and its write).
ALREADY_ABSENT = "already_absent"


class DuplicateCreated(MimecastError):
    """A create sent again after a try whose outcome was unknown left two groups of its name under its parent, and
    the other one is not provably this task's own (it has members or children, or is not a cloud group), or it
    could not be removed. The create itself was done: the task reports ``changed``."""

    def details(self):
        details = super().details()
        details["changed"] = True
        return details


class GroupDirectory:
    """Reads and writes profile groups through a MimecastClient, listing the directory once per run at most.

    ``warn`` receives a line for each duplicate that a resent create made and that this task removed.
    ``locked`` says that the task holds the tenant's lock (the action plugin's ``tenant_locked``): only then is a
    second empty group of a created name provably this task's own, and removed; without the lock it is named.
    """

    def __init__(self, client, known_root=None, warn=None, locked=False):
        self.client = client
        self._warn = warn
        self._locked = locked
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
        """Create groups (items ``{description, parentId?}``); return a write_engine.Written whose records are group
        facts.

        No silent duplicate: when an item was sent again after a try whose outcome was unknown, an earlier try
        may land too, even after the resend was answered. So, one settle window after the answer, the groups of
        that name are read once more (:meth:`_remove_duplicates`); a second group of that name under that parent
        that this task made is deleted, with a warning, and any other one fails the write naming both ids.
        """
        answer = self._write(CREATE_GROUP, items, confirm)
        problem = self._duplicates_left(answer.results)
        if problem is not None:
            failure = answer.failure
            answer.failure = DuplicateCreated(problem if failure is None else "%s; %s" % (failure.message, problem))
        return answer

    def _duplicates_left(self, results):
        """:meth:`_remove_duplicates`, with a failing read or delete said as a problem: the creates stay done."""
        try:
            return self._remove_duplicates(results)
        except (MimecastError, ValueError) as exc:  # GroupError is a ValueError
            return (
                "a create was sent again after a try whose outcome was unknown, and looking for a duplicate it may "
                "have made failed: %s; check the groups it created for duplicates"
                % (getattr(exc, "message", None) or exc)
            )

    def update(self, items, confirm):
        """Rename or move groups (items ``{id, description?, parentId?}``); a Written with group facts."""
        return self._write(UPDATE_GROUP, items, confirm)

    def delete(self, targets):
        """Delete groups, each given as ``(facts, names from the root down to it)``; return a write_engine.Written.

        The one place where a delete's outcome is decided, for every flow. An item whose answer was lost is done
        when a fresh listing shows neither its id nor its path of names (ids can change between answers). An item
        answered ``err_folder_not_found`` is looked up in a fresh listing too, since that answer proves nothing
        alone:

        * its path is free and it had been sent in an earlier try whose outcome was unknown (``resent``): that
          try deleted it; done;
        * its path is free and this was its first try: someone else deleted it between the task's read and its
          write; its state is ``ALREADY_ABSENT`` (not done by this task, not refused);
        * its path still holds a group (ids drifted: the id read is no longer the group's): not done; refused,
          naming the path, the id sent and the id listed now. It is not sent again under the new id: the plan's
          checks (children, source) were made on the old listing, and a group now at that path may not be the
          one that was read; a re-run reads the directory again and deletes it by its current id.

        When that listing cannot be read, those items are unknown and the answer's ``failure`` says why, as when the
        write itself failed part-way (its results are settled the same way).
        """
        items = [{"id": group["id"]} for group, _names in targets]
        names_of = dict((id(item), list(names)) for item, (_group, names) in zip(items, targets))

        def confirm(pending):
            tree = self.tree()
            return [{} if tree.is_gone(item["id"], names_of[id(item)]) else None for item in pending]

        answer = self._write(DELETE_GROUP, items, confirm)
        answer.results, failure = self._settle_not_found(answer.results, [names for _group, names in targets])
        answer.failure = answer.failure or failure
        return answer

    def _settle_not_found(self, results, paths):
        """Decide each delete answered ``err_folder_not_found`` by one fresh listing (see :meth:`delete`); return
        ``(results, None)``, or ``(results, failure)`` with those items unknown when the listing failed."""
        doubtful = [i for i, result in enumerate(results) if result.state == REFUSED and result.codes == {NOT_FOUND}]
        if not doubtful:
            return results, None
        settled = list(results)
        try:
            tree = self.tree()
        except MimecastError as exc:
            for i in doubtful:
                settled[i] = ItemResult(results[i].item, state=UNKNOWN, resent=results[i].resent)
            failure = MimecastError(
                "Mimecast answered %s to %d delete(s); then reading the directory to learn whether they are gone "
                "failed: %s" % (NOT_FOUND, len(doubtful), exc.message),
                status=exc.status,
                code=exc.code,
                errors=exc.errors,
                uncertain=True,
            )
            return settled, failure
        finally:
            self.forget()
        for i in doubtful:
            result, names = results[i], paths[i]
            if tree.is_gone(result.item["id"], names):
                if result.resent:
                    settled[i] = ItemResult(result.item, {}, resent=True)
                else:
                    settled[i] = ItemResult(result.item, errors=result.errors, state=ALREADY_ABSENT)
                continue
            current = tree.get(result.item["id"]) or tree.at_names(names)
            message = (
                "Mimecast answered %s for the id %s, but %r is still listed%s: it was not deleted (ids can change "
                "over time); re-run the task to delete it by its current id"
                % (
                    NOT_FOUND,
                    result.item["id"],
                    join_path(names),
                    ", now with the id %s" % current["id"] if current else "",
                )
            )
            settled[i] = ItemResult(
                result.item, errors=[{"code": NOT_FOUND, "message": message, "retryable": False}], state=REFUSED
            )
        return settled, None

    def _remove_duplicates(self, results):
        """Find and remove the duplicates that resent creates made; return why the task fails, or None.

        Before a create, no group of its name stood under its parent (that is why it was created), and the
        per-tenant lock keeps the collection's other tasks out: another group of that name under that parent that
        is empty (no member, no child) and a cloud group was made by this task's own earlier try. It is deleted
        through the normal write path (confirmed like any delete); the group whose id the answer gave is kept,
        since later creates may use it as parentId. Anything else is left alone and named, with both ids.
        """
        resent = [r for r in results if r.ok and r.resent and r.record and r.record.get("id")]
        if not resent:
            return None
        self.client.wait_for_late_landings()
        names = sorted(set(r.item["description"] for r in resent))
        # One name search for one name; for several names (a tree's batch), or a root whose id is not known, the
        # listing: one read either way, and the listing also tells children and the root.
        tree = self.tree() if len(names) > 1 or any(not _parents(r) for r in resent) else None
        found = self.search_pages(names[0])[0] if tree is None else None
        problems = []
        extras = []  # (result, group) to delete
        for result in resent:
            kept, name = result.record, result.item["description"]
            if tree is not None:
                same = [g for g in tree.named(name) if _under(g, result, tree)]
            else:
                same = [g for g in found if _under(g, result, None)]
            if len(same) < 2:
                continue  # one group stands there (under the answer's id, or a newer id string of it)
            others = [g for g in same if g["id"] != kept["id"]]
            if len(others) == len(same):
                why = (
                    "none has the id the create's answer gave (%s), so which one this task uses is unknown"
                    % (kept["id"])
                )
            elif not all(_made_by_this_task(g, tree) for g in others):
                why = (
                    "the group the answer gave is %s; another is not an empty cloud group without children"
                    % (kept["id"])
                )
            elif not self._locked:
                why = (
                    "the group the answer gave is %s; the task did not hold the tenant's lock, so the other may be "
                    "another task's or client's" % (kept["id"])
                )
            else:
                extras.extend((result, g) for g in others)
                continue
            problems.append(
                "%d groups named %r stand %s after its create was sent again (ids: %s): %s; nothing was removed: "
                "resolve the duplicate in Mimecast"
                % (len(same), name, _where(result), ", ".join(g["id"] for g in same), why)
            )
        if extras:
            problems.extend(self._delete_extras(extras))
        return "; ".join(problems) if problems else None

    def _delete_extras(self, extras):
        """Delete the duplicates ``extras`` ((result, group) pairs) in one request; return the problems left."""
        items = [{"id": group["id"]} for _result, group in extras]

        def gone(result, group):
            # Gone when its id is no longer listed and only the kept group stands there (ids can change). At the
            # root with no parent id known, only the listing tells which groups stand there.
            name = result.item["description"]
            if _parents(result):
                same = [g for g in self.search_pages(name)[0] if _under(g, result, None)]
            else:
                tree = self.tree()
                same = [g for g in tree.named(name) if _under(g, result, tree)]
            return group["id"] not in [g["id"] for g in same] and len(same) <= 1

        def confirm(pending):
            return [{} if gone(*next((r, g) for r, g in extras if g["id"] == item["id"])) else None for item in pending]

        answer = self._write(DELETE_GROUP, items, confirm)
        outcomes, stop = answer.results, answer.failure
        problems = []
        for (result, group), outcome in zip(extras, outcomes):
            name, kept = result.item["description"], result.record["id"]
            if outcome.state == REFUSED and outcome.codes == {NOT_FOUND}:
                # "Not found" proves nothing alone (an earlier try of this delete may have run): look again.
                try:
                    if gone(result, group):
                        outcome = ItemResult(outcome.item, {})
                except MimecastError:
                    pass  # it stays refused, with Mimecast's answer
                finally:
                    self.forget()
            if outcome.ok:
                if self._warn is not None:
                    self._warn(
                        "the create of %r %s was sent again after a try whose outcome was unknown, and both tries "
                        "landed: removed the duplicate this task made (id %s) and kept the group the answer gave "
                        "(id %s)" % (name, _where(result), group["id"], kept)
                    )
                continue
            why = "its delete's outcome is unknown" if outcome.unknown else _refusal(outcome, stop)
            problems.append(
                "2 groups named %r stand %s (ids: %s, kept; %s, a duplicate this task made after its create was sent "
                "again): removing the duplicate failed (%s); delete it in Mimecast"
                % (name, _where(result), kept, group["id"], why)
            )
        return problems

    def _write(self, path, items, confirm):
        """Send one request of group writes through the write engine; its results' records as group facts (what
        was confirmed before a failure too)."""
        # Imported here: a task that writes nothing does not compile the write engine (docs/performance.md).
        from ansible_collections.community.mimecast.plugins.module_utils.write_engine import written

        def confirm_fresh(pending):
            self.forget()  # a confirmation must see the directory as it is now
            return confirm(pending)

        try:
            answer = written(partial(self.client.write, path), items, confirm_fresh)
        finally:
            self.forget()
        _as_facts(answer.results)
        return answer


def already_absent_message(paths):
    """The one wording, in every module, of deletes whose groups were gone before the task's delete reached them."""
    return (
        "%d group(s) were deleted by someone else between this task's read and its delete: %s. Mimecast answered "
        "%s and a fresh listing no longer shows them; they are not counted as deleted by this task"
        % (len(paths), ", ".join(repr(join_path(path)) for path in paths), NOT_FOUND)
    )


def _as_facts(results):
    for result in results:
        # Records that confirm() found are facts already (they have a name); the API's answers are converted.
        if result.ok and result.record and "name" not in result.record:
            result.record = group_facts(result.record)
    return results


def _parents(result):
    """The ids a created group's parent may have: the item's ``parentId`` and the answer's, known or not."""
    return set(p for p in (result.item.get("parentId"), result.record.get("parent_id")) if p)


def _under(group, result, tree):
    """True when ``group`` stands under the parent of the created ``result`` (at the root: per ``tree``)."""
    parents = _parents(result)
    if parents:
        return group["parent_id"] in parents
    return tree is not None and tree.is_root(group)


def _made_by_this_task(group, tree):
    """True for a group only this task can have made: an empty cloud group without children."""
    children = tree.children(group["id"]) if tree is not None else []
    # A count the listing did not give proves nothing: only counts of 0 are empty.
    empty = group.get("folder_count") == 0 and group.get("user_count") == 0 and not children
    return group.get("source") == "cloud" and empty


def _where(result):
    parent = result.item.get("parentId")
    return "under the group with id %s" % parent if parent else "at the root"


def _refusal(outcome, stop):
    if stop is not None and not outcome.errors:
        return stop.message
    return "; ".join("%s: %s" % (e.get("code"), e.get("message")) for e in outcome.errors) or "refused"
