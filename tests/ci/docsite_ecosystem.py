# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The documentation site built the ecosystem's way: the installed collection, ``antsibull-docs sphinx-init
--use-current``, then the generated build.sh, unchanged (``sphinx-build -W --keep-going``).

docs/docsite/build.sh builds the site the project publishes; this is the build a docs site of the Ansible
ecosystem runs on the collection as installed from its tarball. Every Sphinx warning fails it except the
offline ones: intersphinx cannot fetch its inventories, and then the three labels of the Ansible documentation
the generated pages link to are undefined.

    python tests/ci/docsite_ecosystem.py OUTPUT_DIR      (antsibull-docs, sphinx-build, ansible-galaxy on PATH)
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OFFLINE_LABELS = ("action_plugins", "common_return_values", "ansible_configuration_settings")


def main() -> int:
    out = os.path.abspath(sys.argv[1])
    shutil.rmtree(out, ignore_errors=True)
    site, collections = os.path.join(out, "site"), os.path.join(out, "collections")
    os.makedirs(site, mode=0o755)
    os.chmod(site, 0o755)  # antsibull-docs wants its directories writable by their owner only
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections)
    quiet = dict(env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", out, ROOT], check=True, **quiet)
    (tarball,) = glob.glob(os.path.join(out, "community-mimecast-*.tar.gz"))
    install = ["ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarball]
    subprocess.run(install, check=True, **quiet)
    init = ["antsibull-docs", "sphinx-init", "--use-current", "--dest-dir", site, "community.mimecast"]
    subprocess.run(init, check=True, **quiet)
    with open(os.path.join(site, "conf.py"), "a", encoding="utf-8") as conf:
        conf.write("intersphinx_timeout = 10\n")  # offline, give up on each inventory after 10 s
    build = subprocess.run(
        ["bash", os.path.join(site, "build.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    warnings = [line for line in build.stdout.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE):", line)]

    def offline(line: str) -> bool:
        if line.rstrip().endswith("WARNING: failed to reach any of the inventories with the following issues:"):
            return True
        match = re.search(r"WARNING: undefined label: '([^']+)'", line)
        return bool(match) and match.group(1) in OFFLINE_LABELS

    unexpected = [line for line in warnings if not offline(line)]
    print(
        "docsite_ecosystem.py: %s: %d Sphinx warnings, %d offline ones, %d unexpected"
        % (os.path.basename(tarball), len(warnings), len(warnings) - len(unexpected), len(unexpected))
    )
    for line in unexpected:
        print(line, file=sys.stderr)
    if unexpected or not os.path.exists(os.path.join(site, "build", "html", "index.html")):
        if not unexpected:
            print(build.stdout[-3000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
