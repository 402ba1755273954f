#!/usr/bin/env bash
# Three ansible-playbook runs at -vvvv with API 2.0 credentials, each with a fresh run-scoped token store in a
# local_tmp of our own: reuse.yml (one play, many tasks, revocation, other credentials, reuse_token: false, a
# failing token endpoint), forks.yml (six hosts, six forks) and revoked.yml (eight forks meeting a revoked kept
# token, max_retries 0, a refused token given alone). check.yml then proves that no token issued by the
# simulator appears in their output or in any file left under that local_tmp.
set -eu

# The simulator of this ansible-test run, its address and accounts (../setup_mimecast/files/mimecast_sim.py), with
# the choices of integration_config.yml, if there is one
config="$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_mimecast/files/mimecast_sim.py config \
    "$(pwd)/../../integration_config.yml" "${OUTPUT_DIR:-$(mktemp -d)}/mimecast_sim_config.json")"
# setup_mimecast is found beside this target, and the simulator control calls through its action plugin
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_ACTION_PLUGINS=../setup_mimecast/action_plugins
out="${OUTPUT_DIR:-$(mktemp -d)}"
local_tmp="${out}/token_reuse_local_tmp"
log="${out}/token_reuse_vvvv.log"
rm -rf "${local_tmp}" "${log}"
mkdir -m 700 "${local_tmp}"

for playbook in reuse.yml forks.yml revoked.yml; do
    forks=6
    if [ "${playbook}" = revoked.yml ]; then
        forks=8
    fi
    if ! ANSIBLE_LOCAL_TEMP="${local_tmp}" ANSIBLE_FORKS="${forks}" \
        ansible-playbook -vvvv -i inventory.ini "${playbook}" -e "@${config}" -e "scanned_tmp=${local_tmp}" \
        >>"${log}" 2>&1; then
        tail -n 80 "${log}"
        echo "${playbook} failed; full -vvvv output in ${log}" >&2
        exit 1
    fi
done
ansible-playbook check.yml -e "@${config}" -e "vvvv_log=${log}" -e "scanned_tmp=${local_tmp}" "$@"
echo "mimecast_token_reuse: ${SECONDS}s"
