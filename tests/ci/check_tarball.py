"""Check that a built collection tarball holds what users need and none of the development clutter.

build_ignore in galaxy.yml is what keeps local environments, build copies, caches, test output
and CI plumbing out of the tarball; this fails the build gate if any of them got in anyway.
"""

from __future__ import annotations

import fnmatch
import sys
import tarfile

# Must not be shipped (paths inside the tarball).
FORBIDDEN = (
    "Makefile", "ruff.toml", "tests/output/*", "tests/ci/*", "tests/integration/integration_config.yml",
    "changelogs/.plugin-cache.yaml", "*/__pycache__/*", "*.pyc", "*.tar.gz", "importer_result.json",
)  # fmt: skip
# Hidden files and directories at the top (.venv, .build, .ci, caches) are development state,
# except these configurations.
HIDDEN_ALLOWED = (".ansible-lint", ".yamllint")
# Must be shipped.
REQUIRED = ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt")


def problem(name: str) -> str | None:
    top = name.split("/")[0]
    if top.startswith(".") and top not in HIDDEN_ALLOWED:
        return f"hidden development file or directory: {name}"
    if any(fnmatch.fnmatch(name, pattern) for pattern in FORBIDDEN):
        return f"should not be shipped: {name}"
    return None


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} COLLECTION_TARBALL")
    with tarfile.open(sys.argv[1]) as tarball:
        names = [member.name.removeprefix("./") for member in tarball.getmembers()]
    problems = [text for text in map(problem, names) if text]
    problems += [f"missing: {name}" for name in REQUIRED if name not in names]
    for text in problems:
        print(f"check_tarball.py: {text}", file=sys.stderr)
    print(f"check_tarball.py: {sys.argv[1]}: {len(names)} entries, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
