# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: 111 groups with 10 members on each of the 100 teams as one ``mimecast_group_tree`` task with
``members``, against a loop of ``mimecast_group`` tasks with ``members.set``, side by side, against the simulator.

The tree is ``Bench`` with 10 departments of 10 teams (1 + 10 + 100 groups); each team gets 10 addresses. Each
round runs both kinds in alternating order, each first from an empty directory (the simulator is reset) and then
again on what it left (the re-run, where nothing changes). The wall time of the kind's one task (the loop counts
as one task) is taken by benchmarks/callback_plugins/bench_timer.py. Printed: each run's wall time and requests,
the medians, and the requests of each kind by path.

It measures and prints; it is not a test and never fails on a figure. It exits 1 when something did not work
(a task failed, a kind did not leave exactly the 111 groups and 1,000 members) and 2 on bad usage.

Run: ``python3 benchmarks/bench_tree_members.py --ansible-playbook .nox/bench/bin/ansible-playbook``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_tree  # benchmarks/ is the script's directory: the simulator, control calls and environment are shared

ROOT_NAME = bench_tree.ROOT_NAME
DEPARTMENTS = bench_tree.DEPARTMENTS
TEAMS = bench_tree.TEAMS
RUNS = ("empty", "rerun")


def team_members():
    """{"Dept 03/Team 07": [10 addresses]} for the 100 teams."""
    return dict(
        ("%s/%s" % (d, t), ["m%d.%s.%s@example.com" % (n, d[-2:], t[-2:]) for n in range(10)])
        for d in DEPARTMENTS
        for t in TEAMS
    )


def playbooks(credentials):
    """The two playbooks, as JSON (which is YAML): one timed task each."""
    defaults = {"group/community.mimecast.mimecast": credentials}
    play = {"hosts": "localhost", "connection": "local", "gather_facts": False, "module_defaults": defaults}
    members = team_members()
    tree = dict(
        play,
        tasks=[
            {
                "name": "tree",
                "community.mimecast.mimecast_group_tree": {
                    "root": ROOT_NAME,
                    "groups": sorted(members),
                    "members": members,
                },
            }
        ],
    )
    # Parents first, as a playbook author would loop: the root and the departments without members, then each team
    # with its members.
    items = [{"parent": "", "name": ROOT_NAME}] + [{"parent": ROOT_NAME, "name": d} for d in DEPARTMENTS]
    items += [
        {"parent": "%s/%s" % (ROOT_NAME, d), "name": t, "members": members["%s/%s" % (d, t)]}
        for d in DEPARTMENTS
        for t in TEAMS
    ]
    loop = dict(
        play,
        tasks=[
            {
                "name": "loop",
                "community.mimecast.mimecast_group": {
                    "name": "{{ item.name }}",
                    "parent": "{{ item.parent | default(omit, true) }}",
                    "members": "{{ {'set': item.members} if 'members' in item else omit }}",
                },
                "loop": items,
                "loop_control": {"label": "{{ item.parent }}/{{ item.name }}"},
            }
        ],
    )
    return {"tree": [tree], "loop": [loop]}


def expected_members():
    """Full path -> sorted members of every one of the 111 groups."""
    wanted = dict((ROOT_NAME + "/" + team, sorted(values)) for team, values in team_members().items())
    for path in bench_tree.expected_paths():
        wanted.setdefault(path, [])
    return wanted


def run_kind(kind, url, workdir, ansible_playbook, python, timeout, reset):
    """Run one kind (from empty when ``reset``); return (task seconds, requests by path)."""
    if reset:
        bench_tree.control(url, "POST", "/_sim/reset")
    bench_tree.control(url, "POST", "/_sim/stats/reset")
    env = bench_tree.ansible_env(workdir, os.path.join(workdir, "timer-%s.jsonl" % kind), python)
    task_seconds, _playbook_seconds = bench_tree.timed_playbook(
        ansible_playbook, os.path.join(workdir, "%s.yml" % kind), env, timeout, kind, kind
    )
    stats = bench_tree.control(url, "GET", "/_sim/stats")
    groups = bench_tree.control(url, "GET", "/_sim/groups?members=1")["groups"]
    found = dict((group["path"], group["members"]) for group in groups)
    if len(groups) != len(found) or found != expected_members():
        raise bench_tree.BenchError("the %s kind did not leave exactly the 111 groups and their members" % kind)
    return task_seconds, stats["by_path"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible-playbook", help="ansible-playbook to run (default: the one on PATH)")
    parser.add_argument("--python", help="the modules' Python (default: the one next to ansible-playbook)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both kinds, order alternating (default 1)")
    parser.add_argument("--api", choices=["1", "2"], default="1", help="API 1.0 keys or API 2.0 client (default 1)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per playbook (default 900)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    ansible_playbook = args.ansible_playbook or shutil.which("ansible-playbook")
    if not ansible_playbook or args.rounds < 1:
        parser.error("give --ansible-playbook (none on PATH) and --rounds of 1 or more")
    ansible_playbook = os.path.abspath(ansible_playbook)
    python = os.path.abspath(args.python) if args.python else os.path.join(os.path.dirname(ansible_playbook), "python")

    runner = bench_tree.load_simulator_runner()
    workdir = tempfile.mkdtemp(prefix="mimecast-bench-tree-members-")
    seconds = dict(((kind, run), []) for kind in ("tree", "loop") for run in RUNS)
    requests = {}
    try:
        for sub in ("tmp", "local-tmp", "remote-tmp"):
            os.makedirs(os.path.join(workdir, sub))
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("# benchmark: every setting comes from the environment\n[defaults]\n")
        namespace = os.path.join(workdir, "checkout", "ansible_collections", "community")
        os.makedirs(namespace)
        os.symlink(bench_tree.REPO, os.path.join(namespace, "mimecast"))
        with runner.Simulator() as simulator:
            credentials = dict(bench_tree.API1 if args.api == "1" else bench_tree.API2, base_url=simulator.url)
            for kind, playbook in playbooks(credentials).items():
                with open(os.path.join(workdir, "%s.yml" % kind), "w") as handle:
                    json.dump(playbook, handle)
            for round_number in range(args.rounds):
                order = ["tree", "loop"] if round_number % 2 == 0 else ["loop", "tree"]
                for kind in order:
                    for run in RUNS:
                        started = time.perf_counter()
                        task_seconds, by_path = run_kind(
                            kind, simulator.url, workdir, ansible_playbook, python, args.timeout, run == "empty"
                        )
                        seconds[(kind, run)].append(task_seconds)
                        requests[(kind, run)] = by_path
                        print(
                            "round %d  %-4s  %-5s  task %7.2f s  playbook %7.2f s  requests %d"
                            % (
                                round_number + 1,
                                kind,
                                run,
                                task_seconds,
                                time.perf_counter() - started,
                                sum(by_path.values()),
                            ),
                            flush=True,
                        )
    except (bench_tree.BenchError, subprocess.TimeoutExpired, OSError, runner.SimulatorError) as exc:
        print("bench_tree_members: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        "111 groups, 1,000 members on 100 teams, API %s.0, %d round(s), median task wall time and requests:"
        % (args.api, args.rounds)
    )
    print("  %-46s %12s %12s %10s %10s" % ("", "from empty", "re-run", "requests", "re-run"))
    labels = {"tree": "mimecast_group_tree with members, one task", "loop": "mimecast_group members.set, 111 tasks"}
    for kind in ("tree", "loop"):
        print(
            "  %-46s %10.2f s %10.2f s %10d %10d"
            % (
                labels[kind],
                statistics.median(seconds[(kind, "empty")]),
                statistics.median(seconds[(kind, "rerun")]),
                sum(requests[(kind, "empty")].values()),
                sum(requests[(kind, "rerun")].values()),
            )
        )
    for kind in ("tree", "loop"):
        for run in RUNS:
            print("  requests, %-4s %-5s: %s" % (kind, run, json.dumps(requests[(kind, run)], sort_keys=True)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "seconds": dict(("%s-%s" % key, value) for key, value in seconds.items()),
                    "requests": dict(("%s-%s" % key, value) for key, value in requests.items()),
                },
                handle,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
