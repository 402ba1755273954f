"""Offline stand-in for pypa's get-pip.py, placed in ansible-test's cache by tests/ci/place_get_pip.py.

ansible-test bootstraps pip into the empty virtual environments it creates (sanity tests, --venv)
by downloading get-pip.py from a host this machine cannot reach. This does the same job with
what the interpreter already has: ``ensurepip`` provides a pip, which then installs the exact pip
ansible-test asked for from the configured package index.

ensurepip must run in a child process: it sets PIP_CONFIG_FILE=/dev/null in its own environment,
and a pip started from that environment would lose the machine's index and certificate settings.
"""

# ansible-test-get-pip-stand-in (tests/ci/place_get_pip.py looks for this marker)

import os
import subprocess
import sys

# get-pip.py's own options; pip install would reject them.
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    args = sys.argv[1:]
    pip_args = [arg for arg in args if arg not in GET_PIP_ONLY_OPTIONS]
    env = dict(os.environ)
    if env.get("PIP_CONFIG_FILE") == os.devnull:
        del env["PIP_CONFIG_FILE"]  # ensurepip's own setting, should it ever leak in here

    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env)
    subprocess.check_call([sys.executable, "-m", "pip", "install", *pip_args], env=env)

    if "--no-setuptools" in args and sys.version_info < (3, 12):
        # ensurepip on Python < 3.12 also installs setuptools, which get-pip.py would have left out.
        subprocess.check_call([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"], env=env)


if __name__ == "__main__":
    main()
