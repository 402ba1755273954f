"""Combine ansible-test's coverage data, report line coverage of plugins/, enforce a minimum on module_utils.

Run from the collection copy in which ``ansible-test units --coverage`` and ``ansible-test
integration --coverage`` ran, with that ansible-test on PATH. ``ansible-test coverage report`` has
no --fail-under, so the minimum is checked here from the report's rows: line coverage, that is
statements run out of statements (the report's Cover column also counts branches). Files that no
test imported count as not covered (``--all``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

# "Name Stmts Miss [Branch BrPart] Cover": the branch columns appear when branch data was collected.
ROW = re.compile(r"^(?P<name>\S+\.py)\s+(?P<statements>\d+)\s+(?P<missed>\d+)(?:\s+\d+\s+\d+)?\s+\d+%")


def ansible_test(*args: str) -> str:
    command = ["ansible-test", "coverage", *args, "--requirements", "--color", "no"]
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode:
        sys.exit(f"coverage_check.py: {' '.join(command)} exited with status {result.returncode}")
    return result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=95.0, help="minimum line coverage of module_utils, in %%")
    parser.add_argument("--enforce-on", default="plugins/module_utils/*", help="path pattern the minimum applies to")
    args = parser.parse_args()

    ansible_test("combine")
    ansible_test("report", "--include", "plugins/*", "--show-missing")
    report = ansible_test("report", "--all", "--include", args.enforce_on)

    rows = [match for match in map(ROW.match, report.splitlines()) if match and match["name"] != "TOTAL"]
    statements = sum(int(row["statements"]) for row in rows)
    missed = sum(int(row["missed"]) for row in rows)
    if not rows or not statements:
        print(f"coverage_check.py: no coverage data for {args.enforce_on}", file=sys.stderr)
        return 1
    covered = 100.0 * (statements - missed) / statements
    verdict = "meets" if covered >= args.minimum else "is BELOW"
    print(
        f"coverage_check.py: {args.enforce_on}: line coverage {covered:.1f}% ({statements - missed} of {statements}"
        f" statements), {verdict} the minimum of {args.minimum:g}%"
    )
    for row in rows:
        if int(row["statements"]):
            share = 100.0 * (int(row["statements"]) - int(row["missed"])) / int(row["statements"])
            print(f"coverage_check.py:   {row['name']}: {share:.1f}% of lines")
    return 0 if covered >= args.minimum else 1


if __name__ == "__main__":
    sys.exit(main())
