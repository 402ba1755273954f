# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kill-anywhere test of mimecast_group_tree against the simulator (run by runme.sh).

For each k of a phase (the credential kinds of the run in turn): empty the simulator, hold every write request
of the phase for HOLD_MS before it runs, start ansible-playbook in its own process group, wait until the
simulator has received the k-th write request (its per-path request counter, counted on arrival), kill the
whole process group with SIGKILL while that request is held, wait until the simulator has run it (its
``writes`` counter), then re-run without faults and check the exact tree with no duplicate, and run a third
time (in the same play), which must change nothing.

A phase is one write path and its plan: the groups now. Members in the tree can be added as another phase
(its write path, its k, and a check of the members) without changing the driver.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

CREATE = "/api/directory/create-group"
# Kill, then A and B, then A1, A2 and B1, then X: with batch_size 1, seven create requests in four levels.
TREE = ["A/A1/X", "A/A2", "B/B1"]
EXPECTED = ["Kill", "Kill/A", "Kill/A/A1", "Kill/A/A1/X", "Kill/A/A2", "Kill/B", "Kill/B/B1"]
PHASES = [
    # (name, write path, k: the first request, the first of a middle level, the last)
    ("groups", CREATE, (1, 4, 7)),
]
HOLD_MS = 600  # each write request is held this long before it runs: the kill lands while one is in flight
WAIT_S = 120


def control(url, call, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        "%s/_sim/%s" % (url, call), data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def wait_for(what, check, proc=None):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError("ansible-playbook ended (rc %s) before %s" % (proc.returncode, what))
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


def playbook(config, kind, log, extra=()):
    return subprocess.Popen(
        [
            "ansible-playbook",
            "tree.yml",
            "-e",
            "@" + config,
            "-e",
            "auth_kind=" + kind,
            "-e",
            json.dumps({"kill_tree": TREE}),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the kill takes the workers and the module with it
    )


def run_to_end(config, kind, log, extra=()):
    proc = playbook(config, kind, log, extra)
    if proc.wait() != 0:
        raise AssertionError(
            "ansible-playbook %s failed (rc %s); see %s" % (" ".join(extra), proc.returncode, log.name)
        )


def tree_paths(url):
    return sorted(g["path"] for g in control(url, "groups")["groups"] if g["path"].split("/")[0] == "Kill")


def one_kill(url, config, kind, path, k, log):
    control(url, "reset", "POST", {})
    control(url, "faults", "POST", {"rules": [{"kind": "delay", "path": path, "ms": HOLD_MS}]})
    proc = playbook(config, kind, log)

    def stats():
        return control(url, "stats")

    wait_for("write request %d" % k, lambda: stats()["by_path"].get(path, 0) >= k, proc)
    time.sleep(HOLD_MS / 3000.0)  # well inside the hold: request k is in flight, k + 1 cannot have started
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    seen = stats()["by_path"].get(path, 0)
    if seen != k:
        raise AssertionError("killed after write request %d, but the simulator saw %d" % (k, seen))
    wait_for("the request in flight to land", lambda: stats()["writes"] >= k)
    landed = tree_paths(url)
    if len(landed) != k:
        raise AssertionError("after the kill at write %d, %d group(s) stand: %s" % (k, len(landed), landed))
    control(url, "faults", "DELETE")
    # The re-run, then the third run (in the same play, to spare a start of ansible-playbook): it must change
    # nothing, and the tree must be exact: every group once.
    run_to_end(config, kind, log, ("-e", "then_again=true"))
    after = tree_paths(url)
    if after != EXPECTED:
        raise AssertionError("after the kill at write %d and two re-runs: %s, wanted %s" % (k, after, EXPECTED))
    return landed


def main(config, output_dir):
    with open(config) as handle:
        variables = json.load(handle)
    url = variables["mimecast_sim_url"]
    log_path = os.path.join(output_dir, "kill_anywhere.log")
    with open(log_path, "w") as log:
        kinds = variables["mimecast_auth_kinds"]
        for name, path, ks in PHASES:
            for number, k in enumerate(ks):
                kind = kinds[number % len(kinds)]  # the credential kinds in turn: each k once keeps this lean
                started = time.monotonic()
                landed = one_kill(url, config, kind, path, k, log)
                print(
                    "%s %s: killed at write %d with %d group(s) standing; re-run exact, third run unchanged (%.1fs)"
                    % (kind, name, k, len(landed), time.monotonic() - started)
                )
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
