# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The single-group flows of mimecast_group and mimecast_group_info: which group a task means, then
read, diff and write; and the two modules' tasks (:func:`run_group`, :func:`run_group_info`), from their checked
options to their results. Internal use only: this API may change without notice.

Why identity is not a string comparison:

* names are not unique: the same name may exist under several parents;
* ``find-groups`` matches ``query`` partially, so results are filtered to the exact name;
* a root-level group's ``parentId`` is the id of an invisible root, never empty, and no call returns
  that root: a group is at the root when its ``parentId`` is not the id of any group, which only the
  full listing can tell;
* id strings of the same group have been seen to change over time, so groups are found by name and
  parent path on every run; ids are compared only within one run's answers.
"""

from ansible_collections.community.mimecast.plugins.module_utils.group_api import (
    ALREADY_ABSENT,
    CREATE_GROUP,
    UPDATE_GROUP,
    already_absent_message,
)
from ansible_collections.community.mimecast.plugins.module_utils.group_path import join_path
from ansible_collections.community.mimecast.plugins.module_utils.group_resolve import locate_by_search
from ansible_collections.community.mimecast.plugins.module_utils.group_tree import (
    PATH_SEPARATOR,
    GroupError,
    ParentNotFound,
    listable,
    planned_group,
    split_path,
    validate_id,
    validate_target,
)


class Location:
    """Where a task's group belongs, and what already stands there."""

    def __init__(self, parent_id, matches):
        self.parent_id = parent_id  # None means the root: create-group is sent without parentId
        self.matches = matches  # groups of the wanted name under that parent


def locate(directory, name, parent=None, parent_id=None):
    """Find where the group ``name`` belongs (under ``parent`` path, ``parent_id``, or the root) and what is there.

    Uses the fewest calls the API allows. At the root or under a path, name searches settle it when an earlier
    listing of the run proved the invisible root's id (group_resolve.py); otherwise, or in any doubt, the full
    listing does (only it tells root-ness), and it answers the name too. Under a ``parent_id``, a name search
    settles it unless the name also exists elsewhere.
    """
    if parent_id:
        return _locate_under_id(directory, name, parent_id)
    searched = locate_by_search(directory, name, split_path(parent) if parent else [])
    if searched is not None:
        return Location(*searched)
    tree = directory.tree()
    if parent and split_path(parent):
        parent_id = tree.resolve_path(parent)["id"]
        return Location(parent_id, [g for g in tree.children(parent_id) if g["name"] == name])
    return Location(None, [g for g in tree.children(None) if g["name"] == name])


def _locate_under_id(directory, name, parent_id):
    same_name = directory.search(name)
    matches = [g for g in same_name if g["parent_id"] == parent_id]
    if matches or not same_name:
        return Location(parent_id, matches)
    # Same-name groups stand elsewhere. If parent_id were an older id string of their parent,
    # creating now would duplicate the group: only go ahead for an id that is current.
    if directory.tree().get(parent_id) is None:
        raise GroupError(
            "parent_id %r is not the current id of any group, and groups named %r exist elsewhere "
            "(ids: %s). Mimecast ids can change over time: use parent (a path of names) or a current id."
            % (parent_id, name, ", ".join(g["id"] for g in same_name))
        )
    return Location(parent_id, [])


def _is_current_parent(directory, parent_id):
    """True when ``parent_id`` is the id of a listed group or of the invisible root (one more listing)."""
    tree = directory.tree()
    return tree.get(parent_id) is not None or parent_id == tree.root_id()


def _ambiguous(name, matches):
    return "%d groups named %r exist under that parent (ids: %s); resolve the duplicates in Mimecast first" % (
        len(matches),
        name,
        ", ".join(g["id"] for g in matches),
    )


def refuse_ldap(group, action):
    """Raise GroupError when ``group`` comes from directory synchronisation: it is managed there, not here."""
    if group.get("source") == "ldap":
        raise GroupError(
            "group %r (%s) comes from directory synchronisation (source ldap): it is managed in the directory, "
            "not here, so it is not %s" % (group["name"], group["id"], action)
        )


def _label(name, parent=None, parent_id=None):
    """How a task's group is named in messages: its path of names, or its name under a parent id."""
    if parent_id:
        return "%s (under the group with id %s)" % (name, parent_id)
    if parent and split_path(parent):
        return PATH_SEPARATOR.join(split_path(parent) + [name])
    return name


def ensure_present(directory, name, parent=None, parent_id=None, check_mode=False, warn=None):
    """Make sure the group exists; return ``(changed, before, after)`` facts (``before`` is None if created).

    In check mode a ``parent`` path that does not exist yet is no error: an earlier task of the same run may
    create it, so the create is predicted (``id`` and ``parent_id`` None) and ``warn`` (a callable, if given)
    says so. A real run refuses the missing parent. A ``parent_id`` that is no group's id is refused in check
    mode as Mimecast refuses it in a real run.
    """

    def relocate():
        return locate(directory, name, parent=parent, parent_id=parent_id)

    try:
        location = relocate()
    except ParentNotFound as exc:
        if not check_mode:
            raise
        if warn is not None:
            warn(
                "check mode: %s. The group is shown as it would be created; its parent must be created by an "
                "earlier task (a real run fails here otherwise)" % exc
            )
        return True, None, planned_group(name, None)
    if len(location.matches) > 1:
        raise GroupError(_ambiguous(name, location.matches))
    if location.matches:
        group = location.matches[0]
        return False, group, group
    if check_mode:
        if parent_id and not _is_current_parent(directory, parent_id):
            raise GroupError("parent_id %r is not the current id of any group" % parent_id)
        return True, None, planned_group(name, location.parent_id)
    item = {"description": name}
    if location.parent_id:
        item["parentId"] = location.parent_id

    def confirm(pending):
        matches = relocate().matches
        if len(matches) > 1:
            raise GroupError(_ambiguous(name, matches))
        return [matches[0] if matches else None for _item in pending]

    what = "create %s" % _label(name, parent, parent_id)
    return True, None, directory.create([item], confirm).only(what, CREATE_GROUP).record


def ensure_absent(directory, name, parent=None, parent_id=None, check_mode=False, warn=None):
    """Make sure no group of that name is under that parent; return ``(changed, before, after)``.

    Nothing is written when it is already absent. Child groups are never deleted implicitly. ``warn`` (a callable,
    if given) names a group someone else deleted between the read and the delete.
    """
    try:
        matches = locate(directory, name, parent=parent, parent_id=parent_id).matches
    except ParentNotFound:
        return False, None, None  # its parent is missing, so the group is too
    if len(matches) > 1:
        raise GroupError(_ambiguous(name, matches))
    if not matches:
        return False, None, None
    return _delete(directory, matches[0], check_mode, warn)


def _delete(directory, group, check_mode, warn=None):
    """Delete ``group`` (refusing ldap groups and groups with children); return ``(changed, before, after)``.

    What the delete did is decided by ``GroupDirectory.delete``: a group that someone else deleted between the
    read and the write is no change of this task's (``warn`` says so); ids that drifted fail the task.
    """
    refuse_ldap(group, "deleted")
    children = directory.tree().children(group["id"])
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
    if check_mode:
        return True, group, None
    names = directory.tree().names_of(group) or [group["name"]]
    what = "delete %s" % PATH_SEPARATOR.join(names)
    if directory.delete([(group, names)]).only(what, what).state == ALREADY_ABSENT:
        if warn is not None:
            warn(already_absent_message([names]))
        return False, None, None
    return True, group, None


def ensure_by_id(
    directory, group_id, state="present", name=None, parent=None, parent_id=None, check_mode=False, warn=None
):
    """Manage the exact group ``group_id``: rename, move or delete it; return ``(changed, before, after)``."""
    tree = directory.tree()
    group = tree.get(group_id)
    if state == "absent":
        if group is None:
            return False, None, None
        return _delete(directory, group, check_mode, warn)
    if group is None:
        raise GroupError(
            "no group has the id %r. Mimecast ids can change over time: find the group by name and parent "
            "instead, or look up its current id with community.mimecast.mimecast_group_info" % group_id
        )
    wanted_name = name if name is not None else group["name"]
    wanted_parent = None  # None: keep the parent
    if parent is not None:
        wanted_parent = tree.resolve_path(parent)["id"] if split_path(parent) else tree.root_id()
    elif parent_id is not None:
        if tree.get(parent_id) is None and parent_id != tree.root_id():
            raise GroupError("parent_id %r is not the current id of any group" % parent_id)
        wanted_parent = parent_id
    if wanted_parent is not None and (wanted_parent == group["id"] or tree.is_below(wanted_parent, group)):
        raise GroupError("group %r cannot be moved under itself or one of its own children" % group["name"])
    rename = wanted_name != group["name"]
    move = wanted_parent is not None and wanted_parent != group["parent_id"]
    if not rename and not move:
        return False, group, group
    refuse_ldap(group, "renamed or moved")
    target_parent = wanted_parent if move else group["parent_id"]
    clash = [
        g
        for g in tree.groups
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
    item = {"id": group["id"]}
    if rename:
        item["description"] = wanted_name
    if move:
        item["parentId"] = wanted_parent

    def confirm(pending):
        fresh = directory.tree()
        now = fresh.get(group["id"])
        if now is None:
            # Ids can change between answers: look for the group at its new path, then at its old one.
            found = fresh.at_names(new_names)
            if found is not None:
                return [found for _item in pending]
            if fresh.at_names(old_names) is not None:
                return [None for _item in pending]
            raise GroupError("group %s disappeared while it was being updated" % group["id"])
        done = now["name"] == wanted_name and now["parent_id"] == target_parent
        return [now if done else None for _item in pending]

    old_names = tree.names_of(group) or [group["name"]]
    parent_group = tree.get(target_parent)
    new_names = (tree.names_of(parent_group) or [] if parent_group else []) + [wanted_name]

    what = "update %s" % (tree.path_of(group) or group["name"])
    updated = directory.update([item], confirm).only(what, UPDATE_GROUP).record
    # Some answers carry only what changed: fill in the rest from what was known.
    merged = dict(after)
    merged.update(dict((k, v) for k, v in updated.items() if v is not None))
    # A rename or move changes no member: the listing's count stands (current_members trusts a count of 0).
    merged["user_count"] = group.get("user_count")
    return True, group, merged


def list_groups(directory, name=None, query=None, parent=None, parent_id=None, source=None):
    """Return the facts, with ``path``, of the groups that pass every filter given.

    ``name`` matches exactly, ``query`` partially (case-insensitive, like the API); ``parent`` (a path,
    ``/`` for the root) or ``parent_id`` keeps direct children only; ``source`` is ``cloud`` or ``ldap``.
    A parent that does not exist simply has no children. Paths need the listing, so the listing answers
    ``query`` too: a name search first would be one read more. Only ``name`` with ``parent`` names every group
    of each path: those are settled by name searches when an earlier listing of the run proved the root's id
    (group_resolve.py), and by the listing otherwise or in any doubt.
    """
    names = list(split_path(parent)) if parent is not None else None
    if name is not None and names is not None:
        try:
            searched = locate_by_search(directory, name, names)
        except ParentNotFound:
            return []
        if searched is not None:
            _parent_id, found = searched
            return [dict(g, path=join_path(names + [g["name"]])) for g in _filtered(found, name, query, source)]
    tree = directory.tree()
    groups = _filtered(tree.groups, name, query, source)
    if names is not None:
        try:
            parent_group = tree.resolve_path(parent) if names else None
        except ParentNotFound:
            return []
        groups = [g for g in groups if (g["parent_id"] == parent_group["id"] if parent_group else tree.is_root(g))]
    elif parent_id is not None:
        groups = [g for g in groups if g["parent_id"] == parent_id]
    return [dict(g, path=tree.path_of(g)) for g in groups]


def _filtered(groups, name, query, source):
    """The groups named exactly ``name``, whose name holds ``query`` (case-insensitive), of ``source``."""
    groups = list(groups)
    if query:
        needle = query.lower()
        groups = [g for g in groups if needle in (g["name"] or "").lower()]
    if name is not None:
        groups = [g for g in groups if g["name"] == name]
    if source is not None:
        groups = [g for g in groups if g["source"] == source]
    return groups


def run_group(module):
    """The task of ``mimecast_group``: check the options before any request, then the group, then its members.

    ``module`` is its MimecastModule; the task ends with ``exit_json`` or ``fail_json``. The member code is
    imported only by a task with ``members`` (members.run_member_step).
    """
    params = module.params
    group_id, state = params["id"], params["state"]
    members = None
    with module.failures():
        validate_target(params["name"], params["parent"], params["parent_id"])
        if group_id is not None:
            validate_id(group_id, "id")
            if state == "absent" and any(params[k] is not None for k in ("name", "parent", "parent_id")):
                raise GroupError("state=absent with id deletes that group: name, parent and parent_id are not used")
        if params["members"] is not None:
            # Imported here: a task without members does not compile the member code (docs/performance.md).
            from ansible_collections.community.mimecast.plugins.module_utils.members import check_members_option

            members = check_members_option(params["members"], state)
    directory = module.directory()  # bad connection options fail here, still before any request

    target = dict(name=params["name"], parent=params["parent"], parent_id=params["parent_id"])

    def group_step(check_mode, warn):
        if group_id is not None:
            return ensure_by_id(directory, group_id, state=state, check_mode=check_mode, warn=warn, **target)
        if state == "absent":
            return ensure_absent(directory, check_mode=check_mode, warn=warn, **target)
        return ensure_present(directory, check_mode=check_mode, warn=warn, **target)

    if members is None:
        with module.failures():
            changed, before, after = group_step(module.check_mode, module.warn)
    else:
        from ansible_collections.community.mimecast.plugins.module_utils.members import run_member_step

        changed, before, after = run_member_step(module, directory.client, group_step, members)
    result = dict(changed=changed, group=(after if state == "present" else before) or {})
    if module._diff:
        result["diff"] = dict(before=before or {}, after=after or {})
    module.exit_json(**result)


def run_group_info(module):
    """The task of ``mimecast_group_info``: the groups that pass the filters, with their members when asked."""
    params = module.params
    with module.failures():
        validate_target(None, params["parent"], params["parent_id"])
    directory = module.directory()

    with module.failures():
        groups = list_groups(directory, **{k: params[k] for k in ("name", "query", "parent", "parent_id", "source")})
        if params["members"]:
            # Imported here: a listing without members does not compile the member code (docs/performance.md).
            from ansible_collections.community.mimecast.plugins.module_utils.members import current_members

            groups = [dict(group, members=current_members(directory.client, group)) for group in groups]
    # Fed back as mimecast_group_tree's groups (with purge), these paths leave the directory as it is.
    listed = [g for g in groups if g["path"] is not None and listable(g["path"])]
    result = dict(changed=False, groups=groups, paths=sorted(g["path"] for g in listed))
    if params["members"]:
        # Fed back as mimecast_group_tree's members (with those paths as groups), they leave the members as they are.
        result["members"] = dict((g["path"], g["members"]) for g in listed)
    module.exit_json(**result)
