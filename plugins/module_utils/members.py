# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Members of Mimecast profile groups: validating and normalising member values, planning a change
(a pure function), and reading and writing members through the client. Internal use only: this API may
change without notice.

A member is an email address (a value with ``@``) or a whole domain (a value without). Mimecast keeps both
lower-case, so values are compared lower-cased: ``Alice@Example.com`` and ``alice@example.com`` are the same
member, and a re-run in other letter case changes nothing.

Why the writes look the way they do:

* ``add-group-member`` and ``remove-group-member`` take many items per call, each with its own outcome, so
  members go in batches of :data:`MEMBER_BATCH_SIZE` through ``client.write`` (one request per batch).
* ``err_folder_group_member_already_exists`` (add) and ``err_folder_email_address_not_found`` (remove) mean
  the wanted state already holds: expected after a retry whose first try may have run, or when someone else
  made the same change since the members were read. They count as success, and as a change only when the
  item was sent again after a try whose outcome was unknown (that try may have made it): a task whose every
  item came back so changed nothing.
* When a batch's outcome is unknown (a dropped connection, a 5xx, a timeout), the client calls back
  ``confirm``, which reads the members again, so nothing is sent twice blindly and nothing is lost. Items
  whose outcome stays unknown fail the task as :class:`OutcomeUnknown`, named ``add VALUE`` or
  ``remove VALUE``.
* The writes go through the one batch-write engine (write_engine) in :func:`send_member_writes`, which the tree
  uses too (tree_members): one request serves many groups, since each item carries its own group ``id``.
"""

import re
from functools import partial

from ansible_collections.community.mimecast.plugins.module_utils.group_api import (
    ADD_GROUP_MEMBER,
    ALREADY_MEMBER,
    GET_GROUP_MEMBERS,
    MEMBER_PAGE_SIZE,
    NOT_A_MEMBER,
    REMOVE_GROUP_MEMBER,
)
from ansible_collections.community.mimecast.plugins.module_utils.outcomes import (
    DONE,
    REFUSED,
    UNKNOWN,
    MimecastError,
    OutcomeUnknown,
)

# Members per add/remove request. Mimecast documents no limit; 100 is the shared reference's conservative
# figure (a public sync script sends 500). At 100, 1,000 new members take 10 writes and a request body stays
# near 8 KB; a batch that fails or whose outcome is unknown concerns at most 100 members.
MEMBER_BATCH_SIZE = 100
# The member writes, in order: every add, then every remove (a member that stays is never missing in between),
# each with the answer that says the wanted state holds already, and whether a confirming read must find the
# member there (add) or not (remove).
MEMBER_STEPS = (("add", ADD_GROUP_MEMBER, ALREADY_MEMBER, True), ("remove", REMOVE_GROUP_MEMBER, NOT_A_MEMBER, False))

MAX_LOCAL_PART = 64
MAX_DOMAIN = 253
MAX_LABEL = 63
_LABEL_CHARACTERS = re.compile(r"^[a-z0-9-]+$")


class MemberError(ValueError):
    """Bad ``members`` input, or a membership change that must not be made (an ldap group)."""


class MembersNotChanged(MimecastError):
    """Some members could not be added or removed (``failures``: ``[(value, errors)]``), or a request was refused
    whole (``cause``: its message, status and codes are this error's); ``applied`` counts the changes that were
    made, and the task reports ``changed`` when there are any."""

    def __init__(self, message, applied, failures, cause=None):
        super().__init__(
            message,
            status=cause.status if cause is not None else None,
            code=cause.code if cause is not None else None,
            errors=cause.errors if cause is not None else [error for _value, errors in failures for error in errors],
        )
        self.applied = applied
        self.failures = failures

    def details(self):
        details = super().details()
        if self.applied:
            details["changed"] = True
        return details


# -- values ----------------------------------------------------------------------------------------


def member_kind(value):
    """Return ``"address"`` for a value with ``@``, else ``"domain"`` (the value is not validated)."""
    return "address" if "@" in value else "domain"


def normalise_member(value):
    """Return ``value`` lower-cased if it is a valid address or domain, else raise MemberError saying why.

    An address has exactly one ``@``, a local part of 1 to 64 characters and a domain; a domain is a host
    name of at least two labels (``partner.example``), each of letters, digits and inner hyphens. No white
    space or control characters anywhere.
    """
    _check_characters(value)
    value = value.lower()
    if value.count("@") > 1:
        raise MemberError("members: %r has more than one @" % value)
    if "@" in value:
        local, _at, domain = value.partition("@")
        if not local:
            raise MemberError("members: %r has nothing before the @" % value)
        if len(local) > MAX_LOCAL_PART:
            raise MemberError(
                "members: the part before the @ of %r is %d characters long; at most %d are allowed"
                % (value, len(local), MAX_LOCAL_PART)
            )
        if not domain:
            raise MemberError("members: %r has no domain after the @" % value)
        _check_domain(domain, value)
    else:
        _check_domain(value, value)
    return value


def _check_characters(value):
    """Raise MemberError for what can be no member whatever its form: not a string, empty, white space or control
    characters."""
    if not isinstance(value, str) or not value:
        raise MemberError("members: a member must be a non-empty address or domain, got %r" % (value,))
    if any(ch.isspace() for ch in value):
        raise MemberError("members: %r contains white space" % value)
    if not value.isprintable():
        raise MemberError("members: %r contains control characters" % value)


def _check_domain(domain, value):
    if len(domain) > MAX_DOMAIN:
        raise MemberError(
            "members: the domain of %r is %d characters long; at most %d are allowed" % (value, len(domain), MAX_DOMAIN)
        )
    labels = domain.split(".")
    if len(labels) < 2:
        raise MemberError(
            "members: %r is not a full domain name: it needs at least two labels, such as example.com" % value
        )
    for label in labels:
        if not label:
            raise MemberError(
                "members: the domain of %r has an empty label (two dots in a row, or a dot at an end)" % value
            )
        if len(label) > MAX_LABEL:
            raise MemberError(
                "members: the domain of %r has a label of %d characters; at most %d are allowed"
                % (value, len(label), MAX_LABEL)
            )
        if not _LABEL_CHARACTERS.match(label):
            raise MemberError(
                "members: the domain of %r may only hold letters, digits, hyphens and dots (write an international "
                "domain in its xn-- form)" % value
            )
        if label.startswith("-") or label.endswith("-"):
            raise MemberError("members: the domain of %r has a label that starts or ends with a hyphen" % value)
    if labels[-1].isdigit():
        raise MemberError("members: %r ends in a number: an IP address is not a domain name" % value)


def check_member(value):
    """Return ``(value lower-cased, None)`` for a valid address or domain (:func:`normalise_member`), and
    ``(value lower-cased, why)`` for a value those checks refuse but Mimecast may hold (read from a group, such as
    ``svc@mail_relay.example.com``): it may be kept or removed, never added. Raise MemberError for what can never
    be a member: not a string, empty, white space or control characters, more than one ``@``, or nothing before
    or after it.
    """
    _check_characters(value)
    if "@" in value:
        local, _at, domain = value.partition("@")
        if "@" in domain or not local or not domain:
            normalise_member(value)  # raises: more than one @, or nothing before or after it: never an address
    try:
        return normalise_member(value), None
    except MemberError as exc:
        text = str(exc)
        return value.lower(), text[len("members: ") :] if text.startswith("members: ") else text


def validate_members(members):
    """Check the ``members`` option before any request; return ``{"add", "remove", "set", "unchecked"}``.

    ``add`` and ``remove`` are lists (possibly empty), ``set`` is None unless given. Values are lower-cased and
    de-duplicated. Raises MemberError on the first bad combination or value that can never be a member. A value
    the strict checks refuse but Mimecast may hold (:func:`check_member`) is kept in its list and named in
    ``unchecked`` (value -> why): planning refuses to add it (:func:`refuse_unwritable`), before any write.
    """
    members = members or {}
    given = dict((key, members.get(key)) for key in ("add", "remove", "set") if members.get(key) is not None)
    if not given:
        raise MemberError("members: give at least one of add, remove or set (set: [] empties the group)")
    if "set" in given and ("add" in given or "remove" in given):
        raise MemberError("members: set makes the member list exact, so it cannot be combined with add or remove")
    clean = {"add": [], "remove": [], "set": None, "unchecked": {}}
    for key, values in given.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise MemberError("members: %s must be a list of addresses and domains" % key)
        checked = [check_member(value) for value in values]
        clean[key] = _unique(value for value, _why in checked)
        clean["unchecked"].update((value, why) for value, why in checked if why is not None)
    both = sorted(set(clean["add"]) & set(clean["remove"]))
    if both:
        raise MemberError("members: %s in both add and remove" % ", ".join(both))
    return clean


def _unique(values):
    seen = set()
    unique = []
    for value in values:
        if value not in seen:
            seen.add(value)
            unique.append(value)
    return unique


def member_value(record):
    """Return the lower-case value of a ``groupMembers`` record, or None if it names nothing.

    An address member carries its address in ``emailAddress`` (and its domain in ``domain``); a domain member
    may come back with ``emailAddress`` = ``domain`` = the domain. So members are told apart by ``@``, not by
    which field is filled.
    """
    address = record.get("emailAddress") or ""
    if "@" in address:
        return address.lower()
    value = record.get("domain") or address
    return value.lower() or None


# -- planning --------------------------------------------------------------------------------------


def plan_members(current, members):
    """Return ``(to_add, to_remove)``, sorted, that take the member list ``current`` to what ``members`` wants.

    Pure: no I/O. ``members`` is what :func:`validate_members` returns. ``add`` adds only what is missing and
    ``remove`` removes only what is there, leaving other members alone; ``set`` makes the list exact.
    Comparison ignores letter case.
    """
    have = set(value.lower() for value in current)
    if members.get("set") is not None:
        want = set(members["set"])
        return sorted(want - have), sorted(have - want)
    return sorted(set(members.get("add") or ()) - have), sorted(set(members.get("remove") or ()) & have)


def refuse_unwritable(to_add, members, label=None):
    """Raise MemberError when a value of ``to_add`` (a plan) is one the checks refuse (``members["unchecked"]``):
    it could only be added as given, and Mimecast would refuse it or store it other than asked. ``label`` names the
    group (a tree path). Called after planning, before any write."""
    unchecked = members.get("unchecked") or {}
    refused = [value for value in to_add if value in unchecked]
    if refused:
        raise MemberError(
            "members%s: %d value(s) would be added but cannot be: %s. Nothing was changed. A value the group "
            "already holds is kept as it is; only a new one must be a valid address or domain"
            % (
                " of %r" % label if label is not None else "",
                len(refused),
                "; ".join(unchecked[value] for value in refused),
            )
        )


def wanted_unchecked(members):
    """True when ``add`` or ``set`` holds a value the checks refuse: it is only allowed if the group holds it."""
    unchecked = members.get("unchecked") or {}
    return any(value in unchecked for value in (members.get("add") or []) + (members.get("set") or []))


def kept_unwritable(after, members):
    """The values of ``members["unchecked"]`` the group holds and keeps (``after``): ``[(value, why)]``, sorted."""
    unchecked = members.get("unchecked") or {}
    return [(value, unchecked[value]) for value in sorted(set(after) & set(unchecked))]


def kept_warning(kept, label=None):
    """The warning that names the members kept although the checks refuse them, or None when there is none."""
    if not kept:
        return None
    return "members%s: kept %d value(s) the group holds that could not be added as given (never sent): %s" % (
        " of %r" % label if label is not None else "",
        len(kept),
        "; ".join("%r (%s)" % (value, why) for value, why in kept),
    )


def members_after(current, to_add, to_remove):
    """The sorted member list once ``to_add`` and ``to_remove`` are applied to ``current``."""
    return sorted((set(value.lower() for value in current) - set(to_remove)) | set(to_add))


# -- reading and writing ---------------------------------------------------------------------------


def read_members(client, group_id):
    """Return the sorted, lower-case members of the group ``group_id``, every page read once."""
    values = set()
    for entry in client.paginate(GET_GROUP_MEMBERS, {"id": group_id}, page_size=MEMBER_PAGE_SIZE):
        for record in entry.get("groupMembers") or []:
            value = member_value(record)
            if value:
                values.add(value)
    return sorted(values)


def known_empty(group):
    """True when ``group`` (facts from a listing, a search or a write's answer) shows ``userCount`` 0.

    The one rule for skipping a member read: Mimecast's reference documents ``userCount`` as the group's number of
    members, so a group that shows 0 has none to read. A count that is missing or not a number proves nothing.
    """
    count = group.get("user_count")
    return isinstance(count, int) and not isinstance(count, bool) and count == 0


def current_members(client, group):
    """The members of ``group`` (facts) before a task changes them: none, without a request, when the group shows
    ``userCount`` 0 (:func:`known_empty`), otherwise every page read once. Confirming a write whose outcome is
    unknown always reads (:func:`read_members`): the count was read before the write."""
    if known_empty(group):
        return []
    return read_members(client, group["id"])


def member_item(group_id, value):
    """The request item that adds or removes ``value``: ``emailAddress`` for an address, else ``domain``."""
    if member_kind(value) == "address":
        return {"id": group_id, "emailAddress": value}
    return {"id": group_id, "domain": value}


def _item_value(item):
    return (item.get("emailAddress") or item.get("domain") or "").lower()


def _confirmer(client, present):
    """The ``confirm`` of a member write: read the members of each group with an item in doubt once; an item whose
    effect is visible (the member is there after an add, gone after a remove) is confirmed with an empty record."""

    def confirm(pending):
        now, found = {}, []
        for item, _op in pending:
            if item["id"] not in now:
                now[item["id"]] = set(read_members(client, item["id"]))
            found.append({} if (_item_value(item) in now[item["id"]]) == present else None)
        return found

    return confirm


def send_member_writes(client, changes, batch_size=MEMBER_BATCH_SIZE):
    """The one member write, for ``mimecast_group`` and the tree alike: every add of ``changes`` (``(key, group id,
    to_add, to_remove)``), then every remove, in requests of at most ``batch_size`` items across groups.

    Yield ``(action, outcomes, failure)`` for each request sent: ``outcomes`` is ``[((key, group id, value),
    outcome, result)]`` (write_engine: "already a member" on add and "not a member" on remove are done when the
    item was sent again after a try of unknown outcome, else held: the wanted state holds, made by someone else);
    ``failure`` stopped the request part-way, and nothing is sent after it.
    """
    if not any(to_add or to_remove for _key, _group_id, to_add, to_remove in changes):
        return  # nothing to write
    # Imported here: a task whose members need no change does not compile the write engine (docs/performance.md).
    from ansible_collections.community.mimecast.plugins.module_utils.write_engine import write_batches, written

    for action, path, settled, present in MEMBER_STEPS:
        ops = [
            (key, group_id, value)
            for key, group_id, to_add, to_remove in changes
            for value in (to_add if present else to_remove)
        ]
        write = partial(written, partial(client.write, path))
        confirm = _confirmer(client, present)
        for answer in write_batches(write, ops, batch_size, lambda op: member_item(*op[1:]), confirm):
            yield action, answer.outcomes(settled), answer.failure
            if answer.failure is not None:
                return


def write_members(client, group_id, to_add, to_remove, batch_size=MEMBER_BATCH_SIZE):
    """Add ``to_add`` to and remove ``to_remove`` from one group (:func:`send_member_writes`); return how many
    changes were made.

    "Already a member" on add and "not found" on remove count as done (the wanted state holds). Every batch is sent
    even if items of one are refused; then MembersNotChanged lists each member that failed and why. A request that
    fails whole stops at once: :class:`OutcomeUnknown` names the members whose outcome is unknown; a request
    Mimecast refused whole raises MembersNotChanged with its message and codes, ``changed`` when changes came first.
    """
    applied, failures = 0, []
    for action, outcomes, failure in send_member_writes(client, [(None, group_id, to_add, to_remove)], batch_size):
        applied += sum(1 for _op, outcome, _result in outcomes if outcome == DONE)
        if failure is not None:
            unknown = ["%s %s" % (action, op[2]) for op, outcome, _result in outcomes if outcome == UNKNOWN]
            if unknown:
                raise OutcomeUnknown(unknown, failure)
            raise MembersNotChanged(failure.message, applied, [], failure)
        failures.extend((op[2], result.errors) for op, outcome, result in outcomes if outcome == REFUSED)
    if failures:
        raise MembersNotChanged(_describe_failures(failures, group_id), applied, failures)
    return applied


def _describe_failures(failures, group_id):
    shown = failures[:5]
    text = "; ".join(
        "%s: %s"
        % (value, ", ".join("%s (%s)" % (e.get("code") or "error", e.get("message") or "no message") for e in errors))
        for value, errors in shown
    )
    more = " and %d more" % (len(failures) - len(shown)) if len(failures) > len(shown) else ""
    return "Mimecast refused %d member change(s) of group %s: %s%s" % (len(failures), group_id, text, more)


def refuse_ldap_change(group, to_add, to_remove, label=None):
    """Raise MemberError when ``group`` (facts) comes from directory synchronisation (source ldap) and
    ``to_add`` or ``to_remove`` would change its members; ``label`` names it (default: its name)."""
    if group.get("source") == "ldap" and (to_add or to_remove):
        raise MemberError(
            "group %r (%s) comes from directory synchronisation (source ldap): its members are managed in the "
            "directory, not here, so %d would be added and %d removed but nothing was changed"
            % (group.get("name") if label is None else label, group.get("id"), len(to_add), len(to_remove))
        )


def ensure_members(client, group, members, check_mode=False, created=False, warn=None):
    """Bring the members of ``group`` (facts) to what ``members`` (validated) wants; return
    ``(changed, before, after)`` with sorted member lists.

    A group created in this task (``created``, or planned in check mode: ``id`` None) has no members, so
    nothing is read; neither is a group whose facts show ``userCount`` 0 (:func:`current_members`). A group with
    ``source`` ldap gets its members from directory synchronisation: a change there is refused before any write.
    A value the checks refuse (``members["unchecked"]``) that would be added is refused before any write; one the
    group holds and keeps is passed to ``warn``. Check mode plans and writes nothing.
    """
    current = [] if created or group.get("id") is None else current_members(client, group)
    to_add, to_remove = plan_members(current, members)
    refuse_unwritable(to_add, members)
    after = members_after(current, to_add, to_remove)
    warning = kept_warning(kept_unwritable(after, members))
    if warning and warn is not None:
        warn(warning)
    if not (to_add or to_remove):
        return False, current, after
    refuse_ldap_change(group, to_add, to_remove)
    if not check_mode:
        # Changed only if a write did something: answers that it already held are someone else's doing.
        return bool(write_members(client, group["id"], to_add, to_remove)), current, after
    return True, current, after


def check_members_option(members, state):
    """``mimecast_group``'s ``members`` option checked before any request (:func:`validate_members`)."""
    if state == "absent":
        raise MemberError("members is only used with state=present: state=absent deletes the whole group")
    return validate_members(members)


def run_member_step(module, client, group_step, members):
    """``mimecast_group``'s group step (``group_step(check_mode, warn)``) and then its members; return
    ``(changed, before, after)`` with the members in the facts.

    A value the member checks refuse may only be kept where the group holds it: the members are then planned
    first, on a check-mode pass of the group step, so one that would be added is refused before any write, not
    even the group's create being sent. A failure after member batches went through fails the task as changed.
    """
    if wanted_unchecked(members) and not module.check_mode:
        with module.failures():
            _changed, planned_before, planned = group_step(check_mode=True, warn=None)
            ensure_members(client, planned, members, check_mode=True, created=planned_before is None)
    with module.failures():
        changed, before, after = group_step(module.check_mode, module.warn)
    with module.failures():
        try:
            member_changes = ensure_members(
                client, after, members, check_mode=module.check_mode, created=before is None, warn=module.warn
            )
        except MimecastError as exc:  # some member batches may have gone through: say so honestly
            details = exc.details()
            details["changed"] = changed or details.get("changed", False)
            module.fail_json(msg=exc.message, group=after, **details)
    before, after = with_members(before, after, member_changes)
    return changed or member_changes[0], before, after


def with_members(before, after, member_changes):
    """Return the group facts ``(before, after)`` with ``members`` added from ``ensure_members``' answer.

    ``user_count`` of ``after`` moves by the change in the number of members (it was read before the change).
    ``before`` stays None for a group that did not exist.
    """
    _changed, members_before, members_after = member_changes
    if before is not None:
        before = dict(before, members=members_before)
    after = dict(after, members=members_after)
    if isinstance(after.get("user_count"), int):
        after["user_count"] = max(after["user_count"] + len(members_after) - len(members_before), 0)
    return before, after
