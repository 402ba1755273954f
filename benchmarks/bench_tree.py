# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: a 111-group tree as one ``community.mimecast.mimecast_group_tree`` task against the same groups
as a loop of ``community.mimecast.mimecast_group`` tasks, side by side in one run, against the simulator.

The tree is ``Bench`` with 10 departments of 10 teams each (1 + 10 + 100 groups), created from an empty
directory. Each round runs both kinds, one after the other, in alternating order (so neither always runs
first), each from an empty directory: the simulator is reset, the kind's playbook runs, and its counters and
its tree are read. The wall time of the kind's one task (the loop counts as one task) is taken by
benchmarks/callback_plugins/bench_timer.py, from the task's start to its result. Printed: the wall time of
each kind per round, their medians, the ratio tree / loop (the issue's target: at most 10 %), and the
requests each kind sent.

It measures and prints; it is not a test and never fails on a figure. It exits 1 when something did not
work (the simulator did not start, a task failed, a kind did not leave exactly the 111 groups) and 2 on bad
usage. The simulator is started through tests/ci/simulator.py's ``Simulator``.

Run: ``python3 benchmarks/bench_tree.py --ansible-playbook .nox/bench/bin/ansible-playbook``.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ROOT_NAME = "Bench"
DEPARTMENTS = ["Dept %02d" % d for d in range(10)]
TEAMS = ["Team %02d" % t for t in range(10)]

API1 = {
    "access_key": "mc-sim-access-key",
    "secret_key": base64.b64encode(b"mimecast-simulator-secret-key-0001").decode("ascii"),
    "app_id": "mc-sim-app-id",
    "app_key": "mc-sim-app-key",
}
API2 = {"client_id": "mc-sim-client-id", "client_secret": "mc-sim-client-secret"}


class BenchError(RuntimeError):
    pass


def load_simulator_runner():
    """tests/ci/simulator.py, loaded by path (it is a script, not a package)."""
    path = os.path.join(REPO, "tests", "ci", "simulator.py")
    spec = importlib.util.spec_from_file_location("mimecast_ci_simulator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_paths():
    paths = [ROOT_NAME]
    for department in DEPARTMENTS:
        paths.append("%s/%s" % (ROOT_NAME, department))
        paths.extend("%s/%s/%s" % (ROOT_NAME, department, team) for team in TEAMS)
    return sorted(paths)


def playbooks(credentials):
    """The two playbooks, as JSON (which is YAML): one timed task each."""
    defaults = {"group/community.mimecast.mimecast": credentials}
    play = {"hosts": "localhost", "connection": "local", "gather_facts": False, "module_defaults": defaults}
    groups = ["%s/%s" % (d, t) for d in DEPARTMENTS for t in TEAMS]
    tree = dict(
        play, tasks=[{"name": "tree", "community.mimecast.mimecast_group_tree": {"root": ROOT_NAME, "groups": groups}}]
    )
    # Parents first: the root, then the departments, then the teams, as a playbook author would loop.
    items = [["", ROOT_NAME]] + [[ROOT_NAME, d] for d in DEPARTMENTS]
    items += [["%s/%s" % (ROOT_NAME, d), t] for d in DEPARTMENTS for t in TEAMS]
    loop = dict(
        play,
        tasks=[
            {
                "name": "loop",
                "community.mimecast.mimecast_group": {
                    "name": "{{ item.1 }}",
                    "parent": "{{ item.0 | default(omit, true) }}",
                },
                "loop": items,
                "loop_control": {"label": "{{ item | join('/') }}"},
            }
        ],
    )
    return {"tree": [tree], "loop": [loop]}


def control(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the simulator on 127.0.0.1
        return json.loads(answer.read())


def ansible_env(workdir, timer_output, python):
    """Nothing from the caller's ANSIBLE_*, MIMECAST_* or proxy variables; every temporary file in workdir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANSIBLE_", "MIMECAST_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(
        ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=os.path.join(workdir, "checkout"),
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="bench_timer",
        ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "local-tmp"),
        ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"),
        ANSIBLE_PYTHON_INTERPRETER=python,
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        TMPDIR=os.path.join(workdir, "tmp"),
        PYTHONDONTWRITEBYTECODE="1",
        BENCH_TIMER_OUTPUT=timer_output,
    )
    return env


def timed_playbook(ansible_playbook, playbook, env, timeout, task, label):
    """Run ``playbook`` with the bench_timer callback (``env`` from ansible_env); return (seconds of its task named
    ``task``, seconds of the whole ansible-playbook). BenchError when it fails or that task was not timed once."""
    timer_output = env["BENCH_TIMER_OUTPUT"]
    if os.path.exists(timer_output):
        os.remove(timer_output)
    started = time.perf_counter()
    completed = subprocess.run(
        [ansible_playbook, "-i", "localhost,", playbook],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    playbook_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchError("the %s playbook failed:\n%s" % (label, completed.stdout.decode(errors="replace")[-3000:]))
    with open(timer_output, encoding="utf-8") as handle:
        timed = [json.loads(line) for line in handle if line.strip()]
    found = [entry for entry in timed if entry["task"] == task]
    if len(found) != 1 or found[0]["status"] != "ok":
        raise BenchError("the %s task was not timed once: %s" % (label, timed))
    return found[0]["seconds"], playbook_seconds


def run_kind(kind, url, workdir, ansible_playbook, python, timeout):
    """Run one kind from an empty directory; return (task seconds, playbook seconds, requests by path)."""
    control(url, "POST", "/_sim/reset")
    env = ansible_env(workdir, os.path.join(workdir, "timer-%s.jsonl" % kind), python)
    task_seconds, playbook_seconds = timed_playbook(
        ansible_playbook, os.path.join(workdir, "%s.yml" % kind), env, timeout, kind, kind
    )
    stats = control(url, "GET", "/_sim/stats")
    paths = sorted(group["path"] for group in control(url, "GET", "/_sim/groups")["groups"])
    if paths != expected_paths():
        raise BenchError("the %s kind left %d groups, not exactly the 111 wanted" % (kind, len(paths)))
    return task_seconds, playbook_seconds, stats["by_path"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ansible-playbook", help="ansible-playbook to run (default: the one on PATH)")
    parser.add_argument("--python", help="the modules' Python (default: the one next to ansible-playbook)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both kinds, order alternating (default 2)")
    parser.add_argument("--api", choices=["1", "2"], default="1", help="API 1.0 keys or API 2.0 client (default 1)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per playbook (default 900)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    ansible_playbook = args.ansible_playbook or shutil.which("ansible-playbook")
    if not ansible_playbook or args.rounds < 1:
        parser.error("give --ansible-playbook (none on PATH) and --rounds of 1 or more")
    ansible_playbook = os.path.abspath(ansible_playbook)
    python = os.path.abspath(args.python) if args.python else os.path.join(os.path.dirname(ansible_playbook), "python")

    runner = load_simulator_runner()
    workdir = tempfile.mkdtemp(prefix="mimecast-bench-tree-")
    figures = {"tree": [], "loop": [], "playbook": {"tree": [], "loop": []}, "requests": {}}
    try:
        for sub in ("tmp", "local-tmp", "remote-tmp"):
            os.makedirs(os.path.join(workdir, sub))
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("# benchmark: every setting comes from the environment\n[defaults]\n")
        namespace = os.path.join(workdir, "checkout", "ansible_collections", "community")
        os.makedirs(namespace)
        os.symlink(REPO, os.path.join(namespace, "mimecast"))
        with runner.Simulator() as simulator:
            credentials = dict(API1 if args.api == "1" else API2, base_url=simulator.url)
            for kind, playbook in playbooks(credentials).items():
                with open(os.path.join(workdir, "%s.yml" % kind), "w") as handle:
                    json.dump(playbook, handle)
            for round_number in range(args.rounds):
                order = ["tree", "loop"] if round_number % 2 == 0 else ["loop", "tree"]
                for kind in order:
                    task_seconds, playbook_seconds, requests = run_kind(
                        kind, simulator.url, workdir, ansible_playbook, python, args.timeout
                    )
                    figures[kind].append(task_seconds)
                    figures["playbook"][kind].append(playbook_seconds)
                    figures["requests"][kind] = requests
                    print(
                        "round %d  %-4s  task %7.2f s  playbook %7.2f s  requests %d"
                        % (round_number + 1, kind, task_seconds, playbook_seconds, sum(requests.values())),
                        flush=True,
                    )
    except (BenchError, subprocess.TimeoutExpired, OSError, runner.SimulatorError) as exc:
        print("bench_tree: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    tree, loop = statistics.median(figures["tree"]), statistics.median(figures["loop"])
    print()
    print("111 groups from empty, API %s.0, %d round(s), median task wall time:" % (args.api, args.rounds))
    print("  mimecast_group_tree, one task      %8.2f s" % tree)
    print("  mimecast_group, a loop of 111 tasks %7.2f s" % loop)
    print("  tree / loop                        %8.1f %%  (target: at most 10 %%)" % (100 * tree / loop))
    for kind in ("tree", "loop"):
        requests = figures["requests"][kind]
        print("  requests, %-4s: %d  %s" % (kind, sum(requests.values()), json.dumps(requests, sort_keys=True)))
    if args.json:
        figures["ratio"] = tree / loop
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
