#!/usr/bin/python
# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: mimecast_group
short_description: Manage Mimecast profile groups
version_added: 0.1.0
description:
  - Creates a Mimecast profile group at the root of the directory or under a parent group, unless a group of
    that name already exists there.
  - The group is found by its exact name and its parent on every run, because Mimecast group names are not
    unique across parents, searches match names partially, and group ids can change over time.
  - Works with API 1.0 keys (HMAC signatures) and API 2.0 client credentials (OAuth2 bearer tokens).
author:
  - community.mimecast maintainers
extends_documentation_fragment:
  - community.mimecast.mimecast
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
  action_group:
    description: Use C(group/community.mimecast.mimecast) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - community.mimecast.mimecast
options:
  name:
    description:
      - Name of the group (Mimecast calls it the group's C(description)). Matched exactly, case included.
      - At most 255 characters, no control characters, no leading or trailing white space.
    type: str
    required: true
    aliases: [description]
  parent:
    description:
      - Parent group as a path of group names from the root, such as V(Departments/EMEA). It is resolved on every
        run and must exist; the module does not create missing parents.
      - A group whose own name contains C(/) cannot be named in a path; use O(parent_id) for it.
      - Mutually exclusive with O(parent_id). When neither is given the group is at the root.
    type: str
  parent_id:
    description:
      - Mimecast id of the parent group.
      - Mimecast ids can change over time. If groups of this name exist elsewhere and O(parent_id) is not the
        current id of any group, the module fails rather than risk creating a duplicate; O(parent) avoids this.
      - Mutually exclusive with O(parent).
    type: str
  state:
    description:
      - V(present) creates the group if it does not exist under that parent.
    type: str
    choices: [present]
    default: present
notes:
  - If more than one group of that name exists under that parent, the module fails, lists their ids, and
    changes nothing.
  - A group at the root has a non-empty RV(group.parent_id) (the id of Mimecast's invisible root).
seealso:
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

- name: Create a group under a parent given by id
  community.mimecast.mimecast_group:
    name: Contractors
    parent_id: "{{ departments.group.id }}"
    client_id: "{{ mimecast_client_id }}"
    client_secret: "{{ mimecast_client_secret }}"
"""

RETURN = r"""
group:
  description:
    - The group's facts after the task. In check mode a group that would be created has RV(group.id) V(null).
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
      description: Number of members.
      type: int
      sample: 0
"""

from ansible_collections.community.mimecast.plugins.module_utils.client import MimecastError
from ansible_collections.community.mimecast.plugins.module_utils.groups import (
    GroupDirectory,
    GroupError,
    ensure_present,
    validate_target,
)
from ansible_collections.community.mimecast.plugins.module_utils.module import MimecastModule


def main():
    module = MimecastModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["description"]),
            parent=dict(type="str"),
            parent_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present"]),
        ),
        mutually_exclusive=[("parent", "parent_id")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate_target(params["name"], params["parent"], params["parent_id"])
    except GroupError as exc:
        module.fail_json(msg=str(exc))
    client = module.client()  # fails on bad connection options, still before any request

    try:
        changed, before, after = ensure_present(
            directory=GroupDirectory(client),
            name=params["name"],
            parent=params["parent"],
            parent_id=params["parent_id"],
            check_mode=module.check_mode,
        )
    except (MimecastError, GroupError) as exc:
        module.fail_from(exc)

    result = dict(changed=changed, group=after)
    if module._diff:
        result["diff"] = dict(before=before or {}, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
