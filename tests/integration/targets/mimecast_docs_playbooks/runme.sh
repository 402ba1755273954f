#!/usr/bin/env bash
# The guides run as written: every complete playbook of docs/docsite/rst/*.rst, taken from the RST itself
# (no copies), runs against the simulator in check mode on an empty directory (which must stay empty), for
# real, and again with no change. See run_guides.py.
set -eu

config="$(pwd)/../../integration_config.yml"
work="${OUTPUT_DIR:-$(mktemp -d)}/guides"
python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}"
"${python}" -u run_guides.py --config "${config}" --work "${work}" "$@"
