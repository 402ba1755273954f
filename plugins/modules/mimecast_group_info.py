#!/usr/bin/python
# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: mimecast_group_info
short_description: List Mimecast profile groups
version_added: 1.0.0
description:
  - Lists Mimecast profile groups with their facts and their path of names from the root.
  - Filters combine; with none, every group is listed.
author:
  - community.mimecast maintainers (@ansible-collections)
extends_documentation_fragment:
  - community.mimecast.mimecast
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: This module never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: N/A
    details: This module never changes anything.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
    details:
      - The action plugin keeps the run's API 2.0 token for later tasks (see O(reuse_token)); it takes no lock.
options:
  name:
    description:
      - Only groups with exactly this name, case included.
    type: str
  query:
    description:
      - Only groups whose name contains this text, ignoring case (the API's own search).
    type: str
  parent:
    description:
      - Only direct children of the group at this path of names from the root, such as V(Departments/EMEA);
        V(/) means groups at the root. A parent that does not exist has no children.
      - A C(/) inside a name is written V(\\/) and a backslash V(\\\\) (the path syntax of the notes).
      - With O(name), a task after the first full listing of the run for the tenant finds the group by a few name
        searches (see O(directory_root)) instead of reading the whole directory. Without O(name) the whole
        directory is read, because only the listing gives each group's path.
      - Mutually exclusive with O(parent_id).
    type: str
  parent_id:
    description:
      - Only direct children of the group with this Mimecast id.
      - Mutually exclusive with O(parent).
    type: str
  source:
    description:
      - Only groups from this source.
    type: str
    choices: [cloud, ldap]
  members:
    description:
      - Also return each listed group's members (RV(groups[].members)), and all of them by path (RV(members)).
      - Costs one request per 100 members of every listed group whose listing shows members; a group whose
        listing shows C(userCount) 0 (Mimecast's count of its members) is returned with no members and not read.
        Combine it with filters on large directories.
    type: bool
    default: false
seealso:
  - module: community.mimecast.mimecast_group
  - module: community.mimecast.mimecast_group_tree
"""

EXAMPLES = r"""
- name: List every group
  community.mimecast.mimecast_group_info:
  register: all_groups

- name: Find the groups called Finance, wherever they are
  community.mimecast.mimecast_group_info:
    name: Finance
  register: finance

- name: Show where they are
  ansible.builtin.debug:
    msg: "{{ finance.groups | map(attribute='path') | list }}"

- name: Read the members of Departments/EMEA/Finance
  community.mimecast.mimecast_group_info:
    name: Finance
    parent: Departments/EMEA
    members: true
  register: finance_members

- name: Show them
  ansible.builtin.debug:
    msg: "{{ finance_members.groups[0].members }}"

- name: Turn the directory into code - the paths, fed back to mimecast_group_tree with purge, change nothing
  community.mimecast.mimecast_group_info:
  register: directory

- name: Keep the directory as it is from now on
  community.mimecast.mimecast_group_tree:
    groups: "{{ directory.paths }}"
    purge: true

- name: The same round trip with members - groups and members, fed back, change nothing
  community.mimecast.mimecast_group_info:
    members: true
  register: directory_with_members

- name: Keep groups and members as they are from now on
  community.mimecast.mimecast_group_tree:
    groups: "{{ directory_with_members.paths }}"
    members: "{{ directory_with_members.members }}"
    purge: true

- name: List the groups directly under Departments/EMEA that are synchronised from the directory
  community.mimecast.mimecast_group_info:
    parent: Departments/EMEA
    source: ldap
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
groups:
  description: The groups that pass every filter, in the order Mimecast lists them.
  returned: success
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
    parent_id:
      description: Mimecast id of the parent group. Never empty, also at the root.
      type: str
      sample: eNoVjr0OgjAYAN
    path:
      description:
        - Names from the root down to the group, joined by C(/), with a C(/) inside a name written V(\\/) and a
          backslash V(\\\\) (the path syntax of the notes), so that the root group C(Sales/Marketing) has the path
          V(Sales\\/Marketing).
        - V(null) if the chain of parents cannot be followed in what Mimecast returned.
      type: str
      sample: Departments/EMEA/Finance
    source:
      description: Where the group comes from, V(cloud) or V(ldap) (directory synchronisation).
      type: str
      sample: cloud
    folder_count:
      description: Number of child groups.
      type: int
      sample: 0
    user_count:
      description: Number of members.
      type: int
      sample: 0
    members:
      description: The group's members (email addresses and domains), lower-case and sorted.
      returned: when O(members=true)
      type: list
      elements: str
      sample: [jane.doe@example.com, partner.example]
paths:
  description:
    - The full paths (RV(groups[].path)) of the groups in RV(groups), sorted. A group whose chain of parents
      cannot be followed is left out, and so is a group with a name on its path that a path entry cannot hold
      (white space at its start or end, a control character, over 255 characters);
      O(community.mimecast.mimecast_group_tree#module:purge) keeps those groups.
    - Given as O(community.mimecast.mimecast_group_tree#module:groups) with
      O(community.mimecast.mimecast_group_tree#module:purge=true), they describe the directory as it is, names
      holding C(/) included, so that task changes nothing. An existing directory becomes code in one step.
  returned: success
  type: list
  elements: str
  sample: [Departments, Departments/EMEA, Departments/EMEA/Finance, Sales\/Marketing]
members:
  description:
    - The members of the groups in RV(groups), as a dict of full path (in the form of RV(paths)) to the sorted,
      lower-case member list; one entry per group of RV(paths), empty groups included.
    - Given as O(community.mimecast.mimecast_group_tree#module:members) with RV(paths) as
      O(community.mimecast.mimecast_group_tree#module:groups) and
      O(community.mimecast.mimecast_group_tree#module:purge=true), they describe groups and members as they are, so
      that task changes nothing, also for groups synchronised from the directory, whose members are read, never
      written.
  returned: when O(members=true)
  type: dict
  sample: {"Departments": [], "Departments/EMEA/Finance": [jane.doe@example.com, partner.example]}
"""

from ansible_collections.community.mimecast.plugins.module_utils.group_flows import run_group_info
from ansible_collections.community.mimecast.plugins.module_utils.module import MimecastModule


def main():
    module = MimecastModule(
        argument_spec=dict(
            name=dict(type="str"),
            query=dict(type="str"),
            parent=dict(type="str"),
            parent_id=dict(type="str"),
            source=dict(type="str", choices=["cloud", "ldap"]),
            members=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("parent", "parent_id")],
        supports_check_mode=True,
    )
    run_group_info(module)


if __name__ == "__main__":
    main()
