# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What managing many group members costs: requests, items and time of mimecast_group with ``members``.

For each size N (default 1,000 and 5,000) it runs, against the simulator on 127.0.0.1, one playbook per
step: ``set`` N members on an empty group, the same task again, the same members in upper case, then
``add`` one member and ``remove`` one that is absent. For each step it prints the task's wall time (the
bench_timer callback), the requests by path and the items the writes carried (the simulator's counters),
and it times the pure part (validate_members + plan_members) in-process.

It measures and prints; it is not a test and never fails because of a figure. It exits 1 when something did
not work (a task failed, or changed when it should not have) and 2 on bad usage. Results: docs/performance.md.
"""

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from bench_group_vs_uri import ansible_env  # noqa: E402  (the benchmarks' one isolated environment)


def load_simulator():
    spec = importlib.util.spec_from_file_location(
        "mimecast_simulator", os.path.join(ROOT, "tests", "simulator", "mimecast_simulator.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connection(url, api):
    if api == "1":
        config = load_simulator().DEFAULT_CONFIG
        return {
            "base_url": url,
            "access_key": config["access_key"],
            "secret_key": config["secret_key"],
            "app_id": config["app_id"],
            "app_key": config["app_key"],
        }
    return {"base_url": url, "client_id": "mc-sim-client-id", "client_secret": "mc-sim-client-secret"}


def playbook(path, task_args, python):
    play = {
        "name": "bench",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": python},
        "tasks": [{"name": "members", "community.mimecast.mimecast_group": task_args}],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([play], handle)  # JSON is YAML


def run_step(args, env, workdir, server, label, task_args, expect_changed):
    book = os.path.join(workdir, "step.yml")
    timer = os.path.join(workdir, "timer.jsonl")
    if os.path.exists(timer):
        os.remove(timer)
    playbook(book, task_args, args.python)
    server.state.reset_stats()
    started = time.monotonic()
    done = subprocess.run(
        [args.ansible_playbook, book],
        env=dict(env, BENCH_TIMER_OUTPUT=timer),
        cwd=workdir,
        capture_output=True,
        check=False,  # a failure is reported below, with the end of its output
    )
    wall = time.monotonic() - started
    stats = server.state.stats_snapshot()
    if done.returncode != 0:
        sys.stdout.write(done.stdout.decode("utf-8", "replace")[-3000:])
        raise SystemExit("%s: the playbook failed" % label)
    with open(timer, encoding="utf-8") as handle:
        task = [json.loads(line) for line in handle if line.strip()][-1]
    if task["changed"] != expect_changed:
        raise SystemExit("%s: changed=%s, expected %s" % (label, task["changed"], expect_changed))
    return {
        "step": label,
        "task_seconds": task["seconds"],
        "playbook_seconds": wall,
        "requests": stats["total"],
        "by_path": {path.rsplit("/", 1)[-1]: count for path, count in sorted(stats["by_path"].items())},
        "items": {path.rsplit("/", 1)[-1]: count for path, count in sorted(stats["items"].items())},
    }


def time_planner(size, rounds=5):
    """Median seconds of validate_members + plan_members for ``size`` values against ``size`` current ones."""
    from ansible_collections.community.mimecast.plugins.module_utils.members import plan_members, validate_members

    wanted = ["User%06d@Corp.Example" % n for n in range(size)]
    current = ["user%06d@corp.example" % n for n in range(1, size + 1)]
    times = []
    for _round in range(rounds):
        started = time.perf_counter()
        plan_members(current, validate_members({"set": wanted}))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated member counts")
    parser.add_argument("--api", choices=("1", "2"), default="2")
    parser.add_argument("--ansible-playbook", default=shutil.which("ansible-playbook") or "ansible-playbook")
    parser.add_argument("--python", default=None, help="module interpreter (default: ansible-playbook's)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every step per size; medians are printed")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args(argv)
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes numbers separated by commas")
    args.ansible_playbook = shutil.which(args.ansible_playbook) or args.ansible_playbook
    args.ansible_playbook = os.path.abspath(args.ansible_playbook)  # the playbooks run in a temporary directory
    if args.python is None:
        args.python = os.path.join(os.path.dirname(os.path.abspath(args.ansible_playbook)), "python")

    simulator = load_simulator()
    server = simulator.start_server(log_requests=False)
    workdir = tempfile.mkdtemp(prefix="mc-bench-members-")
    results = []
    try:
        collections = os.path.join(workdir, "collections")
        os.makedirs(os.path.join(collections, "ansible_collections", "community"))
        os.symlink(ROOT, os.path.join(collections, "ansible_collections", "community", "mimecast"))
        os.makedirs(os.path.join(workdir, "tmp"))
        with open(os.path.join(workdir, "ansible.cfg"), "w", encoding="utf-8") as handle:
            handle.write("[defaults]\ninventory = localhost,\n")
        env = ansible_env(workdir, collections, False, os.path.join(workdir, "remote-tmp"))
        sys.path.insert(0, collections)
        auth = connection(server.url, args.api)
        for size in sizes:
            wanted = ["user%06d@corp.example" % n for n in range(1, size + 1)]
            steps = [
                ("set %d on an empty group" % size, {"set": wanted}, True),
                ("the same again", {"set": wanted}, False),
                ("the same in upper case", {"set": [v.upper() for v in wanted]}, False),
                ("add 1, remove 1 absent", {"add": ["newcomer@corp.example"], "remove": ["nobody@corp.example"]}, True),
            ]
            rounds = []
            for _round in range(args.rounds):
                server.state.reset()
                server.state.seed({"groups": [{"name": "Bench"}]})
                rounds.append(
                    [
                        run_step(args, env, workdir, server, label, dict(auth, name="Bench", members=members), changed)
                        for label, members, changed in steps
                    ]
                )
            for index in range(len(steps)):
                runs = [one_round[index] for one_round in rounds]
                row = dict(runs[0], size=size, task_seconds=statistics.median(r["task_seconds"] for r in runs))
                row["all_task_seconds"] = [r["task_seconds"] for r in runs]
                results.append(row)
            results.append({"size": size, "step": "planner (pure)", "task_seconds": time_planner(size)})
    finally:
        server.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        "API %s.0, %s, Python %s, median of %d rounds"
        % (args.api, args.ansible_playbook, sys.version.split()[0], args.rounds)
    )
    print("%-28s %8s %10s %9s  %s" % ("step", "members", "task ms", "requests", "requests by path / items written"))
    for row in results:
        detail = ""
        if "by_path" in row:
            written = {k: v for k, v in row["items"].items() if k.endswith("member") and "get-" not in k}
            detail = "%s / %s" % (row["by_path"], written or "-")
        print(
            "%-28s %8d %10.1f %9s  %s"
            % (row["step"][:28], row["size"], row["task_seconds"] * 1000, row.get("requests", "-"), detail)
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
