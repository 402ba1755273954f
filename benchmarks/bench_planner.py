# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: the CPU time and peak memory of the tree planner (``plan_tree``) and of the member planning
(``parse_members`` + ``plan_tree_members``, member reads answered in memory; ``plan_members`` of one group) at
10,000 and 50,000 groups and 100,000 members. No simulator, no Ansible: the planners are pure functions.

The directory is departments at the root with 99 teams under each (100 departments for 10,000 groups, 500 for
50,000). Cases: the whole directory fed back with ``purge`` (no change), the same paths into an empty directory
(every group a create), only the departments with ``purge`` (every team a delete, with the paths before and
after that diff mode shows), and two members on every team, one of them new (at 50,000 groups: 99,000 members).
Printed per case: CPU seconds (``time.process_time``, best of ``--repeat``; then again with Python's cyclic
garbage collector off, which shows the planner's own cost without the collector's passes over every live
object), peak memory traced by ``tracemalloc`` (a separate run), and microseconds per group, whose staying
flat from 10,000 to 50,000 is what linear means.

It measures and prints; it is not a test and never fails on a figure. It exits 1 when a planner fails and 2 on
bad usage. ``--ansible-playbook`` is accepted (``make bench`` passes it to every script) and not used.

Run: ``python3 benchmarks/bench_planner.py`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def import_collection():
    """Make ``ansible_collections.community.mimecast`` importable from this checkout (a link in a temp dir)."""
    top = tempfile.mkdtemp(prefix="mimecast-bench-")
    os.makedirs(os.path.join(top, "ansible_collections", "community"))
    os.symlink(REPO, os.path.join(top, "ansible_collections", "community", "mimecast"))
    sys.path.insert(0, top)
    from ansible_collections.community.mimecast.plugins.module_utils import (  # pylint: disable=import-outside-toplevel
        group_tree,
        members,
        tree_members,
        tree_plan,
    )

    return group_tree, members, tree_members, tree_plan


GROUP_TREE, MEMBERS, TREE_MEMBERS, TREE_PLAN = import_collection()
ROOT = "eNoROOT"


def directory(groups):
    """The listing's facts of ``groups`` groups (departments of 99 teams) and the paths of all of them."""
    facts, paths = [], []
    for d in range(groups // 100):
        dept_id = "d%d" % d
        dept = "Dept %03d" % d
        facts.append({"id": dept_id, "description": dept, "parentId": ROOT, "folderCount": 99, "userCount": 0})
        paths.append(dept)
        for t in range(1, 100):
            team = "Team %02d" % t
            facts.append({"id": "%s-t%d" % (dept_id, t), "description": team, "parentId": dept_id, "userCount": 2})
            paths.append("%s/%s" % (dept, team))
    return [GROUP_TREE.group_facts(f) for f in facts], paths


class InMemoryMembers:
    """Answers ``get-group-members`` from memory: every team holds old@ and kept@ (no I/O is measured)."""

    def paginate(self, path, item, page_size=100):
        yield {"groupMembers": [{"emailAddress": "old@example.com"}, {"emailAddress": "kept@example.com"}]}


def case_plan(groups, empty):
    facts, paths = directory(groups)
    tree = GROUP_TREE.GroupTree([] if empty else facts)
    root_path, entries = TREE_PLAN.parse_request(paths)

    def run():
        return TREE_PLAN.plan_tree(tree, entries, root_path, purge=True)

    def check(plan):
        return len(plan.creates) == (groups if empty else 0) and not plan.deletes

    return run, check


def case_purge(groups):
    """Only the departments wanted, with purge: every team a delete; the diff's paths before and after included."""
    facts, paths = directory(groups)
    tree = GROUP_TREE.GroupTree(facts)
    root_path, entries = TREE_PLAN.parse_request([p for p in paths if "/" not in p])

    def run():
        plan = TREE_PLAN.plan_tree(tree, entries, root_path, purge=True)
        return plan, plan.before_paths(), plan.after_paths()

    def check(result):
        plan, before, after = result
        return len(plan.deletes) == groups // 100 * 99 and len(before) == groups and len(after) == groups // 100

    return run, check


def case_members(groups):
    facts, paths = directory(groups)
    tree = GROUP_TREE.GroupTree(facts)
    root_path, entries = TREE_PLAN.parse_request(paths)
    plan = TREE_PLAN.plan_tree(tree, entries, root_path, purge=True)
    wanted = dict((p, ["kept@example.com", "new@example.com"]) for p in paths if "/" in p)
    client = InMemoryMembers()

    def run():
        parsed = TREE_MEMBERS.parse_members(wanted, entries)
        return TREE_MEMBERS.plan_tree_members(client, plan, parsed)

    def check(planned):
        return sum(len(c.to_add) + len(c.to_remove) for c in planned.changes) == 2 * len(wanted)

    return run, check


def case_one_group(count):
    current = ["user%06d@example.com" % n for n in range(count)]
    wanted = {"set": current[count // 2 :] + ["new%06d@example.com" % n for n in range(count // 2)]}

    def run():
        return MEMBERS.plan_members(current, MEMBERS.validate_members(wanted))

    def check(planned):
        return len(planned[0]) == count // 2 and len(planned[1]) == count // 2

    return run, check


def cpu(run, repeat, collect):
    """The least CPU seconds ``run`` took in ``repeat`` runs, with Python's cyclic garbage collector on or off."""
    best, result = None, None
    for _round in range(repeat):
        result = None
        gc.collect()
        if not collect:
            gc.disable()
        try:
            started = time.process_time()
            result = run()
            spent = time.process_time() - started
        finally:
            gc.enable()
        best = spent if best is None else min(best, spent)
    return best, result


def measure(build, repeat):
    run, check = build()
    best, result = cpu(run, repeat, collect=True)
    if not check(result):
        raise RuntimeError("the planner's answer is not what the case expects")
    without_gc, _result = cpu(run, repeat, collect=False)
    result = None
    run, _check = build()
    gc.collect()
    tracemalloc.start()
    run()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, without_gc, peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--ansible-playbook", help="accepted for make bench; not used")
    parser.add_argument("--api", help="accepted for make bench (BENCH_ARGS); not used")
    parser.add_argument("--repeat", type=int, default=3, help="CPU time: best of this many runs (default 3)")
    parser.add_argument("--sizes", default="10000,50000", help="group counts, multiples of 100 (default 10000,50000)")
    parser.add_argument("--members", type=int, default=100000, help="members of the one-group case (default 100000)")
    parser.add_argument("--json", help="write every figure to this file")
    args, _unknown = parser.parse_known_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if args.repeat < 1 or any(s < 100 or s % 100 for s in sizes) or args.members < 2:
        parser.error("--repeat at least 1, --sizes multiples of 100, --members at least 2")

    cases = []
    for size in sizes:
        cases.append(("plan_tree, no change (purge)", size, lambda s=size: case_plan(s, False)))
        cases.append(("plan_tree, every group a create", size, lambda s=size: case_plan(s, True)))
        cases.append(("plan_tree + diff, purge of every team", size, lambda s=size: case_purge(s)))
        cases.append(("member planning, 2 members a team", size, lambda s=size: case_members(s)))
    cases.append(("plan_members, one group", args.members, lambda: case_one_group(args.members)))

    figures = []
    print("%-38s %7s %8s %10s %9s %12s" % ("case", "size", "CPU s", "(no GC) s", "peak MiB", "us per unit"))
    for label, size, build in cases:
        try:
            spent, without_gc, peak = measure(build, args.repeat)
        except Exception as exc:  # a failing planner is a broken run, not a figure
            print("%s at %d failed: %s" % (label, size, exc), file=sys.stderr)
            return 1
        per_unit = spent / size * 1e6
        figures.append(
            {
                "case": label,
                "size": size,
                "cpu_s": spent,
                "cpu_s_without_gc": without_gc,
                "peak_bytes": peak,
                "us_per_unit": per_unit,
            }
        )
        print("%-38s %7d %8.3f %10.3f %9.1f %12.2f" % (label, size, spent, without_gc, peak / 2**20, per_unit))
    by_case = {}
    for figure in figures:
        by_case.setdefault(figure["case"], []).append(figure)
    for label, rows in by_case.items():
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            print(
                "%s: %d -> %d groups, CPU x%.1f (without GC x%.1f), peak memory x%.1f (linear: x%.1f)"
                % (
                    label,
                    first["size"],
                    last["size"],
                    last["cpu_s"] / max(first["cpu_s"], 1e-9),
                    last["cpu_s_without_gc"] / max(first["cpu_s_without_gc"], 1e-9),
                    last["peak_bytes"] / max(first["peak_bytes"], 1),
                    last["size"] / first["size"],
                )
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
