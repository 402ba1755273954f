"""Put tests/ci/get_pip.py where an installed ansible-test looks for its cached get-pip script.

ansible-test names the cached script after the pip version it bootstraps
(``~/.ansible/test/cache/get_pip_24_2.py``), and each ansible-core pins its own pip versions, so
the names are read from the ansible-test installed in the given virtual environment (noxfile.py's
sanity sessions call ``pip_versions`` and ``place``).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STAND_IN = os.path.join(HERE, "get_pip.py")
MARKER = "ansible-test-get-pip-stand-in"
CACHE = os.path.expanduser("~/.ansible/test/cache")


def pip_versions(venv: str) -> set[str]:
    """Return every pip version the ansible-test in ``venv`` may bootstrap."""
    pattern = os.path.join(
        venv, "lib", "python*", "site-packages", "ansible_test", "_internal", "python_requirements.py"
    )
    sources = glob.glob(pattern)
    if not sources:
        sys.exit(f"place_get_pip.py: no ansible-test in {venv}")
    with open(sources[0], encoding="utf-8") as handle:
        versions = set(re.findall(r"\bpip\s*=\s*'([0-9][0-9.]*)'", handle.read()))
    if not versions:
        sys.exit(f"place_get_pip.py: found no pip version in {sources[0]}")
    return versions


def place(version: str) -> None:
    target = os.path.join(CACHE, "get_pip_{}.py".format(version.replace(".", "_")))
    if os.path.exists(target):
        with open(target, encoding="utf-8", errors="replace") as handle:
            if MARKER not in handle.read():
                return  # a real get-pip.py someone downloaded: it works too, leave it
    os.makedirs(CACHE, exist_ok=True)
    # Another gate's ansible-test may be reading it right now: replace it in one step.
    temporary = f"{target}.{os.getpid()}.tmp"
    shutil.copyfile(STAND_IN, temporary)
    os.replace(temporary, target)
