#!/usr/bin/env bash
# Eight hosts, eight forks, every create answered only after 0.3 s: each host ensures one shared group, then
# Sites and Sites/<its name>, then Trees/<its name> with mimecast_group_tree. Without the controller's
# per-tenant lock every host lists the directory before any create lands and the run makes eight of each
# shared group. Three runs cover between them: options and MIMECAST_* variables, both credential kinds, the
# linear and free strategies, delegate_to, serial, and check mode.
set -eux

# The simulator of this ansible-test run, its address and accounts (../setup_mimecast/files/mimecast_sim.py), with
# the choices of integration_config.yml, if there is one
config="$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_mimecast/files/mimecast_sim.py config \
    "$(pwd)/../../integration_config.yml" "${OUTPUT_DIR:-$(mktemp -d)}/mimecast_sim_config.json")"
# setup_mimecast is found beside this target, and the simulator control calls through its action plugin
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_ACTION_PLUGINS=../setup_mimecast/action_plugins
export ANSIBLE_FORKS=8
run() {
    ansible-playbook -i inventory.ini parallel.yml -e "@${config}" "$@"
}

# API 2.0 client from module_defaults, linear strategy
run -e auth_kind=api2 -e credentials_from=options "$@"
# API 1.0 keys from the MIMECAST_* variables of the task's environment keyword, free strategy, delegate_to,
# batches of 5 and 3 hosts
ANSIBLE_STRATEGY=free run -e auth_kind=api1 -e credentials_from=environment -e run_on=localhost -e play_serial=5 "$@"
# Check mode: every host predicts its changes, nothing is created
run -e auth_kind=api1 -e credentials_from=options --check "$@"
