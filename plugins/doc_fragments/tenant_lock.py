# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The modules that write, each with an action plugin over plugins/plugin_utils/tenant_action.py: the
    # per-tenant lock on the controller.
    DOCUMENTATION = r"""
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
    details:
      - The action plugin holds a lock on the controller, per tenant, while the module runs; see the notes.
  async:
    description: Supports being used with the C(async) keyword.
    support: none
    details:
      - An asynchronous task would outlive the per-tenant lock, so it is refused.
notes:
  - Parallel runs. While the module runs, the task holds a lock on the controller, keyed by tenant (a hash of
    O(base_url) and O(client_id) or O(access_key), never a secret), shared by every community.mimecast module
    that writes, so the same task run for many hosts at once (forks, C(strategy=free), C(delegate_to),
    C(serial)) reads and writes one host after the other and creates a group once. Tasks against other tenants
    do not wait; check mode takes no lock, except while a task fetches the run's first API 2.0 token (see
    O(reuse_token)), so that forks share one token. The lock is a file in Ansible's local temporary directory
    (C(~/.ansible/tmp) by default), so runs of the same user on the same controller wait for each other too.
  - The controller reads the tenant from the task's options and, for a module that runs on the controller, its
    environment. Give credentials with C(module_defaults), from a vault, or in the controller's environment;
    never in the task's C(environment) keyword, which Ansible prints in its C(EXEC) line at C(-vvv).
  - The lock cannot guard what happens elsewhere at the same time - another controller, such as a second AWX
    job (each runs in its own container), another user, or changes in the Mimecast console. Run one job per
    tenant at a time, and give tasks that manage shared groups C(run_once=true) in plays over many hosts.
"""
