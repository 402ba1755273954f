# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: UP031 - percent formatting, as in plugins/, and for the aligned tables

"""Benchmark: a no-change ``community.mimecast.mimecast_group`` task against ``ansible.builtin.uri`` tasks that
send the same request, in one playbook run, against the Mimecast simulator on 127.0.0.1.

It measures and prints; it is not a test and never fails on the figures. It exits non-zero only when
something did not work: the simulator did not start, a task failed, a mimecast_group task changed something
or sent other requests than docs/requests.md says, or the time limit ran out.

Three phases:

1. Requests per task, each kind alone: one single-task playbook per kind, with the simulator's counters
   reset before and read after it (the AnsiballZ payloads of these runs are kept for phase 3).
2. Task wall time: per API version one play that alternates the kinds (rotating their order every round,
   so no kind always runs first), after one untimed warm-up round. A callback plugin
   (benchmarks/callback_plugins/bench_timer.py) times each task from its start to its result.
   ansible.builtin.ping runs among them as the floor any task pays.
3. Module start-up: the AnsiballZ payload sizes, and the kept payloads (ping's too) run directly (no
   controller) with the module's Python, plain (wall and CPU time) and with ``-X importtime``; plus
   ``-X importtime`` of importing each module from source. ``--compare PATH`` adds the mimecast_group
   payloads of another checkout, run alternately with this one's, and prints the differences.

The kinds compared:

* ``group``: mimecast_group, name=Finance at the root, which exists (no change). API 1.0: 1 find-groups;
  API 2.0: 1 /oauth/token + 1 find-groups (a token per task, see docs/requests.md).
* ``uri``: ansible.builtin.uri POSTing the same find-groups body. API 1.0: signed per task by the filter
  benchmarks/filter_plugins/mimecast_bench_sign.py (fresh x-mc-req-id and x-mc-date each time, as the
  simulator, like Mimecast, refuses replays). API 2.0 has two uri variants, both printed:
  ``uri-cached``, one task with a bearer token fetched once before the play (favours uri by one request
  per task), and ``uri-pair``, a token task plus a find-groups task (the same two requests as the module,
  timed as their sum).

Run from anywhere: ``python3 benchmarks/bench_group_vs_uri.py [-n 20] [--api both]``; see --help.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SIMULATOR = os.path.join("tests", "simulator", "mimecast_simulator.py")

FIND_PATH = "/api/directory/find-groups"
TOKEN_PATH = "/oauth/token"
# Exactly what mimecast_group sends for the listing (one empty query item, the largest page), so the
# simulator does the same work and answers the same bytes to both kinds.
FIND_BODY = {"data": [{}], "meta": {"pagination": {"pageSize": 100}}}
GROUP_NAME = "Finance"

API1 = {
    "access_key": "mc-sim-access-key",
    "secret_key": base64.b64encode(b"mimecast-simulator-secret-key-0001").decode("ascii"),
    "app_id": "mc-sim-app-id",
    "app_key": "mc-sim-app-key",
}
API2 = {"client_id": "mc-sim-client-id", "client_secret": "mc-sim-client-secret"}

# What one no-change mimecast_group task sends (docs/requests.md), and each uri kind by construction.
EXPECTED = {
    ("1", "group"): {FIND_PATH: 1},
    ("1", "uri"): {FIND_PATH: 1},
    ("2", "group"): {TOKEN_PATH: 1, FIND_PATH: 1},
    ("2", "uri-cached"): {FIND_PATH: 1},
    ("2", "uri-pair"): {TOKEN_PATH: 1, FIND_PATH: 1},
    ("1", "ping"): {},
    ("2", "ping"): {},
}
KIND_LABELS = {
    "group": "mimecast_group (no change)",
    "uri": "uri, signed POST",
    "uri-cached": "uri, bearer, token fetched once",
    "uri-pair": "uri token task + uri POST task",
    "ping": "floor: ansible.builtin.ping",
}
# Units of one round, in their first-round order; a unit is one task or, for uri-pair, two.
UNITS = {"1": ["group", "uri", "ping"], "2": ["group", "uri-cached", "uri-pair", "ping"]}
LOOPBACK = "127.0.0.1"
# Label suffix of the payloads built from --compare's checkout.
COMPARED = "@compare"


# The modules' Python, and its requests if it has one (the collection's requirement while it uses requests).
PROBE = """import sys
try:
    import requests
    version = requests.__version__
except ImportError:
    version = "none"
print(sys.version.split()[0], version)
"""


class BenchError(Exception):
    """Something did not work: the run is reported as failed (exit 1)."""


class Deadline:
    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self, what):
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise BenchError("time limit of %ss reached before %s (raise --timeout)" % (self.seconds, what))
        return remaining


# ---------------------------------------------------------------------------------------------
# Small helpers


def log(message=""):
    print(message, flush=True)


def p90(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def summary(values):
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": p90(values),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def short(module):
    return module.replace("ansible_collections.community.mimecast.plugins.", "mimecast.")


def ms(seconds):
    return "%.1f" % (seconds * 1000.0)


def read_first(path, pattern):
    try:
        with open(path) as handle:
            for line in handle:
                match = re.match(pattern, line)
                if match:
                    return match.group(1).strip()
    except OSError:
        pass
    return None


def children_cpu():
    """CPU seconds (user + system) used so far by this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return None


def machine_facts():
    mem_kib = read_first("/proc/meminfo", r"MemTotal:\s+(\d+)")
    return {
        "nproc": os.cpu_count(),
        "cpu": read_first("/proc/cpuinfo", r"model name\s*:\s*(.*)") or platform.processor() or "unknown",
        "memory_gib": round(int(mem_kib) / 1024.0 / 1024.0, 1) if mem_kib else None,
        "os": "%s %s" % (platform.system(), platform.release()),
        "load_average": load_average(),
    }


class NoProxyOpener:
    """urllib without any proxy: every control call goes straight to the simulator on loopback."""

    def __init__(self, ca_cert=None):
        handlers = [urllib.request.ProxyHandler({})]
        if ca_cert:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_cert)))
        self._opener = urllib.request.build_opener(*handlers)

    def call(self, url, body=None, form=None, timeout=10):
        if form is not None:
            data = urllib.parse.urlencode(form).encode("ascii")
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json"}
        else:
            data, headers = None, {}
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
        with self._opener.open(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))


# ---------------------------------------------------------------------------------------------
# The simulator


class Simulator:
    """The simulator as a child process on 127.0.0.1; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, collection, workdir, python, token_ttl, deadline, tls=False):
        self.ready_file = os.path.join(workdir, "simulator.json")
        self.log_path = os.path.join(workdir, "simulator.log")
        self._command = [
            python,
            os.path.join(collection, SIMULATOR),
            "--host",
            LOOPBACK,
            "--port",
            "0",
            "--ready-file",
            self.ready_file,
            "--quiet",
            "--token-ttl",
            str(int(token_ttl)),
        ]
        if tls:
            self._command += ["--tls", "--cert-dir", os.path.join(workdir, "certs")]
        self.ca_cert = None
        self._deadline = deadline
        self.process = None
        self.url = None
        self.http = NoProxyOpener()

    def __enter__(self):
        with open(self.log_path, "w") as log_file:
            self.process = subprocess.Popen(
                self._command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
            )
        limit = time.monotonic() + min(30.0, self._deadline.left("starting the simulator"))
        while not os.path.exists(self.ready_file):
            if self.process.poll() is not None:
                raise BenchError("the simulator exited with %s:\n%s" % (self.process.returncode, self.log_tail()))
            if time.monotonic() > limit:
                raise BenchError("the simulator did not start within 30s:\n%s" % self.log_tail())
            time.sleep(0.05)
        with open(self.ready_file) as handle:
            ready = json.load(handle)
        self.url, self.ca_cert = ready["url"], ready.get("ca_cert")
        self.http = NoProxyOpener(self.ca_cert)
        if urllib.parse.urlsplit(self.url).hostname != LOOPBACK:
            raise BenchError("the simulator is not on loopback: %s" % self.url)
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines=20):
        try:
            with open(self.log_path) as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def control(self, path, body=None):
        return self.http.call(self.url + path, body=body)

    def token(self):
        reply = self.http.call(self.url + TOKEN_PATH, form=dict(API2, grant_type="client_credentials"))
        return reply["access_token"]


# ---------------------------------------------------------------------------------------------
# Ansible


def controller_facts(ansible_playbook, env, deadline):
    """Return (ansible-core version, controller Python) from ``ansible-playbook --version``."""
    out = run_checked([ansible_playbook, "--version"], env, deadline, "ansible-playbook --version").stdout
    version = re.search(r"\[core ([^\]]+)\]", out) or re.search(r"ansible-playbook ([0-9][^\s]*)", out)
    python = re.search(r"python version = .*\((/[^()]+)\)\s*$", out, re.M)
    return (version.group(1) if version else "unknown"), (python.group(1) if python else None)


def run_checked(command, env, deadline, what, cwd=None, check=True):
    try:
        result = subprocess.run(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=deadline.left(what),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError("time limit reached during %s" % what) from None
    except OSError as exc:
        raise BenchError("cannot run %s: %s" % (what, exc)) from None
    if check and result.returncode != 0:
        raise BenchError(
            "%s exited with %s:\n%s%s" % (what, result.returncode, result.stdout[-3000:], result.stderr[-3000:])
        )
    return result


def run_playbook(ansible_playbook, playbook, env, workdir, deadline, what):
    """Run ansible-playbook in its own process group, killed as a group if the time limit runs out."""
    log_path = playbook + ".log"
    with open(log_path, "w") as output:
        process = subprocess.Popen(
            [ansible_playbook, "-i", "localhost,", playbook],
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=deadline.left(what))
        except subprocess.TimeoutExpired:
            kill_group(process)
            raise BenchError("time limit reached during %s" % what) from None
        except BaseException:
            kill_group(process)
            raise
    if process.returncode != 0:
        with open(log_path) as handle:
            tail = handle.read()[-4000:]
        raise BenchError("%s: ansible-playbook exited with %s:\n%s" % (what, process.returncode, tail))


def kill_group(process):
    """Stop the ansible-playbook we started and its workers (its own process group, by id)."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except OSError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def ansible_env(
    workdir, collections_dir, pipelining, remote_tmp, keep_remote_files=False, timer_output=None, local_tmp="local-tmp"
):
    """The environment of every ansible-playbook run: nothing from the caller's ANSIBLE_*, proxy or
    MIMECAST_* variables, a config file of our own, and every temporary file under ``workdir``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANSIBLE_", "MIMECAST_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(
        ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=collections_dir,
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="bench_timer",
        ANSIBLE_FILTER_PLUGINS=os.path.join(HERE, "filter_plugins"),
        # ansible-playbook caches built payloads here by module name: one per checkout.
        ANSIBLE_LOCAL_TEMP=os.path.join(workdir, local_tmp),
        ANSIBLE_REMOTE_TMP=remote_tmp,
        ANSIBLE_KEEP_REMOTE_FILES="1" if keep_remote_files else "0",
        ANSIBLE_PIPELINING="1" if pipelining else "0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        TMPDIR=os.path.join(workdir, "tmp"),
        # No __pycache__ in benchmarks/ or the checkout from loading the plugins (bytecode is still read).
        PYTHONDONTWRITEBYTECODE="1",
    )
    if timer_output:
        env["BENCH_TIMER_OUTPUT"] = timer_output
    return env


# ---------------------------------------------------------------------------------------------
# Tasks


def group_task(name, url, api, ca_cert=None):
    args = {"name": GROUP_NAME, "base_url": url}
    args.update(API1 if api == "1" else API2)
    if ca_cert:
        args["ca_path"] = ca_cert
    return {"name": name, "community.mimecast.mimecast_group": args}


def uri_args(url, ca_cert, **args):
    args.update(url=url, method="POST", use_proxy=False)
    if ca_cert:
        args["ca_path"] = ca_cert
    return args


def uri_find_task(name, url, headers, ca_cert=None):
    return {
        "name": name,
        "ansible.builtin.uri": uri_args(url + FIND_PATH, ca_cert, body_format="json", body=FIND_BODY, headers=headers),
    }


def api1_headers_template():
    return "{{ %s | mimecast_bench_api1_headers(%s, %s, %s, %s) }}" % tuple(
        json.dumps(value)
        for value in (FIND_PATH, API1["access_key"], API1["secret_key"], API1["app_id"], API1["app_key"])
    )


def unit_tasks(kind, label, sim, api, token):
    """The task(s) of one unit; names are '<kind> <label>' plus ':token' / ':find' for the pair."""
    name = "%s %s" % (kind, label)
    url, ca_cert = sim.url, sim.ca_cert
    if kind == "group":
        return [group_task(name, url, api, ca_cert)]
    if kind == "uri":
        return [uri_find_task(name, url, api1_headers_template(), ca_cert)]
    if kind == "uri-cached":
        return [uri_find_task(name, url, {"Authorization": "Bearer %s" % token}, ca_cert)]
    if kind == "ping":
        return [{"name": name, "ansible.builtin.ping": {}}]
    if kind == "uri-pair":
        token_task = {
            "name": name + ":token",
            "ansible.builtin.uri": uri_args(
                url + TOKEN_PATH,
                ca_cert,
                body_format="form-urlencoded",
                body=dict(API2, grant_type="client_credentials"),
            ),
            "register": "bench_token",
        }
        bearer = {"Authorization": "Bearer {{ bench_token.json.access_token }}"}
        return [token_task, uri_find_task(name + ":find", url, bearer, ca_cert)]
    raise ValueError(kind)


def play(name, python, tasks):
    return [
        {
            "name": name,
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": python},
            "tasks": tasks,
        }
    ]


def write_playbook(path, plays):
    # JSON is YAML: no YAML library needed, and no quoting surprises.
    with open(path, "w") as handle:
        json.dump(plays, handle, indent=1)


def read_timings(path):
    entries = []
    try:
        with open(path) as handle:
            for line in handle:
                if line.strip():
                    entries.append(json.loads(line))
    except OSError:
        pass
    return entries


# ---------------------------------------------------------------------------------------------
# Phase 1: each kind alone


def counts_of(stats):
    return {path: n for path, n in (stats.get("by_path") or {}).items() if n}


def check_clean(stats, what):
    problems = ["%s=%s" % (key, stats.get(key)) for key in ("writes", "rejected", "rate_limited") if stats.get(key)]
    if problems:
        raise BenchError("%s: the simulator counted %s" % (what, ", ".join(problems)))


def phase_alone(ctx, apis):
    """One single-task playbook per kind, counters reset around it; keeps the AnsiballZ payloads."""
    log("== Requests per task, each kind alone (simulator counters reset before each) ==")
    rows = []
    payloads = {}
    runs = [(api, kind, "") for api in apis for kind in UNITS[api] if kind != "ping"]
    if ctx.compare_dir:
        runs += [(api, "group", COMPARED) for api in apis]
    for api, kind, suffix in runs:
        label = "api%s-%s%s" % (api, kind, suffix)
        remote_tmp = os.path.join(ctx.workdir, "remote-" + label)
        playbook = os.path.join(ctx.workdir, "alone-%s.yml" % label)
        write_playbook(playbook, play(label, ctx.python, unit_tasks(kind, "alone", ctx.sim, api, ctx.token)))
        collections_dir = ctx.compare_dir if suffix else ctx.collections_dir
        local_tmp = "local-tmp-compare" if suffix else "local-tmp"
        env = ansible_env(ctx.workdir, collections_dir, False, remote_tmp, keep_remote_files=True, local_tmp=local_tmp)
        ctx.sim.control("/_sim/stats/reset", {})
        run_playbook(ctx.ansible_playbook, playbook, env, ctx.workdir, ctx.deadline, "the %s task alone" % label)
        stats = ctx.sim.control("/_sim/stats")
        check_clean(stats, label)
        counts = counts_of(stats)
        expected = EXPECTED[(api, kind)]
        ok = counts == expected
        rows.append({"api": api, "kind": kind + suffix, "requests": counts, "expected": expected, "ok": ok})
        log(
            "API %s.0  %-32s %-40s %s"
            % (
                api,
                KIND_LABELS[kind] + (" (--compare)" if suffix else ""),
                describe_counts(counts),
                "as expected" if ok else "EXPECTED %s" % expected,
            )
        )
        if not ok:
            ctx.failures.append("%s sent %s, expected %s" % (label, counts, expected))
        for found in sorted(find_payloads(remote_tmp)):
            payloads.setdefault(label, []).append(found)
    # ansible.builtin.ping: the floor any module pays on this ansible-core and Python (no request).
    remote_tmp = os.path.join(ctx.workdir, "remote-floor-ping")
    playbook = os.path.join(ctx.workdir, "alone-floor-ping.yml")
    write_playbook(playbook, play("floor", ctx.python, [{"name": "ping alone", "ansible.builtin.ping": {}}]))
    env = ansible_env(ctx.workdir, ctx.collections_dir, False, remote_tmp, keep_remote_files=True)
    run_playbook(ctx.ansible_playbook, playbook, env, ctx.workdir, ctx.deadline, "the ping task alone")
    payloads["floor-ping"] = sorted(find_payloads(remote_tmp))
    log()
    return rows, payloads


def describe_counts(counts):
    return ", ".join("%d %s" % (n, path.rsplit("/", 1)[-1]) for path, n in sorted(counts.items())) or "none"


def find_payloads(root):
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith("AnsiballZ_") and name.endswith(".py"):
                yield os.path.join(folder, name)


# ---------------------------------------------------------------------------------------------
# Phase 2: alternating timed tasks


def phase_timed(ctx, api):
    units = UNITS[api]
    tasks = []
    for kind in units:
        tasks.extend(unit_tasks(kind, "warmup", ctx.sim, api, ctx.token))
    order = []
    for round_no in range(ctx.n):
        shift = round_no % len(units)
        rotated = units[shift:] + units[:shift]
        order.append(rotated)
        for kind in rotated:
            tasks.extend(unit_tasks(kind, "#%d" % round_no, ctx.sim, api, ctx.token))
    playbook = os.path.join(ctx.workdir, "timed-api%s.yml" % api)
    timer_output = os.path.join(ctx.workdir, "timed-api%s.jsonl" % api)
    write_playbook(playbook, play("API %s.0: %s, alternating" % (api, " / ".join(units)), ctx.python, tasks))
    env = ansible_env(
        ctx.workdir, ctx.collections_dir, ctx.pipelining, os.path.join(ctx.workdir, "remote-timed"), False, timer_output
    )
    ctx.sim.control("/_sim/stats/reset", {})
    load_before = load_average()
    started = time.monotonic()
    run_playbook(ctx.ansible_playbook, playbook, env, ctx.workdir, ctx.deadline, "the API %s.0 timed play" % api)
    elapsed = time.monotonic() - started
    stats = ctx.sim.control("/_sim/stats")
    check_clean(stats, "the API %s.0 timed play" % api)

    entries = read_timings(timer_output)
    if len(entries) != len(tasks):
        raise BenchError("API %s.0: %d task timings for %d tasks" % (api, len(entries), len(tasks)))
    per_kind = {kind: {} for kind in units}
    for entry in entries:
        if entry["status"] != "ok":
            raise BenchError("task %r: %s %s" % (entry["task"], entry["status"], entry.get("msg", "")))
        head, label = entry["task"].split(" ", 1)
        if head == "group" and entry["changed"]:
            ctx.failures.append("API %s.0: %r reported a change" % (api, entry["task"]))
        if label.startswith("#"):
            round_no = int(label[1:].split(":")[0])
            per_kind[head][round_no] = per_kind[head].get(round_no, 0.0) + entry["seconds"]

    # Requests: every task's requests are known by construction except mimecast_group's, which follow.
    rounds = ctx.n + 1  # with the warm-up round
    counts = counts_of(stats)
    uri_counts = {}
    for kind in units:
        if kind != "group":
            for path, n in EXPECTED[(api, kind)].items():
                uri_counts[path] = uri_counts.get(path, 0) + n * rounds
    group_counts = {path: counts.get(path, 0) - uri_counts.get(path, 0) for path in set(counts) | set(uri_counts)}
    per_group_task = {path: n / rounds for path, n in group_counts.items() if n}
    expected_group = EXPECTED[(api, "group")]
    requests_ok = per_group_task == {path: float(n) for path, n in expected_group.items()}
    if not requests_ok:
        ctx.failures.append(
            "API %s.0 timed play: mimecast_group tasks sent %s per task, expected %s"
            % (api, per_group_task, expected_group)
        )

    result = {
        "api": api,
        "n": ctx.n,
        "pipelining": ctx.pipelining,
        "tls": ctx.tls,
        "order": order,
        "elapsed_seconds": elapsed,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "simulator_stats": {
            k: stats.get(k)
            for k in ("total", "by_path", "by_auth", "token_requests", "writes", "rejected", "rate_limited")
        },
        "group_requests_per_task": per_group_task,
        "group_requests_ok": requests_ok,
        "kinds": {},
        "ratios": {},
    }
    for kind in units:
        values = [per_kind[kind][r] for r in sorted(per_kind[kind])]
        result["kinds"][kind] = dict(summary(values), seconds=values)
    group = per_kind["group"]
    for kind in units[1:]:
        if kind == "ping":
            continue
        other = per_kind[kind]
        pairwise = [group[r] / other[r] for r in sorted(group) if r in other]
        result["ratios"][kind] = {
            "of_medians": result["kinds"]["group"]["median"] / result["kinds"][kind]["median"],
            "median_of_round_ratios": statistics.median(pairwise),
        }
    print_timed(result)
    return result


def print_timed(result):
    api = result["api"]
    log(
        "== API %s.0 over %s: task wall time, N=%d per kind, alternating (order rotated every round), pipelining %s =="
        % (api, "HTTPS" if result["tls"] else "HTTP", result["n"], "on" if result["pipelining"] else "off")
    )
    log(
        "%-40s %4s %10s %10s %10s %10s  %s" % ("kind", "n", "median ms", "p90 ms", "min ms", "mean ms", "requests/task")
    )
    for kind, figures in result["kinds"].items():
        log(
            "%-40s %4d %10s %10s %10s %10s  %s"
            % (
                KIND_LABELS[kind],
                figures["n"],
                ms(figures["median"]),
                ms(figures["p90"]),
                ms(figures["min"]),
                ms(figures["mean"]),
                describe_counts(EXPECTED[(api, kind)]),
            )
        )
    for kind, ratio in result["ratios"].items():
        log(
            "ratio mimecast_group / %s: %.2f (of medians), %.2f (median of per-round ratios)"
            % (KIND_LABELS[kind], ratio["of_medians"], ratio["median_of_round_ratios"])
        )
    floor = result["kinds"].get("ping")
    if floor:
        log(
            "above the ping floor (medians): %s"
            % ", ".join(
                "%s %+.1f ms" % (kind, (figures["median"] - floor["median"]) * 1000)
                for kind, figures in result["kinds"].items()
                if kind != "ping"
            )
        )
    stats = result["simulator_stats"]
    log(
        "simulator: %s requests (%s; auth %s; token requests %s; writes %s, rejected %s, rate-limited %s), "
        "warm-up round included"
        % (
            stats["total"],
            stats["by_path"],
            stats["by_auth"],
            stats["token_requests"],
            stats["writes"],
            stats["rejected"],
            stats["rate_limited"],
        )
    )
    log(
        "mimecast_group requests per task: %s (%s)"
        % (
            describe_counts(result["group_requests_per_task"]),
            "as docs/requests.md says" if result["group_requests_ok"] else "UNEXPECTED",
        )
    )
    log(
        "play wall time %.1fs; load average before %s, after %s"
        % (result["elapsed_seconds"], fmt_load(result["load_average_before"]), fmt_load(result["load_average_after"]))
    )
    log()


def fmt_load(load):
    return "/".join("%.2f" % x for x in load) if load else "n/a"


# ---------------------------------------------------------------------------------------------
# Phase 3: start-up


ZIP_RE = re.compile(r"""(?:ZIPDATA\s*=\s*|zip_data\s*=\s*)[rbu]?(['"]{1,3})([A-Za-z0-9+/=]+)\1""")
IMPORT_RE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


def payload_facts(path):
    with open(path) as handle:
        source = handle.read()
    facts = {"file_bytes": len(source.encode("utf-8")), "members": {}}
    match = ZIP_RE.search(source)
    if match:
        raw = base64.b64decode(match.group(2))
        facts["zip_bytes"] = len(raw)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            facts["members"] = {info.filename: info.file_size for info in archive.infolist()}
        facts["unzipped_bytes"] = sum(facts["members"].values())
    return facts


def parse_importtime(stderr):
    """Return [(depth, self_us, cumulative_us, name)] from ``-X importtime`` output."""
    rows = []
    for line in stderr.splitlines():
        match = IMPORT_RE.match(line)
        if match:
            rows.append((len(match.group(3)) // 2, int(match.group(1)), int(match.group(2)), match.group(4)))
    return rows


def phase_startup(ctx, payloads):
    log("== Module start-up ==")
    result = {"payloads": {}, "runs": {}, "source_imports": {}}
    # Payloads that can be replayed: mimecast_group signs (or fetches a token) afresh on every run; the
    # cached-token uri request carries a bearer token that stays valid. The signed uri payload cannot be
    # replayed (the simulator refuses a request id twice), so it is measured for size only.
    replay = {}
    for label, files in sorted(payloads.items()):
        facts = payload_facts(files[0])
        result["payloads"][label] = facts
        if "-group" in label or label in ("api2-uri-cached", "floor-ping"):
            replay[label] = files[0]
    if not result["payloads"]:
        raise BenchError("no AnsiballZ payload was kept")

    any_group = next((f for label, f in sorted(result["payloads"].items()) if "-group" in label), None)
    any_uri = next((f for label, f in sorted(result["payloads"].items()) if "-uri" in label), None)
    log(
        "%-22s %11s %10s %14s  %s"
        % (
            "AnsiballZ payload",
            "file bytes",
            "zip bytes",
            "unzipped bytes",
            "own members (not in the other module's payload), unzipped bytes",
        )
    )
    for label, facts in sorted(result["payloads"].items()):
        if label == "floor-ping":
            other = None
            facts["own_members"] = {}
            log(
                "%-22s %11d %10s %14s  %s"
                % (
                    label,
                    facts["file_bytes"],
                    facts.get("zip_bytes", "?"),
                    facts.get("unzipped_bytes", "?"),
                    "(floor: the smallest module)",
                )
            )
            continue
        other = any_uri if "-group" in label else any_group
        own = {m: s for m, s in facts["members"].items() if other is None or m not in other["members"]}
        facts["own_members"] = own
        log(
            "%-22s %11d %10s %14s  %s"
            % (
                label,
                facts["file_bytes"],
                facts.get("zip_bytes", "?"),
                facts.get("unzipped_bytes", "?"),
                "%d in %d files: %s"
                % (
                    sum(own.values()),
                    len(own),
                    ", ".join(
                        "%s %d" % (m.rsplit("/", 1)[-1], s) for m, s in sorted(own.items(), key=lambda x: -x[1])[:6]
                    ),
                ),
            )
        )
    log()

    env = dict(
        os.environ,
        TMPDIR=os.path.join(ctx.workdir, "tmp"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    for key in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(key, None)
    walls = {label: [] for label in replay}
    cpus = {label: [] for label in replay}
    imports = {label: [] for label in replay}
    own_imports = {label: [] for label in replay}
    import_rows = {label: {} for label in replay}
    labels = sorted(replay)
    for run in range(ctx.startup_runs):
        shift = run % max(1, len(labels))
        for label in labels[shift:] + labels[:shift]:
            command = [ctx.python, replay[label]]
            cpu_before = children_cpu()
            started = time.perf_counter()
            plain = run_checked(
                command, env, ctx.deadline, "running the %s payload" % label, cwd=ctx.workdir, check=False
            )
            walls[label].append(time.perf_counter() - started)
            cpus[label].append(children_cpu() - cpu_before)
            check_module_output(plain, label)
            traced = run_checked(
                [ctx.python, "-X", "importtime"] + command[1:],
                env,
                ctx.deadline,
                "running the %s payload with -X importtime" % label,
                cwd=ctx.workdir,
                check=False,
            )
            check_module_output(traced, label)
            rows = [row for row in parse_importtime(traced.stderr) if row[0] == 0]
            imports[label].append(sum(cum for _d, _s, cum, _n in rows) / 1e6)
            own = module_own_imports(rows)
            own_imports[label].append(sum(cum for _n, cum in own) / 1e6)
            for name, cum in own:
                import_rows[label].setdefault(name, []).append(cum / 1e6)
    log(
        "Payloads run directly with %s, %d runs each, alternating: a whole module process (interpreter start, "
        "unpacking, imports, compiling the payload's sources, the request(s), the result). CPU = user + system "
        "time of the process, less sensitive to other load than wall time." % (ctx.python, ctx.startup_runs)
    )
    log(
        "%-20s %9s %9s %9s %13s %13s  %s"
        % (
            "payload",
            "wall med",
            "wall p90",
            "CPU med",
            "imports (-X)",
            "module's own",
            "module's own top-level imports (cumulative ms, medians)",
        )
    )
    for label in labels:
        top = sorted(((statistics.median(v), n) for n, v in import_rows[label].items()), reverse=True)[:6]
        result["runs"][label] = {
            "wall": summary(walls[label]),
            "cpu": summary(cpus[label]),
            "imports": summary(imports[label]),
            "module_own_imports": summary(own_imports[label]),
            "module_own_top_level_imports_ms": {n: round(t * 1000, 1) for t, n in top},
        }
        log(
            "%-20s %9s %9s %9s %13s %13s  %s"
            % (
                label,
                ms(statistics.median(walls[label])),
                ms(p90(walls[label])),
                ms(statistics.median(cpus[label])),
                ms(statistics.median(imports[label])),
                ms(statistics.median(own_imports[label])),
                ", ".join("%s %s" % (short(n), ms(t)) for t, n in top),
            )
        )
    floor = result["runs"].get("floor-ping")
    if floor:
        log(
            "above the ping floor (medians): %s"
            % ", ".join(
                "%s CPU %+.1f ms, wall %+.1f ms"
                % (
                    label,
                    (run["cpu"]["median"] - floor["cpu"]["median"]) * 1000,
                    (run["wall"]["median"] - floor["wall"]["median"]) * 1000,
                )
                for label, run in sorted(result["runs"].items())
                if label != "floor-ping"
            )
        )
    for label in labels:
        if label.endswith(COMPARED) and label[: -len(COMPARED)] in result["runs"]:
            mine, theirs = result["runs"][label[: -len(COMPARED)]], result["runs"][label]
            log(
                "--compare: %s minus %s (medians): CPU %+.1f ms, wall %+.1f ms, module's own imports %+.1f ms"
                % (
                    label,
                    label[: -len(COMPARED)],
                    (theirs["cpu"]["median"] - mine["cpu"]["median"]) * 1000,
                    (theirs["wall"]["median"] - mine["wall"]["median"]) * 1000,
                    (theirs["module_own_imports"]["median"] - mine["module_own_imports"]["median"]) * 1000,
                )
            )
    log(
        "(imports: every top-level import of the process; module's own: those made after the AnsiballZ loader "
        "(ansible-core 2.19+: it has already imported ansible.module_utils.basic) or after runpy (older))"
    )
    log()

    # The modules imported from source after ansible.module_utils.basic (as the 2.19+ AnsiballZ loader does),
    # to see which of their imports weigh. Bytecode of installed packages is used; none is written.
    source_env = dict(env, PYTHONPATH=ctx.collections_dir, PYTHONDONTWRITEBYTECODE="1")
    modules = {
        "mimecast_group": "ansible_collections.community.mimecast.plugins.modules.mimecast_group",
        "uri": "ansible.modules.uri",
    }
    totals = {name: [] for name in modules}
    cpus = {name: [] for name in modules}
    heavy = {name: {} for name in modules}
    for run in range(ctx.startup_runs):
        for name, module in sorted(modules.items(), reverse=run % 2 == 1):
            command = [ctx.python, "-X", "importtime", "-c", "import ansible.module_utils.basic; import " + module]
            cpu_before = children_cpu()
            traced = run_checked(command, source_env, ctx.deadline, "importing %s" % module)
            cpus[name].append(children_cpu() - cpu_before)
            rows = parse_importtime(traced.stderr)
            # Lines come children first: the module's own subtree is the run of lines just before its line.
            end = max(i for i, row in enumerate(rows) if row[3] == module and row[0] == 0)
            start = max([i + 1 for i, row in enumerate(rows[:end]) if row[0] == 0] or [0])
            totals[name].append(rows[end][2] / 1e6)
            for depth, _self, cum, mod in rows[start:end]:
                if depth <= 3 and not mod.startswith("ansible_collections."):
                    heavy[name].setdefault(mod, []).append(cum / 1e6)
    log(
        "Importing the module from source after ansible.module_utils.basic (python -X importtime -c 'import "
        "ansible.module_utils.basic; import M', %d runs, medians; CPU of the whole process):" % ctx.startup_runs
    )
    for name in sorted(modules):
        weights = sorted(
            ((statistics.median(v), mod) for mod, v in heavy[name].items() if len(v) == len(totals[name])), reverse=True
        )[:6]
        result["source_imports"][name] = {
            "module_cumulative": summary(totals[name]),
            "process_cpu": summary(cpus[name]),
            "heaviest_imports_ms": {mod: round(t * 1000, 1) for t, mod in weights},
        }
        log(
            "%-16s import %s ms (process CPU %s ms); heaviest imports it triggers: %s"
            % (
                name,
                ms(statistics.median(totals[name])),
                ms(statistics.median(cpus[name])),
                ", ".join("%s %s" % (mod, ms(t)) for t, mod in weights) or "-",
            )
        )
    log()
    return result


LOADERS = ("ansible.module_utils._internal._ansiballz._loader", "runpy")


def module_own_imports(rows):
    """The top-level imports made by the module's code: those after the AnsiballZ loader's (or runpy's)."""
    names = [name for _d, _s, _c, name in rows]
    start = None
    for loader in LOADERS:
        if loader in names:
            start = names.index(loader) + 1
            break
    if start is None:
        return []
    return [(name, cum) for _d, _s, cum, name in rows[start:]]


def check_module_output(result, label):
    text = result.stdout.strip()
    try:
        reply = json.loads(text[text.find("{") :]) if "{" in text else None
    except ValueError:
        reply = None
    if result.returncode != 0 or not isinstance(reply, dict) or reply.get("failed"):
        raise BenchError(
            "the %s payload failed (exit %s): %s %s" % (label, result.returncode, text[-1500:], result.stderr[-1500:])
        )


# ---------------------------------------------------------------------------------------------
# Main


class Context:
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Time no-change mimecast_group tasks against equivalent ansible.builtin.uri tasks "
        "(simulator, loopback only).",
    )
    parser.add_argument("-n", "--tasks", dest="n", type=int, default=20, help="timed tasks per kind (default 20)")
    parser.add_argument(
        "--api", choices=("1", "2", "both"), default="both", help="API version(s) to time (default both)"
    )
    parser.add_argument("--ansible-playbook", help="ansible-playbook to run (default: the one on PATH)")
    parser.add_argument(
        "--python",
        help="Python the modules run with, with what the collection requires (default: ansible-playbook's own)",
    )
    parser.add_argument("--collection", default=REPO, help="the collection's root (default: this checkout)")
    parser.add_argument(
        "--compare",
        metavar="PATH",
        help="another checkout of the collection: its mimecast_group payloads join the start-up phase (label "
        "'@compare'), run alternately with this checkout's, to measure a change to plugins/",
    )
    parser.add_argument("--pipelining", action="store_true", help="time the tasks with ANSIBLE_PIPELINING on")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS (the simulator's own CA, given as ca_path to both kinds; needs cryptography)",
    )
    parser.add_argument(
        "--startup-runs", type=int, default=10, help="direct payload runs per kind (default 10; 0 skips start-up)"
    )
    parser.add_argument(
        "--timeout", type=float, help="time limit for the whole run in seconds (default 180 + 12 s per timed task)"
    )
    parser.add_argument("--json", dest="json_path", help="also write every figure to this JSON file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (playbooks, logs, payloads) for inspection"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.startup_runs < 0:
        parser.error("-n must be at least 1 and --startup-runs at least 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    apis = ["1", "2"] if args.api == "both" else [args.api]
    timed_tasks = sum((len(UNITS[a]) + (1 if a == "2" else 0)) * (args.n + 1) for a in apis)
    deadline = Deadline(args.timeout or 180 + 12 * timed_tasks + 15 * args.startup_runs)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    ctx = Context()
    ctx.n = args.n
    ctx.pipelining = args.pipelining
    ctx.tls = args.tls
    ctx.startup_runs = args.startup_runs
    ctx.deadline = deadline
    ctx.failures = []
    ctx.collection = os.path.abspath(args.collection)
    ctx.ansible_playbook = args.ansible_playbook or shutil.which("ansible-playbook")
    if not ctx.ansible_playbook:
        print("bench: no ansible-playbook on PATH; give --ansible-playbook", file=sys.stderr)
        return 2
    if not os.path.isfile(os.path.join(ctx.collection, SIMULATOR)):
        print("bench: %s is not the collection's root (no %s)" % (ctx.collection, SIMULATOR), file=sys.stderr)
        return 2

    if args.compare and not os.path.isdir(os.path.join(args.compare, "plugins", "modules")):
        print("bench: --compare %s is not a checkout of the collection" % args.compare, file=sys.stderr)
        return 2

    workdir = tempfile.mkdtemp(prefix="mimecast-bench-")
    ctx.workdir = workdir
    report = {"machine": machine_facts(), "args": vars(args)}
    try:
        for sub in ("tmp", "local-tmp", "local-tmp-compare"):
            os.makedirs(os.path.join(workdir, sub))
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("# benchmark: every setting comes from the environment\n[defaults]\n")
        # Not named "collections" next to the playbooks: ansible-playbook would search that one first, always.
        namespace = os.path.join(workdir, "checkout", "ansible_collections", "community")
        os.makedirs(namespace)
        os.symlink(ctx.collection, os.path.join(namespace, "mimecast"))
        ctx.collections_dir = os.path.join(workdir, "checkout")
        ctx.compare_dir = None
        if args.compare:
            namespace = os.path.join(workdir, "compared", "ansible_collections", "community")
            os.makedirs(namespace)
            os.symlink(os.path.abspath(args.compare), os.path.join(namespace, "mimecast"))
            ctx.compare_dir = os.path.join(workdir, "compared")

        base_env = ansible_env(workdir, ctx.collections_dir, False, os.path.join(workdir, "remote-version"))
        core_version, controller_python = controller_facts(ctx.ansible_playbook, base_env, deadline)
        ctx.python = os.path.abspath(args.python) if args.python else controller_python
        if not ctx.python:
            raise BenchError("cannot tell ansible-playbook's Python from --version; give --python")
        module_python = run_checked(
            [ctx.python, "-c", PROBE],
            base_env,
            deadline,
            "running %s" % ctx.python,
        ).stdout.split()
        report["software"] = {
            "ansible_core": core_version,
            "ansible_playbook": ctx.ansible_playbook,
            "module_python": ctx.python,
            "module_python_version": module_python[0],
            "requests": module_python[1],
            "bench_python": sys.version.split()[0],
        }
        machine = report["machine"]
        log("== community.mimecast benchmark: mimecast_group vs ansible.builtin.uri ==")
        log(
            "machine: %s CPU(s), %s, %s GiB RAM, %s; load average %s"
            % (
                machine["nproc"],
                machine["cpu"],
                machine["memory_gib"],
                machine["os"],
                fmt_load(machine["load_average"]),
            )
        )
        log(
            "ansible-core %s (%s); modules run with %s (Python %s, requests %s)"
            % (core_version, ctx.ansible_playbook, ctx.python, module_python[0], module_python[1])
        )
        log("collection: %s" % ctx.collection)
        log()

        # The simulator needs only the standard library, and cryptography for --tls (ansible-core's Python has it).
        sim_python = ctx.python if args.tls else sys.executable
        with Simulator(ctx.collection, workdir, sim_python, deadline.seconds + 600, deadline, tls=args.tls) as sim:
            ctx.sim = sim
            sim.control("/_sim/seed", {"groups": [{"name": GROUP_NAME}]})
            ctx.token = sim.token() if "2" in apis else None
            report["alone"], payloads = phase_alone(ctx, apis)
            report["timed"] = [phase_timed(ctx, api) for api in apis]
            if args.startup_runs:
                report["startup"] = phase_startup(ctx, payloads)
        report["failures"] = ctx.failures
        for failure in ctx.failures:
            log("FAILED: %s" % failure)
        if args.json_path:
            with open(args.json_path, "w") as handle:
                json.dump(report, handle, indent=1, sort_keys=True)
        return 1 if ctx.failures else 0
    except BenchError as exc:
        print("bench: FAILED: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print("bench: work directory kept: %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
