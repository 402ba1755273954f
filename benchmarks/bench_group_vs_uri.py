# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: a no-change ``community.mimecast.mimecast_group`` task against ``ansible.builtin.uri`` tasks that
send the same request, against the Mimecast simulator on 127.0.0.1 (started by tests/ci/simulator.py).

It prints figures and never fails on one. It exits 1 only when something did not work (a task failed, a
mimecast_group task changed something or sent other requests than docs/requests.md says, the time limit ran
out) and 2 on bad usage. Two phases:

1. Requests per task: each kind alone in a one-task playbook, the simulator's counters reset around it.
2. Task wall time: per API version one play that alternates the kinds (their order rotated every round, after
   an untimed warm-up round); benchmarks/callback_plugins/bench_timer.py times each task. ansible.builtin.ping
   runs among them as the floor any task pays.

The kinds: ``group`` (mimecast_group, name=Finance, which exists at the root; with API 2.0 it reuses the run's
token, fetched by the first of them); ``group-fresh`` (API 2.0: the same with ``reuse_token: false``, a token
per task, as every task did before tokens were kept for the run); ``uri`` (API 1.0: the same
find-groups POST, signed per task by benchmarks/filter_plugins/mimecast_bench_sign.py); ``uri-cached`` (API
2.0: a bearer token fetched once before the play); ``uri-pair`` (API 2.0: a token task plus a POST task, the
same two requests as the module, timed as their sum); ``ping``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "ci"))

from simulator import CREDENTIALS, Simulator  # noqa: E402 (tests/ci is not a package)

FIND_PATH = "/api/directory/find-groups"
TOKEN_PATH = "/oauth/token"
# Exactly what mimecast_group sends for the listing, so the simulator answers the same bytes to both kinds.
FIND_BODY = {"data": [{}], "meta": {"pagination": {"pageSize": 100}}}
API1 = {key: CREDENTIALS[key] for key in ("access_key", "secret_key", "app_id", "app_key")}
API2 = {key: CREDENTIALS[key] for key in ("client_id", "client_secret")}

# Requests of one task (one unit) of each kind: mimecast_group's as docs/requests.md states, uri's by construction.
EXPECTED = {
    ("1", "group"): {FIND_PATH: 1},
    ("1", "uri"): {FIND_PATH: 1},
    ("1", "ping"): {},
    ("2", "group"): {TOKEN_PATH: 1, FIND_PATH: 1},  # alone, a one-task run: it fetches the run's token
    ("2", "group-fresh"): {TOKEN_PATH: 1, FIND_PATH: 1},
    ("2", "uri-cached"): {FIND_PATH: 1},
    ("2", "uri-pair"): {TOKEN_PATH: 1, FIND_PATH: 1},
    ("2", "ping"): {},
}
UNITS = {"1": ["group", "uri", "ping"], "2": ["group", "group-fresh", "uri-cached", "uri-pair", "ping"]}
LABELS = {
    "group": "mimecast_group (no change)",
    "group-fresh": "mimecast_group, reuse_token: false",
    "uri": "uri, signed POST",
    "uri-cached": "uri, bearer, token fetched once",
    "uri-pair": "uri token task + uri POST task",
    "ping": "floor: ansible.builtin.ping",
}


class BenchError(Exception):
    """Something did not work: exit 1."""


def control(url, path, body=None, form=None):
    """Call the simulator (control API or token endpoint) directly, bypassing any proxy."""
    if form is not None:
        data, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    else:
        data, kind = (None if body is None else json.dumps(body).encode()), "application/json"
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": kind})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.load(response)


def unit_tasks(kind, name, url, api, token):
    """The task(s) of one unit; the pair's two tasks are named NAME:token and NAME:find."""
    find = {"url": url + FIND_PATH, "method": "POST", "use_proxy": False, "body_format": "json", "body": FIND_BODY}
    if kind in ("group", "group-fresh"):
        args = dict(API1 if api == "1" else API2, name="Finance", base_url=url)
        if kind == "group-fresh":
            args["reuse_token"] = False
        return [{"name": name, "community.mimecast.mimecast_group": args}]
    if kind == "uri":
        signed = "{{ %s | mimecast_bench_api1_headers(%s) }}" % (
            json.dumps(FIND_PATH),
            ", ".join(json.dumps(API1[key]) for key in ("access_key", "secret_key", "app_id", "app_key")),
        )
        return [{"name": name, "ansible.builtin.uri": dict(find, headers=signed)}]
    if kind == "uri-cached":
        return [{"name": name, "ansible.builtin.uri": dict(find, headers={"Authorization": "Bearer " + token})}]
    if kind == "uri-pair":
        form = dict(API2, grant_type="client_credentials")
        token_args = {"url": url + TOKEN_PATH, "method": "POST", "use_proxy": False}
        token_args.update(body_format="form-urlencoded", body=form)
        bearer = {"Authorization": "Bearer {{ bench_token.json.access_token }}"}
        return [
            {"name": name + ":token", "ansible.builtin.uri": token_args, "register": "bench_token"},
            {"name": name + ":find", "ansible.builtin.uri": dict(find, headers=bearer)},
        ]
    return [{"name": name, "ansible.builtin.ping": {}}]


class Bench:
    def __init__(self, args, workdir, url):
        self.args = args
        self.workdir = workdir
        self.url = url
        self.failures = []
        collections = os.path.join(workdir, "collections")
        os.makedirs(os.path.join(collections, "ansible_collections", "community"))
        os.symlink(REPO, os.path.join(collections, "ansible_collections", "community", "mimecast"))
        # Nothing from the caller's Ansible or proxy settings; every temporary file under workdir.
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ANSIBLE_", "MIMECAST_")) and "proxy" not in key.lower()
        }
        self.env.update(
            ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=collections,
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="bench_timer",
            ANSIBLE_FILTER_PLUGINS=os.path.join(HERE, "filter_plugins"),
            ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "local-tmp"),
            ANSIBLE_REMOTE_TMP=os.path.join(workdir, "remote-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            TMPDIR=os.path.join(workdir, "tmp"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        open(self.env["ANSIBLE_CONFIG"], "w").close()
        os.makedirs(self.env["TMPDIR"])
        self.deadline = time.monotonic() + args.timeout

    def run_play(self, label, tasks, timer_output=None):
        """Run one play on localhost (its own process group, stopped whole on a timeout)."""
        playbook = os.path.join(self.workdir, label + ".yml")
        play = {"name": label, "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}
        play["vars"] = {"ansible_python_interpreter": self.args.python or "{{ ansible_playbook_python }}"}
        with open(playbook, "w") as handle:
            json.dump([play], handle, indent=1)  # JSON is YAML
        env = dict(self.env, BENCH_TIMER_OUTPUT=timer_output or os.devnull)
        with open(playbook + ".log", "w") as log:
            process = subprocess.Popen(
                [self.args.ansible_playbook, "-i", "localhost,", playbook],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                process.wait(timeout=max(1.0, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise BenchError("time limit reached during %s (raise --timeout)" % label) from None
        if process.returncode:
            with open(playbook + ".log") as handle:
                raise BenchError(
                    "%s: ansible-playbook exited with %s:\n%s" % (label, process.returncode, handle.read()[-4000:])
                )

    def counts(self):
        stats = control(self.url, "/_sim/stats")
        problems = ["%s=%s" % (key, stats[key]) for key in ("writes", "rejected", "rate_limited") if stats.get(key)]
        if problems:
            raise BenchError("the simulator counted %s" % ", ".join(problems))
        return {path: n for path, n in stats["by_path"].items() if n}

    def alone(self, api, token):
        """Phase 1: what one task of each kind sends."""
        for kind in UNITS[api][:-1]:
            control(self.url, "/_sim/stats/reset", {})
            self.run_play("alone-api%s-%s" % (api, kind), unit_tasks(kind, kind, self.url, api, token))
            counts, expected = self.counts(), EXPECTED[(api, kind)]
            verdict = "as expected" if counts == expected else "EXPECTED %s" % expected
            print("API %s.0  %-32s %-40s %s" % (api, LABELS[kind], describe(counts), verdict))
            if counts != expected:
                self.failures.append("API %s.0 %s sent %s, expected %s" % (api, kind, counts, expected))

    def timed(self, api, token):
        """Phase 2: the kinds alternate in one play; returns the figures."""
        units = UNITS[api]
        tasks = [task for kind in units for task in unit_tasks(kind, kind + " warmup", self.url, api, token)]
        for round_no in range(self.args.tasks):
            shift = round_no % len(units)
            for kind in units[shift:] + units[:shift]:
                tasks.extend(unit_tasks(kind, "%s #%d" % (kind, round_no), self.url, api, token))
        timer_output = os.path.join(self.workdir, "timed-api%s.jsonl" % api)
        control(self.url, "/_sim/stats/reset", {})
        self.run_play("timed-api%s" % api, tasks, timer_output)
        counts = self.counts()
        with open(timer_output) as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
        if len(entries) != len(tasks):
            raise BenchError("API %s.0: %d task timings for %d tasks" % (api, len(entries), len(tasks)))
        seconds = {kind: {} for kind in units}
        for entry in entries:
            kind, label = entry["task"].split(" ", 1)
            if entry["status"] != "ok" or (kind.startswith("group") and entry["changed"]):
                raise BenchError(
                    "task %r: %s, changed=%s %s"
                    % (entry["task"], entry["status"], entry["changed"], entry.get("msg", ""))
                )
            if label.startswith("#"):
                round_no = int(label[1:].split(":")[0])
                seconds[kind][round_no] = seconds[kind].get(round_no, 0.0) + entry["seconds"]
        # mimecast_group's requests: all the simulator counted less what the uri kinds send by construction.
        rounds = self.args.tasks + 1
        group_counts = dict(counts)
        for kind in units[1:]:
            for path, n in EXPECTED[(api, kind)].items():
                group_counts[path] = group_counts.get(path, 0) - n * rounds
        per_task = {path: n / rounds for path, n in group_counts.items() if n}
        expected = dict(EXPECTED[(api, "group")])
        if TOKEN_PATH in expected:
            expected[TOKEN_PATH] = 1 / rounds  # one token for the whole run, fetched by its first group task
        if per_task != expected:
            self.failures.append("API %s.0: mimecast_group sent %s per task, expected %s" % (api, per_task, expected))

        result = {"api": api, "n": self.args.tasks, "simulator_requests": counts, "kinds": {}, "ratios": {}}
        print("\n== API %s.0: task wall time, N=%d per kind, alternating ==" % (api, self.args.tasks))
        print("%-34s %10s %10s %10s %10s" % ("kind", "median ms", "p90 ms", "min ms", "mean ms"))
        for kind in units:
            values = [seconds[kind][r] for r in sorted(seconds[kind])]
            figures = {
                "median": statistics.median(values),
                "p90": sorted(values)[max(0, -(-9 * len(values) // 10) - 1)],
                "min": min(values),
                "mean": statistics.fmean(values),
                "seconds": values,
            }
            result["kinds"][kind] = figures
            row = [figures[key] * 1000 for key in ("median", "p90", "min", "mean")]
            print("%-34s %10.1f %10.1f %10.1f %10.1f" % (LABELS[kind], *row))
        group = seconds["group"]
        for kind in units[1:-1]:
            of_medians = result["kinds"]["group"]["median"] / result["kinds"][kind]["median"]
            per_round = statistics.median(group[r] / seconds[kind][r] for r in group)
            result["ratios"][kind] = {"of_medians": of_medians, "median_of_round_ratios": per_round}
            print(
                "mimecast_group / %s: %.2f (of medians), %.2f (median of per-round ratios)"
                % (LABELS[kind], of_medians, per_round)
            )
        print(
            "simulator requests (warm-up included): %s; mimecast_group per task: %s"
            % (describe(counts), describe(per_task))
        )
        return result


def describe(counts):
    return ", ".join("%g %s" % (n, path.rsplit("/", 1)[-1]) for path, n in sorted(counts.items())) or "none"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--tasks", type=int, default=20, help="timed tasks of each kind (default 20)")
    parser.add_argument("--api", choices=("1", "2", "both"), default="both", help="API version(s) (default both)")
    parser.add_argument(
        "--ansible-playbook", default="ansible-playbook", metavar="PATH", help="ansible-playbook to use"
    )
    parser.add_argument("--python", metavar="PATH", help="the modules' interpreter (default: ansible-playbook's own)")
    parser.add_argument("--timeout", type=float, help="seconds for the whole run (default 120 + 6 per timed task)")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error("--tasks must be 1 or more")
    args.timeout = args.timeout or 120 + 6 * args.tasks
    found = shutil.which(args.ansible_playbook)
    if not found:
        parser.error("no ansible-playbook at %s" % args.ansible_playbook)
    args.ansible_playbook = os.path.abspath(found)

    apis = ["1", "2"] if args.api == "both" else [args.api]
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    workdir = tempfile.mkdtemp(prefix="mimecast-bench-")
    try:
        with Simulator() as simulator:
            bench = Bench(args, workdir, simulator.url)
            control(simulator.url, "/_sim/seed", {"groups": [{"name": "Finance"}]})
            token = control(simulator.url, TOKEN_PATH, form=dict(API2, grant_type="client_credentials"))["access_token"]
            print("== Requests per task, each kind alone ==")
            for api in apis:
                bench.alone(api, token)
            results = [bench.timed(api, token) for api in apis]
    except BenchError as exc:
        print("bench_group_vs_uri.py: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {"ansible_playbook": args.ansible_playbook, "results": results, "failures": bench.failures},
                handle,
                indent=1,
            )
    for failure in bench.failures:
        print("bench_group_vs_uri.py: %s" % failure, file=sys.stderr)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
