# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: what the controller's per-tenant lock costs a no-change ``mimecast_group`` task.

One play runs the same no-change task (``name: Finance``, which exists) N times through the lock and N times
without it, alternating (the order swaps every round, after one untimed warm-up round), against the
simulator on 127.0.0.1 (tests/ci/simulator.py's ``Simulator``). "Without it" is the very same module file
run by Ansible's default action: a throw-away collection ``benchlock.unrouted`` in the work directory holds a
symlink to plugins/modules/mimecast_group.py and no action plugin, so only the action plugin differs (its
module_utils come from this checkout either way). A callback in the work directory times each task from its
start to its last result.

With ``--hosts H`` (and as many forks) each task runs for H inventory hosts at once: the lock then makes
them take turns, which is the price of never creating a group twice, and the figure shows it.

It measures and prints; it never fails on a figure. It exits 1 when something did not work (a task failed or
changed something, a locked task left no lock file, the simulator counted a write) and 2 on bad usage.

    python3 benchmarks/bench_lock.py -n 30 --ansible-playbook .nox/bench/bin/ansible-playbook
"""

from __future__ import annotations

import argparse
import glob
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
sys.path.insert(0, os.path.join(REPO, "tests", "ci"))

from simulator import CREDENTIALS, Simulator  # noqa: E402 - tests/ci is not a package

GROUP = "Finance"
KINDS = ("lock", "unrouted")
MODULES = {"lock": "community.mimecast.mimecast_group", "unrouted": "benchlock.unrouted.mimecast_group"}
API_OPTIONS = {
    "1": ("access_key", "secret_key", "app_id", "app_key"),
    "2": ("client_id", "client_secret"),
}
# One JSON line per task: its name and the seconds from its start to its last host's result.
TIMER = """
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_lock_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._task = None

    def _flush(self):
        if self._task is not None:
            with open(os.environ["BENCH_LOCK_OUTPUT"], "a") as handle:
                handle.write(json.dumps(self._task) + "\\n")
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._flush()
        self._task = {"task": task.get_name(), "start": time.perf_counter(), "seconds": None, "results": []}

    def _result(self, result, status):
        self._task["seconds"] = time.perf_counter() - self._task["start"]
        self._task["results"].append({"status": status, "changed": bool(result._result.get("changed"))})

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._flush()
"""


class BenchError(Exception):
    """Something did not work: exit 1."""


def control(url, path, body=None):
    """Call the simulator's control API, never through a proxy."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url + path, data=data, method="POST" if data else "GET", headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def make_workdir(workdir):
    """The collections path (this checkout and the unrouted copy of the module), the timer callback."""
    namespace = os.path.join(workdir, "collections", "ansible_collections")
    os.makedirs(os.path.join(namespace, "community"))
    os.symlink(REPO, os.path.join(namespace, "community", "mimecast"))
    unrouted = os.path.join(namespace, "benchlock", "unrouted")
    os.makedirs(os.path.join(unrouted, "plugins", "modules"))
    os.makedirs(os.path.join(unrouted, "meta"))
    with open(os.path.join(unrouted, "meta", "runtime.yml"), "w") as handle:
        handle.write('---\nrequires_ansible: ">=2.16.0"\n')
    os.symlink(
        os.path.join(REPO, "plugins", "modules", "mimecast_group.py"),
        os.path.join(unrouted, "plugins", "modules", "mimecast_group.py"),
    )
    os.makedirs(os.path.join(workdir, "callbacks"))
    with open(os.path.join(workdir, "callbacks", "bench_lock_timer.py"), "w") as handle:
        handle.write(TIMER)
    for name in ("local-tmp", "tmp"):
        os.makedirs(os.path.join(workdir, name))
    with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
        handle.write("# empty: the settings are in the environment of the run\n")


def write_play(workdir, url, api, rounds, hosts):
    args = dict((k, CREDENTIALS[k]) for k in API_OPTIONS[api])
    args.update(name=GROUP, base_url=url)
    tasks = []
    for number in range(rounds + 1):  # round 0 is the warm-up
        order = KINDS if number % 2 else tuple(reversed(KINDS))
        for kind in order:
            tasks.append({"name": "%s %d" % (kind, number), MODULES[kind]: args})
    play = [{"name": "lock cost", "hosts": "sites", "gather_facts": False, "tasks": tasks}]
    inventory = "[sites]\n%s\n\n[sites:vars]\nansible_connection=local\n" % "\n".join(
        "site%d" % i for i in range(1, hosts + 1)
    )
    inventory += "ansible_python_interpreter={{ ansible_playbook_python }}\n"
    with open(os.path.join(workdir, "play.yml"), "w") as handle:
        json.dump(play, handle, indent=1)  # JSON is YAML
    with open(os.path.join(workdir, "inventory.ini"), "w") as handle:
        handle.write(inventory)


def run_play(ansible_playbook, workdir, hosts, timeout):
    env = dict(
        (k, v)
        for k, v in os.environ.items()
        if not k.startswith(("ANSIBLE_", "MIMECAST_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    )
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.path.join(workdir, "collections"),
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(workdir, "callbacks"),
        ANSIBLE_CALLBACKS_ENABLED="bench_lock_timer",
        ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "local-tmp"),
        ANSIBLE_FORKS=str(hosts),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"),
        BENCH_LOCK_OUTPUT=os.path.join(workdir, "times.jsonl"),
        NO_PROXY="127.0.0.1,localhost",
        TMPDIR=os.path.join(workdir, "tmp"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    with open(os.path.join(workdir, "play.log"), "w") as log:
        try:
            result = subprocess.run(
                [ansible_playbook, "-i", "inventory.ini", "play.yml"],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchError("the play ran out of time (%ss); raise --timeout" % timeout) from None
    if result.returncode != 0:
        with open(os.path.join(workdir, "play.log")) as log:
            raise BenchError("ansible-playbook exited with %s:\n%s" % (result.returncode, log.read()[-3000:]))
    with open(os.path.join(workdir, "times.jsonl")) as handle:
        return [json.loads(line) for line in handle]


def summarise(records, hosts):
    times = dict((kind, []) for kind in KINDS)
    per_round = {}
    for record in records:
        kind, number = record["task"].split()
        results = record["results"]
        if len(results) != hosts or any(r["status"] != "ok" or r["changed"] for r in results):
            raise BenchError("task %r did not end unchanged on every host: %s" % (record["task"], results))
        if number == "0":
            continue  # warm-up
        times[kind].append(record["seconds"])
        per_round.setdefault(number, {})[kind] = record["seconds"]
    ratios = [r["lock"] / r["unrouted"] for r in per_round.values()]
    return times, ratios


def lock_work(workdir, url, api, repeats=2000):
    """Median seconds of the lock's own work in one task: the tenant key, then taking and releasing the lock."""
    sys.path.insert(0, os.path.join(workdir, "collections"))
    from ansible_collections.community.mimecast.plugins.module_utils.credentials import tenant_key
    from ansible_collections.community.mimecast.plugins.plugin_utils.tenant_lock import lock_path, tenant_lock

    args = dict((k, CREDENTIALS[k]) for k in API_OPTIONS[api])
    args.update(name=GROUP, base_url=url)
    environ = dict(os.environ)
    samples = []
    while len(samples) < repeats:
        started = time.perf_counter()
        with tenant_lock(lock_path(os.path.join(workdir, "tmp"), tenant_key(args, environ))):
            pass
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=30, help="timed tasks of each kind (default 30)")
    parser.add_argument("--api", choices=("1", "2"), default="1", help="credential kind (default 1: one request)")
    parser.add_argument("--hosts", type=int, default=1, help="inventory hosts, with as many forks (default 1)")
    parser.add_argument("--ansible-playbook", default="ansible-playbook", help="ansible-playbook to run")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds for the whole play (default 1800)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.rounds < 1 or args.hosts < 1:
        parser.error("--rounds and --hosts must be at least 1")

    workdir = tempfile.mkdtemp(prefix="bench-lock-")
    try:
        make_workdir(workdir)
        with Simulator() as sim:
            control(sim.url, "/_sim/seed", {"groups": [{"name": GROUP}]})
            write_play(workdir, sim.url, args.api, args.rounds, args.hosts)
            records = run_play(
                os.path.abspath(shutil.which(args.ansible_playbook) or args.ansible_playbook),
                workdir,
                args.hosts,
                args.timeout,
            )
            stats = control(sim.url, "/_sim/stats")
        locks = glob.glob(os.path.join(workdir, "local-tmp", "community.mimecast-tenant-*.lock"))
        if len(locks) != 1:
            raise BenchError("expected one tenant lock file in the local temporary directory, found %s" % locks)
        if stats["writes"]:
            raise BenchError("the simulator counted %s write(s): a task was not a no-change task" % stats["writes"])
        times, ratios = summarise(records, args.hosts)
        work = lock_work(workdir, sim.url, args.api)
    except BenchError as exc:
        print("bench_lock: FAILED: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print("bench_lock: work directory kept: %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(
        "no-change mimecast_group task, API %s.0, %d host(s) with %d fork(s), N = %d of each, wall time in ms"
        % (args.api, args.hosts, args.hosts, args.rounds)
    )
    print("load average: %s" % ", ".join("%.2f" % load for load in os.getloadavg()))
    print("%-34s %8s %8s %8s" % ("", "median", "min", "max"))
    for kind, label in (("lock", "with the lock (action plugin)"), ("unrouted", "without it (default action)")):
        values = times[kind]
        print(
            "%-34s %8.1f %8.1f %8.1f"
            % (label, 1000 * statistics.median(values), 1000 * min(values), 1000 * max(values))
        )
    ratio = statistics.median(times["lock"]) / statistics.median(times["unrouted"])
    print(
        "ratio of the medians: %.3f (%+.1f %%); median of the per-round ratios: %.3f"
        % (ratio, 100 * (ratio - 1), statistics.median(ratios))
    )
    print(
        "the lock's own work per task (tenant key, lock, unlock; median of 2000 in this process): %.1f us"
        % (1e6 * work)
    )
    print("simulator: %s API requests, %s writes" % (stats["total"], stats["writes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
