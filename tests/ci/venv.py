"""Create a virtual environment for a CI gate, or reuse it when nothing it depends on changed.

The environment is keyed on the Python version and the text of every requirement file given, so
editing a pin rebuilds exactly the environments that use it. With ``--ansible-test-requirements``
the environment also gets what the installed ansible-test needs to run ``units`` and
``integration --coverage`` in place (its own units.txt and its pinned coverage), read from the
ansible-test that was just installed instead of guessed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys

# Bump when the way environments are built changes, so every cached one is rebuilt.
BUILD_RECIPE = "3"
STAMP = ".ci-stamp"


def find_python(version: str) -> str:
    """Return the path of an interpreter for ``version`` (``X.Y``): from PATH, else from pyenv."""
    candidates = []
    found = shutil.which(f"python{version}")
    if found:
        candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pattern = os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}")
    candidates.extend(sorted(glob.glob(pattern), reverse=True))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    sys.exit(f"venv.py: no Python {version} found (looked on PATH and under {pyenv_root}/versions)")


def python_identity(python: str) -> str:
    """Return the full version and prefix of an interpreter: a rebuilt Python means a rebuilt venv."""
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.version); print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def compute_key(python: str, requirements: list[str], ansible_test_requirements: bool) -> str:
    digest = hashlib.sha256()
    digest.update(BUILD_RECIPE.encode())
    digest.update(python_identity(python).encode())
    digest.update(repr(ansible_test_requirements).encode())
    for path in requirements:
        digest.update(path.encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def pip(venv: str, *args: str) -> None:
    command = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def ansible_test_requirement_files(venv: str) -> list[str]:
    """Return ansible-test's own requirement files for unit tests and coverage, from the venv."""
    found = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "ansible_test", "_data", "requirements"))
    if not found:
        sys.exit(f"venv.py: ansible-test is not installed in {venv}")
    data = found[0]
    return [os.path.join(data, "units.txt"), os.path.join(data, "ansible-test.txt")]


def build(venv: str, python: str, requirements: list[str], ansible_test_requirements: bool) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    print(f"+ {python} -m venv {venv}", flush=True)
    subprocess.run([python, "-m", "venv", venv], check=True)
    pip(venv, "--upgrade", "pip")
    pip(venv, *[arg for path in requirements for arg in ("-r", path)])
    if ansible_test_requirements:
        pip(venv, *[arg for path in ansible_test_requirement_files(venv) for arg in ("-r", path)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", help="directory of the virtual environment, e.g. .venv/core-2.19")
    parser.add_argument("--python", required=True, help="Python version X.Y")
    parser.add_argument("-r", "--requirement", action="append", default=[], dest="requirements")
    parser.add_argument("--ansible-test-requirements", action="store_true")
    args = parser.parse_args()

    python = find_python(args.python)
    key = compute_key(python, args.requirements, args.ansible_test_requirements)
    stamp = os.path.join(args.venv, STAMP)

    os.makedirs(os.path.dirname(os.path.abspath(args.venv)), exist_ok=True)
    # Two gates may ask for the same environment at once: the second waits, then reuses it.
    with open(os.path.abspath(args.venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError), open(stamp) as handle:
            if handle.read().strip() == key:
                print(f"venv.py: reusing {args.venv}", flush=True)
                return
        build(args.venv, python, args.requirements, args.ansible_test_requirements)
        with open(stamp, "w") as handle:
            handle.write(key + "\n")
        print(f"venv.py: built {args.venv}", flush=True)


if __name__ == "__main__":
    main()
