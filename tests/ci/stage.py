"""Copy the collection to ``BUILD/ansible_collections/community/mimecast`` for ansible-test and friends.

ansible-test must run from inside a path ``ansible_collections/NAMESPACE/NAME`` and resolves
symlinks, so the gates work on a copy. The copy holds what git would commit: tracked files plus
untracked files that .gitignore does not exclude (or, outside a git work tree, every file less
caches and build output). It is synchronised, not rebuilt: files that changed are copied, files
that disappeared are removed, and ``tests/output`` (coverage data, test results) is kept unless
``--clean`` is given, so units and integration can add to the same coverage data. The copy is
also an empty git repository of its own (see the end of ``synchronise``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION_PATH = os.path.join("ansible_collections", "community", "mimecast")

# Never copied, whatever git says: local environments, build copies, caches and test output.
EXCLUDED_DIRS = {
    ".git",
    ".venv",
    ".nox",
    ".build",
    ".ansible",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "__pycache__",
}
EXCLUDED_PATHS = {os.path.join("tests", "output")}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tar.gz")
# Kept in the copy across synchronisations: its own git repository, test output, and what the gates write there.
PRESERVED = (".git", os.path.join("tests", "output"), os.path.join("tests", "integration", "integration_config.yml"))


def is_excluded(relpath: str) -> bool:
    parts = relpath.split(os.sep)
    if any(part in EXCLUDED_DIRS for part in parts):  # also a symlink named .venv
        return True
    if any(relpath == path or relpath.startswith(path + os.sep) for path in EXCLUDED_PATHS):
        return True
    return relpath.endswith(EXCLUDED_SUFFIXES)


def source_files() -> list[str]:
    """Return the relative paths that belong in the copy."""
    try:
        listing = subprocess.run(
            ["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [path for path in listing.split("\0") if path]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for directory, dir_names, file_names in os.walk(ROOT):
            dir_names[:] = [name for name in dir_names if name not in EXCLUDED_DIRS]
            for name in file_names:
                paths.append(os.path.relpath(os.path.join(directory, name), ROOT))
    return sorted(path for path in paths if not is_excluded(path) and os.path.lexists(os.path.join(ROOT, path)))


def same_file(source: str, target: str) -> bool:
    if os.path.islink(source) or os.path.islink(target):
        return os.path.islink(source) and os.path.islink(target) and os.readlink(source) == os.readlink(target)
    try:
        a, b = os.stat(source), os.stat(target)
    except FileNotFoundError:
        return False
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime) and a.st_mode == b.st_mode


def is_preserved(relpath: str) -> bool:
    return any(relpath == path or relpath.startswith(path + os.sep) for path in PRESERVED)


def synchronise(destination: str, clean: bool) -> None:
    wanted = source_files()
    wanted_set = set(wanted)
    if clean:
        shutil.rmtree(destination, ignore_errors=True)
    os.makedirs(destination, exist_ok=True)

    for relpath in wanted:
        source = os.path.join(ROOT, relpath)
        target = os.path.join(destination, relpath)
        if same_file(source, target):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.lexists(target) or os.path.islink(target):
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
        shutil.copy2(source, target, follow_symlinks=False)

    for directory, dir_names, file_names in os.walk(destination, topdown=False):
        if is_preserved(os.path.relpath(directory, destination)):
            continue
        for name in file_names + [d for d in dir_names if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            relpath = os.path.relpath(path, destination)
            if relpath not in wanted_set and not is_preserved(relpath):
                os.unlink(path)
        if directory != destination and not os.listdir(directory):
            os.rmdir(directory)

    # The copy lies inside this work tree, whose .gitignore hides it: tools that ask git which files
    # a project has (ansible-test, ansible-lint) would see none. An empty repository of its own makes
    # git list every file of the copy that its .gitignore does not exclude.
    if not os.path.exists(os.path.join(destination, ".git")):
        subprocess.run(["git", "init", "--quiet", destination], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", help="build directory, e.g. .build/units-2.19")
    parser.add_argument("--clean", action="store_true", help="start from an empty copy (drops tests/output)")
    args = parser.parse_args()
    destination = os.path.join(os.path.abspath(args.build), COLLECTION_PATH)
    if os.path.commonpath([destination, ROOT]) == ROOT and not destination.startswith(os.path.join(ROOT, ".build")):
        sys.exit("stage.py: the build directory must be outside the collection or under .build/")
    synchronise(destination, args.clean)
    print(destination)


if __name__ == "__main__":
    main()
