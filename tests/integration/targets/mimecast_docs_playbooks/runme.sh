#!/usr/bin/env bash
# The guides run as written: every complete playbook of docs/docsite/rst/*.rst, taken from the RST itself
# (no copies), runs against the simulator in check mode on an empty directory (which must stay empty), for
# real, and again with no change. See run_guides.py.
set -eu

# The simulator of this ansible-test run, its address and accounts (../setup_mimecast/files/mimecast_sim.py), with
# the choices of integration_config.yml, if there is one
config="$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_mimecast/files/mimecast_sim.py config \
    "$(pwd)/../../integration_config.yml" "${OUTPUT_DIR:-$(mktemp -d)}/mimecast_sim_config.json")"
work="${OUTPUT_DIR:-$(mktemp -d)}/guides"
python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}"
"${python}" -u run_guides.py --config "${config}" --work "${work}" "$@"
