"""Run a command, pass its output through, and fail when the output shows a problem its exit code hides.

Some tools exit 0 in cases a gate must treat as failure: ansible-test exits 0 when every unit
test target was skipped or pytest collected nothing (it maps pytest's "no tests ran" status 5 to
success), and galaxy-importer exits 0 after printing warnings. ``--require`` names a pattern that
some output line must match; ``--forbid`` one that no line may match.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require", action="append", default=[], metavar="REGEX", help="a line must match")
    parser.add_argument("--forbid", action="append", default=[], metavar="REGEX", help="no line may match")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command and arguments")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    required = {pattern: re.compile(pattern) for pattern in args.require}
    forbidden = [re.compile(pattern) for pattern in args.forbid]
    matched: set[str] = set()
    offending: list[str] = []

    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            text = line.rstrip("\n")
            matched.update(pattern for pattern, regex in required.items() if regex.search(text))
            if any(regex.search(text) for regex in forbidden):
                offending.append(text)
    status = process.returncode

    problems = [f"no output line matched {pattern!r}" for pattern in required if pattern not in matched]
    problems += [f"forbidden output: {text}" for text in offending]
    for problem in problems:
        print(f"run_checked.py: {problem}", file=sys.stderr)
    if status:
        return status
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
