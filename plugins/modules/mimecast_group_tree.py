#!/usr/bin/python
# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: mimecast_group_tree
short_description: Converge a whole tree of Mimecast profile groups in one task
version_added: 1.0.0
description:
  - Makes a tree of Mimecast profile groups, given as paths of names such as V(Departments/EMEA/Finance), exist in
    one task. The directory is listed once, then the missing groups are created level by level (parents first),
    in requests of up to O(batch_size) groups each.
  - With O(members), the members of the groups it names are made exactly the lists given, in the same task, so
    the whole directory, groups and members, converges in one declarative step. Member changes for many groups
    share requests.
  - With O(purge), every other cloud group under O(root) is deleted, deepest first; with O(state=absent), the
    listed groups are deleted.
  - Groups are found by their path of names on every run, because Mimecast group names are not unique and ids
    can change over time. Groups whose source is C(ldap) come from directory synchronisation and are never
    deleted.
  - Works with API 1.0 keys (HMAC signatures) and API 2.0 client credentials (OAuth2 bearer tokens).
author:
  - community.mimecast maintainers (@ansible-collections)
extends_documentation_fragment:
  - community.mimecast.mimecast
  - community.mimecast.tenant_lock
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The directory is listed and the same plan is made; nothing is written.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details:
      - The sorted full paths (in the path syntax of the notes) of the groups on O(root)'s path and under it,
        before and after, as C(paths).
      - With O(members), the member lists of the groups it names, before (groups that existed) and after, as
        C(members), a dict of full path to sorted list.
options:
  groups:
    description:
      - Paths of group names, relative to O(root), such as V(Departments/EMEA/Finance).
      - Every ancestor of a listed path is implied (V(A/B) means V(A) too, with O(state=present)). Repeats are
        harmless.
      - Each name is matched exactly, case included. An empty name (V(A//B), or a C(/) at the start or end), a
        bad escape, a name over 255 characters, control characters, or leading or trailing white space is refused
        before any request, naming the entry.
      - A C(/) inside a name is written V(\\/) and a backslash V(\\\\) (the path syntax of the notes), so
        V(Sales\\/Marketing) is the root group C(Sales/Marketing).
    type: list
    elements: str
    required: true
  root:
    description:
      - Path of names, from the directory root, of the group under which O(groups) are managed, such as
        V(Departments). Created with any missing ancestor when O(state=present).
      - Nothing outside O(root) is deleted.
      - When not given (or V(/)), O(groups) are paths from the directory root.
    type: str
  state:
    description:
      - V(present) creates every listed group that is missing; nothing is deleted unless O(purge) is set.
      - V(absent) deletes the listed groups (not their ancestors), deepest first. It refuses before any write
        when a listed group has a child group that is not listed (child groups are never deleted implicitly),
        or is synchronised from the directory. Listed groups that do not exist are ignored.
      - A delete that Mimecast answers C(err_folder_not_found) is checked in a fresh listing. Gone from its path
        after a try of this task's whose answer was lost, it is in RV(deleted). Gone on its first try, someone else
        deleted it after the task's read, so it is in RV(already_absent), not RV(deleted), with a warning, and is no
        change of the task's. Still listed at its path (its id changed since it was read), it is not deleted and the
        task fails naming the path, the id sent and the id listed now; a re-run deletes it by its current id.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also delete every cloud group under O(root) that is not listed, deepest first.
      - Groups with source C(ldap), groups no entry can name (a name on their path breaks the name rules above),
        and the groups that hold one of those are kept; a warning names them.
      - Refused with an empty O(groups) when O(root) is the directory root, since that would delete every cloud
        group of the directory.
    type: bool
    default: false
  members:
    description:
      - The complete member list of some of the groups, as a dict of path to list. Keys are paths in the same form
        as O(groups) entries, relative to O(root), and each must be a listed path or an ancestor one implies;
        any other key is refused before any request, naming it.
      - Each value is the group's exact member list (email addresses and whole domains), with the same
        validation, letter-case-insensitive matching and rules as
        O(community.mimecast.mimecast_group#module:members.set), so members not listed are removed and V([])
        empties the group.
      - As there, a value that can never be a member is refused before any request, and one that only breaks
        the stricter rules (such as V(svc@mail_relay.example.com)) is kept with a warning naming it where the group
        holds it (never sent), and refused before any write, naming group and value, where it would be added. So
        a round trip from M(community.mimecast.mimecast_group_info) passes for such values, as O(purge) keeps the
        groups whose names no entry can write.
      - Groups not named here keep their members. Only the existing groups named here are read (one request per
        100 members); a group this task creates starts empty and is not read, nor is one whose listing shows
        C(userCount) 0 (Mimecast's count of its members).
      - Member adds and removes of all groups go in shared requests of up to O(batch_size) items, after the
        creates and before the deletes of O(purge).
      - A group synchronised from the directory (source C(ldap)) gets its members there, so a change to one is
        refused before any write. The same list as it has is fine, so a round trip from
        M(community.mimecast.mimecast_group_info) with
        O(community.mimecast.mimecast_group_info#module:members=true) passes.
      - Refused with O(state=absent).
    type: dict
  batch_size:
    description:
      - The most items sent in one create, delete, member add or member remove request. Mimecast documents no
        limit; 100 is what its guidance and public clients treat as safe. Between 1 and 500.
      - A tree of 1,111 groups from empty takes 14 requests at the default.
    type: int
    default: 100
notes:
  - The plan is made from one listing of the whole directory (every page, 100 groups a page). If two groups of one
    name stand under one parent at a path the task manages, it fails before any write and lists their ids.
  - When the plan needs more requests than the listing's answer left of Mimecast's rate limit
    (C(X-RateLimit-Remaining)), the task warns with its estimate before the first write, and runs anyway.
  - A request whose outcome is unknown (a dropped connection, a timeout, a server error) is never sent again
    blind; the directory is read again and only the groups that are not there are sent again.
  - When Mimecast refuses some groups of a request, the others are kept. Creates go on where they do not depend
    on a refused group; no delete is sent after a refused create; the task then fails, names each refused group
    with Mimecast's error, and returns what was done in RV(created) and RV(deleted).
  - The same holds for members. A member batch whose outcome is unknown is confirmed by reading the members of
    each group concerned before only the members not yet there (or not yet gone) are sent again. A refused
    member is named with its group's path; no delete is sent after one.
seealso:
  - module: community.mimecast.mimecast_group
  - module: community.mimecast.mimecast_group_info
"""

EXAMPLES = r"""
- name: Converge a tree of groups under Departments
  community.mimecast.mimecast_group_tree:
    root: Departments
    groups:
      - EMEA/Finance
      - EMEA/Sales
      - Americas/Sales

# org_chart.yml, a vars file (an HR export can be turned into the same list of paths):
#   org_chart:
#     - Finance/Payroll
#     - Finance/Audit
#     - Engineering/Platform/SRE
#     - Engineering/Mobile
- name: Load the org chart
  ansible.builtin.include_vars:
    file: org_chart.yml

- name: Make the groups under Org exactly the org chart (deleting groups that left it)
  community.mimecast.mimecast_group_tree:
    root: Org
    groups: "{{ org_chart }}"
    purge: true

# org_chart_members.yml, a vars file (from an HR export): each team's complete member list
#   org_members:
#     Finance/Payroll: [amy@example.com, bo@example.com]
#     Finance/Audit: [cy@example.com, auditors.example]
#     Engineering/Platform/SRE: [dee@example.com]
#     Engineering/Mobile: []
- name: Load the org chart's members
  ansible.builtin.include_vars:
    file: org_chart_members.yml

- name: The whole org, groups and members, in one task (member changes of all teams share requests)
  community.mimecast.mimecast_group_tree:
    root: Org
    groups: "{{ org_members.keys() | list }}"
    members: "{{ org_members }}"
    purge: true

- name: Turn an existing directory, groups and members, into code (right after the export, nothing changes)
  block:
    - name: Read every group and its members
      community.mimecast.mimecast_group_info:
        members: true
      register: directory

    - name: Save the paths and members as the desired state
      ansible.builtin.copy:
        content: "{{ {'mimecast_groups': directory.paths, 'mimecast_members': directory.members} | to_nice_yaml }}"
        dest: group_vars/all/mimecast_directory.yml
        mode: "0644"
      delegate_to: localhost

    - name: From now on, this task keeps groups and members as listed
      community.mimecast.mimecast_group_tree:
        groups: "{{ directory.paths }}"
        members: "{{ directory.members }}"
        purge: true

- name: Turn an existing directory into code, in one round trip
  block:
    - name: Read every group
      community.mimecast.mimecast_group_info:
      register: directory

    - name: Save the paths as the desired state
      ansible.builtin.copy:
        content: "{{ {'mimecast_groups': directory.paths} | to_nice_yaml }}"
        dest: group_vars/all/mimecast_groups.yml
        mode: "0644"
      delegate_to: localhost

    - name: From now on, this task keeps the directory as listed (no change right after the export)
      community.mimecast.mimecast_group_tree:
        groups: "{{ directory.paths }}"
        purge: true

- name: Delete a branch, children listed first or not (the order is worked out)
  community.mimecast.mimecast_group_tree:
    root: Departments
    groups:
      - Contractors
      - Contractors/EMEA
      - Contractors/Americas
    state: absent

- name: Preview what a purge would delete
  community.mimecast.mimecast_group_tree:
    root: Departments
    groups: "{{ mimecast_groups }}"
    purge: true
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
requests:
  description:
    - The API requests this task sent, token requests, retries and confirming reads included, counted as they left
      (one that never reached Mimecast, such as a refused connection, is not counted), and the last rate-limit
      figures Mimecast's answers carried.
  returned: always
  type: dict
  contains:
    total:
      description: How many requests the task sent.
      type: int
    by_endpoint:
      description: How many of them went to each endpoint, by path (C(/oauth/token) for API 2.0 tokens).
      type: dict
    limit:
      description: The last C(X-RateLimit-Limit) seen, or V(null) when no answer carried one.
      type: int
    remaining:
      description: The last C(X-RateLimit-Remaining) seen, or V(null) when no answer carried one.
      type: int
  sample: {"total": 3, "by_endpoint": {"/api/directory/find-groups": 2, "/api/directory/create-group": 1},
           "limit": 500, "remaining": 497}
created:
  description:
    - Full paths, from the directory root, of the groups created (in check mode, that would be created), parents
      first, in the order they were sent. Paths are written in the path syntax of the notes (V(\\/) for a C(/) in a
      name), as in RV(deleted), RV(skipped), RV(groups[].path) and the diff.
  returned: always
  type: list
  elements: str
  sample: [Departments/EMEA, Departments/EMEA/Finance]
deleted:
  description:
    - Full paths, from the directory root, of the groups deleted (in check mode, that would be deleted), deepest
      first.
  returned: always
  type: list
  elements: str
  sample: [Departments/Old/Team, Departments/Old]
unknown:
  description:
    - The writes whose outcome is unknown, one string each, C(create <path>) or C(delete <path>) with the full
      path from the directory root.
    - A write is unknown when its answer was lost (a timeout, a dropped connection, a server error) and no read
      could confirm it before O(max_retries) was used up (or the confirming read failed). The task then fails
      and reports C(changed), since Mimecast may have carried them out; RV(created) and RV(deleted) still list
      what was confirmed. A re-run reads the directory before it writes, so it converges.
  returned: when the task failed with writes of unknown outcome
  type: list
  elements: str
  sample: [create Departments/EMEA, create Departments/APAC]
already_absent:
  description:
    - Full paths of the groups this task was to delete that someone else deleted between the task's read and its
      delete (Mimecast answered C(err_folder_not_found) to its first try and a fresh listing no longer shows them).
      They are not in RV(deleted), count as no change of the task's, and a warning names them.
  returned: when there are any
  type: list
  elements: str
  sample: [Departments/Old]
skipped:
  description:
    - Full paths of the groups whose writes (create, member writes, delete) were not attempted, each path once,
      after a refused item (a group they depend on, or any delete once a create or member write failed), or after
      a write whose outcome is unknown or an error stopped the run. Nothing planned is missing from RV(created),
      RV(deleted), RV(already_absent), RV(unknown), RV(skipped) and the failure message together.
  returned: when the task failed part-way
  type: list
  elements: str
members_added:
  description:
    - Members added (in check mode, that would be added), by the full path of their group, sorted; only the groups
      that gain members.
  returned: when O(members) is given
  type: dict
  sample: {"Org/Finance/Payroll": [amy@example.com]}
members_removed:
  description:
    - Members removed (in check mode, that would be removed), by the full path of their group, sorted; only the
      groups that lose members.
  returned: when O(members) is given
  type: dict
  sample: {"Org/Finance/Payroll": [old@example.com]}
groups:
  description:
    - Facts of every group under O(root) after the run, sorted by RV(groups[].path). In check mode, groups that
      would be created have RV(groups[].id) V(null).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Mimecast id of the group. Ids are opaque and can change over time.
      type: str
      sample: eNo1jk0LgjAAhv9KbPpVaLJKrP4A4jWcBsu
    name:
      description: Name of the group.
      type: str
      sample: Finance
    description:
      description: Name of the group, under the API's own word for it.
      type: str
      sample: Finance
    path:
      description: Names from the directory root down to the group, joined by C(/) (V(\\/) for a C(/) in a name).
      type: str
      sample: Departments/EMEA/Finance
    parent_id:
      description: Mimecast id of the parent group. Never empty for a group that exists, also at the root.
      type: str
      sample: eNoVjr0OgjAYAN
    source:
      description: Where the group comes from, V(cloud) or V(ldap) (directory synchronisation).
      type: str
      sample: cloud
    folder_count:
      description: Number of child groups after the run.
      type: int
      sample: 2
    user_count:
      description:
        - Number of members. For a group named in O(members), the count read before the run moved by the number of
          members added and removed.
      type: int
      sample: 0
    members:
      description: The group's members after the run (predicted in check mode), lower-case and sorted.
      returned: for the groups named in O(members)
      type: list
      elements: str
      sample: [amy@example.com, partner.example]
"""

from ansible_collections.community.mimecast.plugins.module_utils.module import MimecastModule
from ansible_collections.community.mimecast.plugins.module_utils.tree_apply import DEFAULT_BATCH_SIZE, run_tree


def main():
    module = MimecastModule(
        argument_spec=dict(
            groups=dict(type="list", elements="str", required=True),
            root=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            purge=dict(type="bool", default=False),
            batch_size=dict(type="int", default=DEFAULT_BATCH_SIZE),
            members=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    run_tree(module)


if __name__ == "__main__":
    main()
