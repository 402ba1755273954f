#!/usr/bin/env bash
# Runs every mimecast_group, member and tree scenario (both credential kinds, a wrong secret included) at -vvvv, then
# checks that no secret, and nothing derived from one (signatures, Authorization values, bearer
# tokens, as recorded by the simulator), appears anywhere in that output.
set -eu

# setup_mimecast is found beside this target, and the simulator control calls through its action plugin
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_ACTION_PLUGINS=../setup_mimecast/action_plugins
# The simulator of this ansible-test run, its address and accounts (../setup_mimecast/files/mimecast_sim.py), with
# the choices of integration_config.yml, if there is one
config="$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_mimecast/files/mimecast_sim.py config \
    "$(pwd)/../../integration_config.yml" "${OUTPUT_DIR:-$(mktemp -d)}/mimecast_sim_config.json")"
log="${OUTPUT_DIR:-$(mktemp -d)}/mimecast_vvvv.log"

if ! ansible-playbook -vvvv scenarios.yml -e "@${config}" >"${log}" 2>&1; then
    tail -n 60 "${log}"
    echo "the -vvvv run failed; full output in ${log}" >&2
    exit 1
fi
ansible-playbook check.yml -e "@${config}" -e "vvvv_log=${log}" "$@"
