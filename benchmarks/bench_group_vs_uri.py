# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark: no-change tasks of the three modules against ``ansible.builtin.uri`` tasks that send the same
request, against the Mimecast simulator on 127.0.0.1 (started by tests/ci/simulator.py).

It prints figures and never fails on one. It exits 1 only when something did not work (a task failed, a
module task changed something or sent other requests than docs/requests.md says, the time limit ran out) and
2 on bad usage.

The directory: ``Finance`` at the root and a 10-group tree (``Bench tree`` and its 9 teams), 11 groups, one
listing page. The kinds: ``group`` (mimecast_group, name=Finance), ``info`` (mimecast_group_info, no filter:
every group), ``tree`` (mimecast_group_tree of the 10 groups, no change), ``uri`` and ``ping``
(ansible.builtin.ping, the floor every task pays). Each module sends one request here, the first page of the
listing, with the same body (``client.paginate``'s first page); ``uri`` sends exactly that body, so one ``uri``
kind is the counterpart of all three. With API 1.0 keys each ``uri`` task is signed when it is templated
(benchmarks/filter_plugins/mimecast_bench_sign.py); with API 2.0 it carries a bearer token fetched once before
the play, and the modules use the run's token (fetched by the warm-up's first module task).

1. Requests per task and payload sizes: each kind alone in a one-task playbook, the simulator's counters reset
   around it, its AnsiballZ payload kept (ANSIBLE_KEEP_REMOTE_FILES=1) and measured.
2. Task wall time: ``--repeats`` repetitions (default 5); in each, per API version, one play runs an untimed
   warm-up round and then ``-n`` rounds (default 15) of every kind, the order rotated every round;
   benchmarks/callback_plugins/bench_timer.py times each task. Per repetition: each module's median over
   uri's median; then the median of those ratios.

``--profile`` instead breaks one no-change mimecast_group task into phases (benchmarks/phase_timer.py): the
controller's side from timers around Ansible's task machinery, the module process's from direct runs of the
kept payload (its marks, and ``-X importtime``), with ansible.builtin.ping beside it as the floor.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
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
# Exactly what the modules send for the listing's first page, so the simulator answers the same bytes to every kind.
FIND_BODY = {"data": [{}], "meta": {"pagination": {"pageSize": 100}}}
API1 = {key: CREDENTIALS[key] for key in ("access_key", "secret_key", "app_id", "app_key")}
API2 = {key: CREDENTIALS[key] for key in ("client_id", "client_secret")}
TREE_ROOT = "Bench tree"
TREE_GROUPS = ["Team %d" % n for n in range(1, 10)]
DIRECTORY = [{"name": "Finance"}, {"name": TREE_ROOT}] + [{"name": name, "parent": TREE_ROOT} for name in TREE_GROUPS]
MODULES = {
    "group": ("community.mimecast.mimecast_group", {"name": "Finance"}),
    "info": ("community.mimecast.mimecast_group_info", {}),
    "tree": ("community.mimecast.mimecast_group_tree", {"root": TREE_ROOT, "groups": TREE_GROUPS}),
}
KINDS = ["group", "info", "tree", "uri", "ping"]
LABELS = {
    "group": "mimecast_group (no change)",
    "info": "mimecast_group_info (every group)",
    "tree": "mimecast_group_tree (10 groups)",
    "uri": "uri, the same find-groups POST",
    "ping": "floor: ansible.builtin.ping",
}
PAYLOADS = {"group": "mimecast_group", "info": "mimecast_group_info", "tree": "mimecast_group_tree", "uri": "uri"}
PAYLOADS["ping"] = "ping"
TARGET = 0.95


def expected(api, kind):
    """Requests of one task of ``kind`` run alone, as docs/requests.md states (uri's by construction)."""
    if kind == "ping":
        return {}
    if kind in MODULES and api == "2":
        return {TOKEN_PATH: 1, FIND_PATH: 1}  # alone, a one-task run: it fetches the run's token
    return {FIND_PATH: 1}


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


def task(kind, name, url, api, token):
    """One task of ``kind``."""
    if kind in MODULES:
        module, args = MODULES[kind]
        return {"name": name, module: dict(API1 if api == "1" else API2, base_url=url, **args)}
    if kind == "uri":
        find = {"url": url + FIND_PATH, "method": "POST", "use_proxy": False, "body_format": "json", "body": FIND_BODY}
        if api == "1":
            keys = ", ".join(json.dumps(API1[key]) for key in ("access_key", "secret_key", "app_id", "app_key"))
            find["headers"] = "{{ %s | mimecast_bench_api1_headers(%s) }}" % (json.dumps(FIND_PATH), keys)
        else:
            find["headers"] = {"Authorization": "Bearer " + token}
        return {"name": name, "ansible.builtin.uri": find}
    return {"name": name, "ansible.builtin.ping": {}}


def rounds_of(kinds, rounds, url, api, token):
    """An untimed warm-up round, then ``rounds`` rounds of every kind, the order rotated every round."""
    tasks = [task(kind, kind + " warmup", url, api, token) for kind in kinds]
    for round_no in range(rounds):
        shift = round_no % len(kinds)
        tasks.extend(task(kind, "%s #%d" % (kind, round_no), url, api, token) for kind in kinds[shift:] + kinds[:shift])
    return tasks


def percentile90(values):
    return sorted(values)[max(0, -(-9 * len(values) // 10) - 1)]


def median_ms(values):
    return None if not values else statistics.median(values) * 1000


def interpreter_of(script):
    """The Python that runs a console script (its shebang), else the python beside it."""
    with open(script, "rb") as handle:
        first = handle.readline().decode("utf-8", "replace")
    if first.startswith("#!") and "python" in first:
        return first[2:].strip().split()[0]
    return os.path.join(os.path.dirname(script), "python")


class Bench:
    def __init__(self, args, workdir, url):
        self.args = args
        self.workdir = workdir
        self.url = url
        self.failures = []
        self.payloads = {}
        self.sizes = {}
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

    def remaining(self):
        return max(1.0, self.deadline - time.monotonic())

    def run_play(self, label, tasks, timer_output=None, env=None, launcher=()):
        """Run one play on localhost (its own process group, stopped whole on a timeout)."""
        playbook = os.path.join(self.workdir, label + ".yml")
        play = {"name": label, "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}
        play["vars"] = {"ansible_python_interpreter": self.args.python or "{{ ansible_playbook_python }}"}
        with open(playbook, "w") as handle:
            json.dump([play], handle, indent=1)  # JSON is YAML
        env = dict(self.env, BENCH_TIMER_OUTPUT=timer_output or os.devnull, **(env or {}))
        with open(playbook + ".log", "w") as log:
            process = subprocess.Popen(
                [*launcher, self.args.ansible_playbook, "-i", "localhost,", playbook],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                process.wait(timeout=self.remaining())
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

    def timings(self, path, count):
        with open(path) as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
        if len(entries) != count:
            raise BenchError("%s: %d task timings for %d tasks" % (os.path.basename(path), len(entries), count))
        for entry in entries:
            if entry["status"] != "ok" or (entry["task"].split(" ")[0] in MODULES and entry["changed"]):
                raise BenchError(
                    "task %r: %s, changed=%s %s"
                    % (entry["task"], entry["status"], entry["changed"], entry.get("msg", ""))
                )
        return entries

    def alone(self, api, token, keep):
        """Phase 1: what one task of each kind sends; with ``keep``, its payload is kept and measured."""
        for kind in KINDS:
            label = "alone-api%s-%s" % (api, kind)
            remote = os.path.join(self.workdir, "remote-" + label)
            env = {"ANSIBLE_REMOTE_TMP": remote, "ANSIBLE_KEEP_REMOTE_FILES": "1"} if keep else {}
            control(self.url, "/_sim/stats/reset", {})
            self.run_play(label, [task(kind, kind, self.url, api, token)], env=env)
            counts, wanted = self.counts(), expected(api, kind)
            verdict = "as expected" if counts == wanted else "EXPECTED %s" % describe(wanted)
            print("API %s.0  %-36s %-30s %s" % (api, LABELS[kind], describe(counts), verdict))
            if counts != wanted:
                self.failures.append("API %s.0 %s sent %s, expected %s" % (api, kind, counts, wanted))
            if keep:
                self.payloads[kind] = self.kept_payload(remote, PAYLOADS[kind])

    def kept_payload(self, remote, module):
        for root, _dirs, files in os.walk(remote):
            if "AnsiballZ_%s.py" % module in files:
                return os.path.join(root, "AnsiballZ_%s.py" % module)
        raise BenchError("no AnsiballZ_%s.py kept under %s" % (module, remote))

    def print_payloads(self):
        print("\n== AnsiballZ payloads (kept from the one-task runs), bytes ==")
        print("%-22s %10s %10s" % ("module", "file", "zip"))
        sizes = self.sizes = {}
        for kind in KINDS:
            path = self.payloads[kind]
            with open(path) as handle:
                found = re.search(r"zip_data='([A-Za-z0-9+/=]+)'", handle.read())
            zipped = len(base64.b64decode(found.group(1))) if found else None
            sizes[PAYLOADS[kind]] = {"file": os.path.getsize(path), "zip": zipped}
            print("%-22s %10s %10s" % (PAYLOADS[kind], f"{os.path.getsize(path):,}", zipped and f"{zipped:,}"))
        return sizes

    def repetition(self, api, token, rep):
        """Phase 2, one repetition for one API version: one play; returns each kind's seconds in round order."""
        tasks = rounds_of(KINDS, self.args.tasks, self.url, api, token)
        label = "timed-api%s-rep%d" % (api, rep)
        timer_output = os.path.join(self.workdir, label + ".jsonl")
        control(self.url, "/_sim/stats/reset", {})
        self.run_play(label, tasks, timer_output)
        counts = self.counts()
        seconds = {kind: [] for kind in KINDS}
        for entry in self.timings(timer_output, len(tasks)):
            kind, label_rest = entry["task"].split(" ", 1)
            if label_rest.startswith("#"):
                seconds[kind].append(entry["seconds"])
        # Every module task and every uri task sends one listing page; API 2.0: the run's one token.
        rounds = self.args.tasks + 1
        wanted = {FIND_PATH: rounds * (len(MODULES) + 1)}
        if api == "2":
            wanted[TOKEN_PATH] = 1
        if counts != wanted:
            self.failures.append(
                "API %s.0 repetition %d: the simulator counted %s, expected %s" % (api, rep, counts, wanted)
            )
        ratios = {kind: statistics.median(seconds[kind]) / statistics.median(seconds["uri"]) for kind in MODULES}
        print(
            "repetition %d, API %s.0: %s; ping %.0f ms"
            % (
                rep,
                api,
                ", ".join("%s/uri %.2f" % (kind, ratios[kind]) for kind in MODULES),
                median_ms(seconds["ping"]),
            )
        )
        return {"seconds": seconds, "ratios": ratios, "simulator_requests": counts}

    def summary(self, api, repetitions):
        n, reps = self.args.tasks, len(repetitions)
        print(
            "\n== API %s.0: %d repetitions, each one play of %d timed tasks of every kind, alternating =="
            % (api, reps, n)
        )
        print(
            "%-36s %10s %10s %10s %10s %10s %10s   (all %d tasks of each kind)"
            % ("kind", "median ms", "p90 ms", "min ms", "mean ms", "payload", "zip", n * reps)
        )
        if api == "2":
            print("(the modules use the run's token, fetched by the warm-up; uri, a token fetched before the play)")
        kinds = {}
        for kind in KINDS:
            values = [value for rep in repetitions for value in rep["seconds"][kind]]
            kinds[kind] = {"median": statistics.median(values), "p90": percentile90(values), "min": min(values)}
            kinds[kind]["mean"] = statistics.fmean(values)
            size = self.sizes[PAYLOADS[kind]]
            print(
                "%-36s %10.1f %10.1f %10.1f %10.1f %10s %10s"
                % (
                    LABELS[kind],
                    *(kinds[kind][key] * 1000 for key in ("median", "p90", "min", "mean")),
                    f"{size['file']:,}",
                    size["zip"] and f"{size['zip']:,}",
                )
            )
        print(
            "\nratio of medians, per repetition     %s   median of %d  (target: at most %.2f)"
            % (" ".join("%5s" % ("#%d" % (i + 1)) for i in range(reps)), reps, TARGET)
        )
        ratios = {}
        for kind in MODULES:
            per_rep = [rep["ratios"][kind] for rep in repetitions]
            ratios[kind] = {"per_repetition": per_rep, "median": statistics.median(per_rep)}
            print(
                "%-36s %s   %11.2f  %s"
                % (
                    "%s / uri" % PAYLOADS[kind],
                    " ".join("%5.2f" % r for r in per_rep),
                    ratios[kind]["median"],
                    "met" if ratios[kind]["median"] <= TARGET else "not met",
                )
            )
        totals = {}
        for rep in repetitions:
            for path, count in rep["simulator_requests"].items():
                totals[path] = totals.get(path, 0) + count
        tasks = (n + 1) * reps
        print(
            "requests per task (simulator, warm-up included): every module and uri task %g find-groups"
            " (%s in %d plays); ping none%s"
            % (
                totals.get(FIND_PATH, 0) / (tasks * (len(MODULES) + 1)),
                describe(totals),
                reps,
                "; API 2.0: 1 token per play (the run's)" if api == "2" else "",
            )
        )
        return {"api": api, "n": n, "repetitions": repetitions, "kinds": kinds, "ratios": ratios}

    # -- --profile ---------------------------------------------------------------------------------

    def profile(self, api, token):
        """One no-change mimecast_group task in phases, ansible.builtin.ping beside it."""
        kinds = ["group", "ping"]
        n = self.args.tasks
        tasks = rounds_of(kinds, n, self.url, api, token)
        timer_output = os.path.join(self.workdir, "profile-api%s.jsonl" % api)
        phases_output = os.path.join(self.workdir, "profile-api%s-phases.jsonl" % api)
        launcher = (
            interpreter_of(self.args.ansible_playbook),
            os.path.join(HERE, "phase_timer.py"),
            "controller",
            phases_output,
        )
        self.run_play("profile-api%s" % api, tasks, timer_output, launcher=launcher)
        walls = {entry["task"]: entry["seconds"] for entry in self.timings(timer_output, len(tasks))}
        with open(phases_output) as handle:
            phases = {entry["task"]: entry for entry in map(json.loads, handle) if entry["task"] in walls}
        controller = {}
        for kind in kinds:
            rows = {key: [] for key in ("wall", "outside", "action", "build", "transfer", "module")}
            for name, wall in walls.items():
                if not name.startswith(kind + " #"):
                    continue
                p = phases[name]
                payload = p.get("build", 0.0) + p.get("transfer", 0.0) + p.get("tmp_in_action", 0.0)
                rows["wall"].append(wall)
                rows["outside"].append(wall - p["action"])
                rows["action"].append(p["action"] - payload - p.get("module", 0.0))
                rows["build"].append(p.get("build", 0.0))
                rows["transfer"].append(p.get("transfer", 0.0) + p.get("tmp_in_action", 0.0))
                rows["module"].append(p.get("module", 0.0))
            controller[kind] = {key: median_ms(values) for key, values in rows.items()}
        process = self.direct_runs(n)

        print("\n== --profile, API %s.0: one no-change mimecast_group task in phases (medians of %d, ms) ==" % (api, n))
        print("%-72s %9s %6s %9s" % ("phase", "group", "share", "ping"))
        group_wall = controller["group"]["wall"]

        def row(label, group, ping):
            share = "" if group is None else "%5.0f%%" % (100 * group / group_wall)
            print("%-72s %9s %6s %9s" % (label, fmt(group), share, fmt(ping)))

        g, p = controller["group"], controller["ping"]
        row("task wall time (bench_timer: task start to result)", g["wall"], p["wall"])
        row("  Ansible outside the action plugin (fork, templating, result)", g["outside"], p["outside"])
        row("  (a) action plugin's controller time outside the module run", g["action"], p["action"])
        row("  (b) AnsiballZ payload build", g["build"], p["build"])
        row("  (b) payload transfer + remote temporary directory commands", g["transfer"], p["transfer"])
        row("  (c) module process, as run by the task", g["module"], p["module"])
        gp, pp = process["group"], process["ping"]
        row("(c) the same payload run directly (the split below)", gp["wall"], pp["wall"])
        row("  interpreter, AnsiballZ unzip, ansible.module_utils.basic import", gp["start_up"], pp["start_up"])
        row("  collection imports (compile, run) up to the argument checks", gp["imports"], None)
        row("    of which -X importtime's cumulative (separate runs)", gp["importtime"], None)
        row("  argument checks (AnsibleModule.__init__)", gp["arguments"], pp["arguments"])
        row("  the request(s) (MimecastClient.call, %g a run)" % gp["calls"], gp["requests"], None)
        row("  the module's other work", gp["other"], pp["other"])
        row("  result output, payload clean-up, interpreter exit", gp["output"], pp["output"])
        print(
            "(a) is the action plugin's run() less (b) and (c); 'Ansible outside' is the task's wall time less run()."
        )
        return {"api": api, "n": n, "controller": controller, "process": process}

    def direct_runs(self, n):
        """The kept group and ping payloads run directly, alternating: marks, then ``-X importtime``."""
        python = self.args.python or interpreter_of(self.args.ansible_playbook)
        timer = os.path.join(HERE, "phase_timer.py")
        marks = {"group": [], "ping": []}
        imports = []
        for run_no in range(n + 1):
            for kind in ("group", "ping") if run_no % 2 else ("ping", "group"):
                output = os.path.join(self.workdir, "marks.json")
                started = time.monotonic()
                self.direct([python, timer, "module", output, self.payloads[kind]])
                ended = time.monotonic()
                with open(output) as handle:
                    entry = json.load(handle)
                os.unlink(output)
                if run_no:
                    marks[kind].append(dict(entry, spawn=started, exited=ended))
            if run_no:
                imports.append(
                    collection_import_seconds(self.direct([python, "-X", "importtime", self.payloads["group"]]))
                )
        figures = {kind: split_process(entries) for kind, entries in marks.items()}
        figures["group"]["importtime"] = median_ms(imports)
        return figures

    def direct(self, command):
        result = subprocess.run(
            command,
            env=self.env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,  # the result is read below: a failed task is named with its output
            timeout=self.remaining(),
        )
        answer = result.stdout.strip().splitlines()[-1:] or ["{}"]
        try:
            failed = json.loads(answer[0]).get("failed") or result.returncode
        except ValueError:
            failed = True
        if failed:
            raise BenchError(
                "%s failed:\n%s\n%s" % (" ".join(command[-2:]), result.stdout[-2000:], result.stderr[-2000:])
            )
        return result.stderr


def split_process(entries):
    """Medians (ms) of a payload's direct runs, split at its marks (see benchmarks/phase_timer.py)."""
    rows = {key: [] for key in ("wall", "start_up", "imports", "arguments", "requests", "other", "output")}
    for entry in entries:
        wall = entry["exited"] - entry["spawn"]
        modules_start = entry.get("arguments_start", entry["exit"])
        start_up = entry.get("collection", modules_start) - entry["spawn"]
        imports = modules_start - entry["collection"] if "collection" in entry else None
        output = entry["exited"] - entry["exit"]
        known = [start_up, imports, entry["arguments"], entry["requests"], output]
        values = [wall, start_up, imports, entry["arguments"], entry["requests"], wall - sum(v or 0.0 for v in known)]
        for key, value in zip(rows, values + [output]):
            rows[key].append(value)
    figures = {key: None if None in values else median_ms(values) for key, values in rows.items()}
    figures["calls"] = statistics.median(entry["calls"] for entry in entries)
    return figures


def collection_import_seconds(importtime):
    """Seconds of the outermost collection imports in ``-X importtime`` output (what they import included)."""
    total = 0.0
    stack = []  # (depth, inside the collection) of the enclosing imports, walking from the outermost
    lines = [line for line in importtime.splitlines() if line.startswith("import time:") and "|" in line]
    for line in reversed(lines[1:]):  # the first line is the header; children are printed before their parent
        _self, cumulative, name = line[len("import time:") :].split("|", 2)
        depth = (len(name) - len(name.lstrip())) // 2
        name = name.strip()
        while stack and stack[-1][0] >= depth:
            stack.pop()
        inside = any(entry[1] for entry in stack)
        ours = name.startswith("ansible_collections.community.mimecast")
        if ours and not inside:
            total += int(cumulative) / 1e6
        stack.append((depth, ours or inside))
    return total


def fmt(value):
    return "" if value is None else "%.1f" % value


def describe(counts):
    return ", ".join("%g %s" % (n, path.rsplit("/", 1)[-1]) for path, n in sorted(counts.items())) or "none"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-n", "--tasks", type=int, default=15, help="timed tasks of each kind per repetition (default 15)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="repetitions, one play each per API version (default 5)")
    parser.add_argument("--api", choices=("1", "2", "both"), default="both", help="API version(s) (default both)")
    parser.add_argument(
        "--ansible-playbook", default="ansible-playbook", metavar="PATH", help="ansible-playbook to use"
    )
    parser.add_argument("--python", metavar="PATH", help="the modules' interpreter (default: ansible-playbook's own)")
    parser.add_argument("--timeout", type=float, help="seconds for the whole run (default 300 + 6 per timed task)")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only break a no-change mimecast_group task into phases (API 1.0 unless --api 2)",
    )
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.repeats < 1:
        parser.error("--tasks and --repeats must be 1 or more")
    found = shutil.which(args.ansible_playbook)
    if not found:
        parser.error("no ansible-playbook at %s" % args.ansible_playbook)
    args.ansible_playbook = os.path.abspath(found)

    apis = ["1", "2"] if args.api == "both" else [args.api]
    if args.profile:
        apis = apis[:1]
    timed_tasks = args.tasks * (2 if args.profile else len(KINDS) * args.repeats * len(apis))
    args.timeout = args.timeout or 300 + 6 * timed_tasks
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    workdir = tempfile.mkdtemp(prefix="mimecast-bench-")
    figures = {"ansible_playbook": args.ansible_playbook, "load_average": os.getloadavg()}
    try:
        with Simulator() as simulator:
            bench = Bench(args, workdir, simulator.url)
            control(simulator.url, "/_sim/seed", {"groups": DIRECTORY})
            token = control(simulator.url, TOKEN_PATH, form=dict(API2, grant_type="client_credentials"))["access_token"]
            print("load average at the start: %.2f %.2f %.2f" % os.getloadavg())
            print("== Requests per task, each kind alone (docs/requests.md) ==")
            for api in apis:
                bench.alone(api, token, keep=api == apis[0])
            figures["payloads"] = bench.print_payloads()
            if args.profile:
                figures["profile"] = bench.profile(apis[0], token)
            else:
                print("\n== Task wall time ==")
                repetitions = {api: [] for api in apis}
                for rep in range(1, args.repeats + 1):
                    for api in apis:
                        repetitions[api].append(bench.repetition(api, token, rep))
                figures["results"] = [bench.summary(api, repetitions[api]) for api in apis]
            print("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    except BenchError as exc:
        print("bench_group_vs_uri.py: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(dict(figures, failures=bench.failures), handle, indent=1)
    for failure in bench.failures:
        print("bench_group_vs_uri.py: %s" % failure, file=sys.stderr)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
