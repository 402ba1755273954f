#!/usr/bin/env bash
# Kill-anywhere (crash consistency): kill_anywhere.py starts a tree run with members against the simulator with
# every write held for a while, kills the whole ansible-playbook process group with SIGKILL once the k-th request
# of one write path has arrived (create k = the first, the first of a middle level, the last; a middle member add;
# the first member remove of a members change run), lets that request land, checks what stands, re-runs, and
# checks the exact tree and the exact members of every group, no duplicate; a third run must change nothing.
set -eux

# setup_mimecast is found beside this target, and the simulator control calls through its action plugin
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_ACTION_PLUGINS=../setup_mimecast/action_plugins
# The simulator of this ansible-test run, its address and accounts (../setup_mimecast/files/mimecast_sim.py), with
# the choices of integration_config.yml, if there is one
config="$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_mimecast/files/mimecast_sim.py config \
    "$(pwd)/../../integration_config.yml" "${OUTPUT_DIR:-$(mktemp -d)}/mimecast_sim_config.json")"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" kill_anywhere.py "${config}" "${OUTPUT_DIR:-$(mktemp -d)}" "$@"
