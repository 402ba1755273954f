#!/usr/bin/python
# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: mimecast_group
short_description: Manage Mimecast profile groups
version_added: 1.0.0
description:
  - Creates, renames, moves and deletes Mimecast profile groups, at the root of the directory or under a parent
    group.
  - Without O(id), the group is found by its exact name and its parent on every run, because Mimecast group
    names are not unique across parents, searches match names partially, and group ids can change over time.
  - With O(id), that exact group is managed; O(name) and O(parent) or O(parent_id) rename and move it.
  - Groups whose source is C(ldap) come from directory synchronisation; they are never renamed, moved or deleted.
  - With O(members), also manages the group's members (email addresses and whole domains), adding, removing, or
    making the list exact.
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
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details: With O(members), the diff holds the member lists before and after.
options:
  name:
    description:
      - Name of the group (Mimecast calls it the group's C(description)). Matched exactly, case included.
      - At most 255 characters, no control characters, no leading or trailing white space.
      - Required unless O(id) is given; with O(id) it is the new name.
    type: str
    aliases: [description]
  id:
    description:
      - Mimecast id of the exact group to manage.
      - With O(state=present), the group is renamed to O(name) and moved under O(parent) or O(parent_id) when
        they differ; an id that is not the current id of any group fails.
      - With O(state=absent), that group is deleted; an unknown id reports no change.
    type: str
  parent:
    description:
      - Parent group as a path of group names from the root, such as V(Departments/EMEA). It is resolved on every
        run and must exist; the module does not create missing parents. V(/) means the root.
      - A C(/) inside a name is written V(\\/) and a backslash V(\\\\), so V(Sales\\/Marketing) is the root group
        C(Sales/Marketing); see the notes for the path syntax.
      - In check mode a parent that does not exist yet is not an error, since an earlier task of the run may create
        it. The create is predicted (RV(group.id) V(null)) with a warning that the parent must be created by an
        earlier task. A real run fails.
      - Mutually exclusive with O(parent_id). When neither is given, the group is at the root; with O(id), it stays
        where it is.
    type: str
  parent_id:
    description:
      - Mimecast id of the parent group.
      - Mimecast ids can change over time. If groups of this name exist elsewhere and O(parent_id) is not the
        current id of any group, the module fails rather than risk creating a duplicate; O(parent) avoids this.
      - In check mode, a O(parent_id) that is not the id of any group is refused, as Mimecast refuses it in a real
        run.
      - Mutually exclusive with O(parent).
    type: str
  state:
    description:
      - V(present) creates the group if it does not exist under that parent (or, with O(id), renames and moves it).
      - V(absent) deletes it. Nothing is sent when it does not exist. A group that still has child groups is
        never deleted; the module fails and names them.
      - A delete that Mimecast answers C(err_folder_not_found) is checked in a fresh listing. Gone from its path
        after a try of this task's whose answer was lost, it is deleted (changed). Gone on its first try, someone
        else deleted it after the task's read, so it is no change, with a warning naming it. Still listed at its
        path (its id changed since it was read), it is not deleted and the task fails naming the path, the id sent
        and the id listed now; a re-run deletes it by its current id.
    type: str
    choices: [present, absent]
    default: present
  members:
    description:
      - Members of the group, managed with O(state=present), as email addresses (a value with C(@)) and whole
        domains (a value without, such as V(partner.example)). Works for a group found by name and parent, by
        O(id), and for a group created by this task.
      - Values are compared ignoring letter case (Mimecast keeps them lower-case) and returned lower-case.
      - Every value is checked before any request. An address needs exactly one C(@), a non-empty part before
        it of at most 64 characters, and a domain after it; a domain is a full host name of at least two labels
        (letters, digits and inner hyphens; an international domain in its C(xn--) form). No white space.
      - What can never be a member (an empty value, white space or control characters, more than one C(@), nothing
        before or after it) fails the task before any request. A value that only breaks the other rules (such as
        V(svc@mail_relay.example.com), a part before the C(@) of 65 characters, or V(jurgen@münchen.de)) may be
        held by the group, as Mimecast returns such values. Where the group holds it, it is kept as it is, never
        sent, and a warning names it. Where it would have to be added (also to a group this task would create),
        the task fails before any write, naming it and why; the group is then read once more before the writes.
      - The group's members are read first (one request per 100), unless its C(userCount) (Mimecast's count of its
        members) is 0.
      - Members are added and removed in batches of 100 per request. A batch whose outcome is unknown (a dropped
        connection, a server error) is confirmed by reading the members again before anything is re-sent.
      - Membership of a group whose source is C(ldap) comes from directory synchronisation; a change to it is
        refused before any write (a task that would change nothing succeeds).
    type: dict
    suboptions:
      add:
        description:
          - Members to add; members not listed are left alone. Members already there are not sent again.
          - A value may not be in both O(members.add) and O(members.remove).
        type: list
        elements: str
      remove:
        description:
          - Members to remove; members not listed are left alone. Values that are not members are ignored.
        type: list
        elements: str
      set:
        description:
          - The exact member list; members not listed are removed. V([]) empties the group.
          - Cannot be combined with O(members.add) or O(members.remove).
        type: list
        elements: str
notes:
  - If more than one group of that name exists under that parent, the module fails, lists their ids, and
    changes nothing. Renaming or moving a group where one of the new name already exists fails too.
  - A group at the root has a non-empty RV(group.parent_id) (the id of Mimecast's invisible root).
  - The run's first task for a tenant reads the whole directory listing (one request per 100 groups). Later tasks
    of the same run that name their group by O(name) (at the root or under O(parent)) find it by name searches,
    one per path segment, using the invisible root's id that listing proved (kept on the controller for the run
    only); they read the listing again whenever the searches cannot settle it. See docs/requests.md.
seealso:
  - module: community.mimecast.mimecast_group_info
  - name: Mimecast API - Create Group
    description: The API endpoint this module calls to create a group.
    link: https://integrations.mimecast.com/documentation/endpoint-reference/directory/create-group/
"""

EXAMPLES = r"""
- name: Create a group at the root, with API 2.0 credentials from MIMECAST_CLIENT_ID/MIMECAST_CLIENT_SECRET
  community.mimecast.mimecast_group:
    name: Departments

- name: Create groups under a parent path, connection set once for the whole play
  module_defaults:
    group/community.mimecast.mimecast:
      base_url: https://eu-api.mimecast.com
      access_key: "{{ mimecast_access_key }}"
      secret_key: "{{ mimecast_secret_key }}"
      app_id: "{{ mimecast_app_id }}"
      app_key: "{{ mimecast_app_key }}"
  block:
    - name: Create EMEA under Departments
      community.mimecast.mimecast_group:
        name: EMEA
        parent: Departments

    - name: Create Finance under Departments/EMEA
      community.mimecast.mimecast_group:
        name: Finance
        parent: Departments/EMEA

- name: Create a team under the root group named Sales/Marketing (a / inside a name is written \/)
  community.mimecast.mimecast_group:
    name: Events
    parent: Sales\/Marketing

- name: Rename a group and move it under Departments/EMEA
  community.mimecast.mimecast_group:
    id: "{{ contractors.group.id }}"
    name: EMEA Contractors
    parent: Departments/EMEA

- name: Delete a group that has no child groups
  community.mimecast.mimecast_group:
    name: Contractors
    parent: Departments
    state: absent

- name: Add two members and remove one, leaving the other members alone
  community.mimecast.mimecast_group:
    name: Contractors
    parent: Departments
    members:
      add:
        - jane.doe@example.com
        - partner.example
      remove:
        - john.doe@example.com

- name: Make the members of Finance exactly the addresses of an HR export (a CSV, address in the first column)
  community.mimecast.mimecast_group:
    name: Finance
    parent: Departments/EMEA
    members:
      set: "{{ hr_rows | map('split', ',') | map('first') | map('trim') | list }}"
  vars:
    # every line after the header; the address is the first column
    hr_rows: "{{ lookup('ansible.builtin.file', 'hr/finance.csv').splitlines()[1:] }}"

- name: The same from a variable file kept with the playbook (group_vars), one list per group
  community.mimecast.mimecast_group:
    name: "{{ item.key }}"
    parent: Departments
    members:
      set: "{{ item.value }}"
  loop: "{{ department_members | dict2items }}"

- name: Empty a group
  community.mimecast.mimecast_group:
    name: Contractors
    parent: Departments
    members:
      set: []

- name: Create a group under a parent given by id
  community.mimecast.mimecast_group:
    name: Contractors
    parent_id: "{{ departments.group.id }}"
    client_id: "{{ mimecast_client_id }}"
    client_secret: "{{ mimecast_client_secret }}"
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
unknown:
  description:
    - The writes this task sent whose outcome is unknown, one string each, C(<action> <what>) with the action
      V(create), V(update) or V(delete) and the group's path (or its name under a parent id), or V(add) or
      V(remove) and a member.
    - A write is unknown when its answer was lost (a timeout, a dropped connection, a server error) and no read
      could confirm it before O(max_retries) was used up (or the confirming read failed). The task then fails
      and reports C(changed), since Mimecast may have carried them out; a re-run reads before it writes, so it
      converges.
  returned: when the task failed with writes of unknown outcome
  type: list
  elements: str
  sample: [create Departments/EMEA/Finance]
group:
  description:
    - The group's facts after the task. In check mode a group that would be created has RV(group.id) V(null).
    - With O(state=absent), the facts of the group that was (or would be) deleted; empty when there was none, or
      when someone else deleted it between the task's read and its delete.
  returned: success
  type: dict
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
    parent_id:
      description:
        - Mimecast id of the parent group. Never empty, also at the root.
        - V(null) in check mode for a group that would be created at the root.
      type: str
      sample: eNoVjr0OgjAYAN
    source:
      description: Where the group comes from, V(cloud) or V(ldap) (directory synchronisation).
      type: str
      sample: cloud
    folder_count:
      description: Number of child groups.
      type: int
      sample: 0
    user_count:
      description:
        - Number of members, as Mimecast counts them.
        - After a member change, the count read before it moved by the number of members added and removed.
      type: int
      sample: 0
    members:
      description:
        - The group's members after the task (predicted in check mode), lower-case and sorted.
      returned: when O(members) is given
      type: list
      elements: str
      sample: [jane.doe@example.com, partner.example]
"""

from ansible_collections.community.mimecast.plugins.module_utils.group_flows import run_group
from ansible_collections.community.mimecast.plugins.module_utils.module import MimecastModule


def main():
    module = MimecastModule(
        argument_spec=dict(
            name=dict(type="str", aliases=["description"]),
            id=dict(type="str"),
            parent=dict(type="str"),
            parent_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            members=dict(
                type="dict",
                options=dict(
                    add=dict(type="list", elements="str"),
                    remove=dict(type="list", elements="str"),
                    set=dict(type="list", elements="str"),
                ),
            ),
        ),
        mutually_exclusive=[("parent", "parent_id")],
        required_one_of=[("name", "id")],
        supports_check_mode=True,
    )
    run_group(module)


if __name__ == "__main__":
    main()
