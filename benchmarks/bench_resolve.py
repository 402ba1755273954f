# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: a loop of 50 no-change ``community.mimecast.mimecast_group`` tasks in a 10,000-group directory,
before (every task reads the whole listing) and after (later tasks of the run find their group by name
searches), against the simulator.

The directory is 100 departments at the root with the same 99 team names under each (100 groups a
``find-groups`` page). "Before" is the collection as it is at ``--before`` (default ``main``, taken with
``git archive``), "after" the working tree. Each runs the same playbook: one loop of ``--tasks`` tasks on
different existing groups. Printed: requests and the loop's wall time (benchmarks/callback_plugins/bench_timer.py)
of each.

It measures and prints; it is not a test and never fails on a figure. It exits 1 when something did not work
(the simulator did not start, a task failed or changed something) and 2 on bad usage.

Run: ``python3 benchmarks/bench_resolve.py --ansible-playbook .nox/bench/bin/ansible-playbook``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TREE = load(os.path.join(HERE, "bench_tree.py"), "mimecast_bench_tree")  # control, ansible_env, credentials


def seed():
    groups = []
    for d in range(1, 101):
        dept = "Dept %03d" % d
        groups.append({"name": dept})
        groups.extend({"name": "Team %02d" % t, "parent": dept} for t in range(1, 100))
    return {"groups": groups}


def items(count):
    """``count`` different existing groups: departments at the root and teams under them, in turn."""
    chosen = []
    for n in range(count):
        dept = "Dept %03d" % (n % 100 + 1)
        chosen.append(["", dept] if n % 5 == 0 else [dept, "Team %02d" % ((7 * n) % 99 + 1)])
    return chosen


def playbook(credentials, count):
    play = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/community.mimecast.mimecast": credentials},
        "tasks": [
            {
                "name": "loop",
                "community.mimecast.mimecast_group": {
                    "name": "{{ item.1 }}",
                    "parent": "{{ item.0 | default(omit, true) }}",
                },
                "loop": items(count),
                "loop_control": {"label": "{{ item | join('/') }}"},
                "register": "looped",
            },
            {
                "name": "unchanged",
                "ansible.builtin.assert": {"that": ["looped.results | select('changed') | list == []"]},
            },
        ],
    }
    return [play]


def checkout(workdir, label, ref):
    """A collections path holding community.mimecast: the working tree, or ``ref`` by git archive."""
    namespace = os.path.join(workdir, "checkout-%s" % label, "ansible_collections", "community")
    os.makedirs(namespace)
    target = os.path.join(namespace, "mimecast")
    if ref is None:
        os.symlink(REPO, target)
    else:
        archive = subprocess.run(
            ["git", "-C", REPO, "archive", "--format=tar", ref], stdout=subprocess.PIPE, check=True
        ).stdout
        archive_path = os.path.join(workdir, "%s.tar" % label)
        with open(archive_path, "wb") as handle:
            handle.write(archive)
        os.makedirs(target)
        with tarfile.open(archive_path) as tar:
            tar.extractall(target)  # noqa: S202 - our own repository's archive
    return os.path.dirname(os.path.dirname(namespace))


def run(label, collections, url, workdir, ansible_playbook, python, timeout):
    TREE.control(url, "POST", "/_sim/stats/reset")
    timer_output = os.path.join(workdir, "timer-%s.jsonl" % label)
    env = TREE.ansible_env(workdir, timer_output, python)
    env["ANSIBLE_COLLECTIONS_PATH"] = collections
    task_seconds, playbook_seconds = TREE.timed_playbook(
        ansible_playbook, os.path.join(workdir, "loop.yml"), env, timeout, "loop", label
    )
    return task_seconds, playbook_seconds, TREE.control(url, "GET", "/_sim/stats")["by_path"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible-playbook", help="ansible-playbook to run (default: the one on PATH)")
    parser.add_argument("--python", help="the modules' Python (default: the one next to ansible-playbook)")
    parser.add_argument("-n", "--tasks", type=int, default=50, help="no-change tasks in the loop (default 50)")
    parser.add_argument("--before", default="main", help="git ref of the 'before' collection (default main)")
    parser.add_argument("--api", choices=["1", "2"], default="1", help="API 1.0 keys or API 2.0 client (default 1)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per playbook (default 1800)")
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)  # make bench passes BENCH_ARGS
    args, _unknown = parser.parse_known_args(argv)
    ansible_playbook = args.ansible_playbook or shutil.which("ansible-playbook")
    if not ansible_playbook or args.tasks < 1:
        parser.error("give --ansible-playbook (none on PATH) and --tasks of 1 or more")
    ansible_playbook = os.path.abspath(ansible_playbook)
    python = os.path.abspath(args.python) if args.python else os.path.join(os.path.dirname(ansible_playbook), "python")

    runner = TREE.load_simulator_runner()
    workdir = tempfile.mkdtemp(prefix="mimecast-bench-resolve-")
    figures = {}
    try:
        for sub in ("tmp", "local-tmp", "remote-tmp"):
            os.makedirs(os.path.join(workdir, sub))
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("# benchmark: every setting comes from the environment\n[defaults]\n")
        kinds = [("before", checkout(workdir, "before", args.before)), ("after", checkout(workdir, "after", None))]
        with runner.Simulator() as simulator:
            credentials = dict(TREE.API1 if args.api == "1" else TREE.API2, base_url=simulator.url)
            with open(os.path.join(workdir, "loop.yml"), "w") as handle:
                json.dump(playbook(credentials, args.tasks), handle)
            TREE.control(simulator.url, "POST", "/_sim/reset")
            TREE.control(simulator.url, "POST", "/_sim/seed", seed())
            for label, collections in kinds:
                task_seconds, playbook_seconds, requests = run(
                    label, collections, simulator.url, workdir, ansible_playbook, python, args.timeout
                )
                figures[label] = (task_seconds, playbook_seconds, requests)
                print(
                    "%-6s  loop %8.2f s  playbook %8.2f s  requests %d"
                    % (label, task_seconds, playbook_seconds, sum(requests.values())),
                    flush=True,
                )
    except (TREE.BenchError, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print("bench_resolve: %s" % exc, file=sys.stderr)
        return 1
    except runner.SimulatorError as exc:
        print("bench_resolve: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("%d no-change mimecast_group tasks in a 10,000-group directory, API %s.0:" % (args.tasks, args.api))
    for label in ("before", "after"):
        seconds, _playbook, requests = figures[label]
        print("  %-6s %6d requests  %8.2f s  %s" % (label, sum(requests.values()), seconds, json.dumps(requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
