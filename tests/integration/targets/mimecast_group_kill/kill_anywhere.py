# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kill-anywhere test of mimecast_group_tree, groups and members, against the simulator (run by runme.sh).

For each kill (the credential kinds of the run in turn): empty the simulator (for the members change run, seed
the tree with members to change), hold every write request (group and member) for HOLD_MS before it runs,
start ansible-playbook in its own process group, wait until the simulator has received the k-th request of
the kill's write path (its per-path request counter, counted on arrival), kill the whole process group with
SIGKILL while that request is held, wait until the simulator has run it (its ``writes`` counter, which counts
group and member writes alike), check what stands (the groups and members of the requests that ran, nothing
more), then re-run without faults and check the exact tree and the exact members of every group (no duplicate
group, no missing or extra member), and run a third time (in the same play), which must change nothing.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

CREATE = "/api/directory/create-group"
ADD = "/api/directory/add-group-member"
REMOVE = "/api/directory/remove-group-member"
ORDER = (CREATE, ADD, REMOVE)  # the order of a tree task's writes (deletes are not used here)
BATCH_SIZE = 2
# Kill, then A and B, then A1, A2 and B1, then X: with batch_size 2, five create requests in four levels
# (Kill | A B | two of A1 A2 B1 | the third | X), after which 1, 3, 5, 6 and 7 groups stand.
TREE = ["A/A1/X", "A/A2", "B/B1"]
EXPECTED = ["Kill", "Kill/A", "Kill/A/A1", "Kill/A/A1/X", "Kill/A/A2", "Kill/B", "Kill/B/B1"]
# Seven member adds after the creates: four add requests of up to two items, some across two groups.
MEMBERS = {
    "A": ["ann@kill.example", "bob@kill.example"],
    "A/A1/X": ["xena@kill.example", "kill.example"],
    "B/B1": ["bea@kill.example", "ben@kill.example", "bill@kill.example"],
    "A/A2": [],
}
# The members change run starts from the whole tree with these ten members: it adds one (A's bob) in one
# request, then removes four in two requests; the kill lands on the first remove, so 11 - 2 = 9 stand and the
# re-run has the other two removes left.
SEEDED_MEMBERS = {
    "A": ["ann@kill.example", "old1@kill.example"],
    "A/A1/X": ["xena@kill.example", "kill.example", "old2@kill.example"],
    "B/B1": ["bea@kill.example", "ben@kill.example", "bill@kill.example", "old3@kill.example"],
    "A/A2": ["old4@kill.example"],
}
KILLS = [
    # (name, write path, k, groups standing after request k, members standing after it, members seeded first)
    # groups: the first create, the first of a middle level, the last; no member written yet
    ("groups", CREATE, 1, 1, 0, None),
    ("groups", CREATE, 3, 5, 0, None),
    ("groups", CREATE, 5, 7, 0, None),
    # members: a middle add request (items 3 and 4 of 7), the whole tree created before it
    ("member adds", ADD, 2, 7, 4, None),
    # members change run: the first remove request (the add ran before it)
    ("member removes", REMOVE, 1, 7, 9, SEEDED_MEMBERS),
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
            json.dumps({"kill_tree": TREE, "kill_members": MEMBERS, "kill_batch_size": BATCH_SIZE}),
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


def directory(url):
    """``{path: sorted members}`` of every group under Kill, one entry per group: a duplicate fails here."""
    found = {}
    for group in control(url, "groups?members=1")["groups"]:
        if group["path"].split("/")[0] != "Kill":
            continue
        if group["path"] in found:
            raise AssertionError("duplicate group %s" % group["path"])
        found[group["path"]] = group["members"]
    return found


def expected_directory():
    wanted = dict((path, []) for path in EXPECTED)
    for path, values in MEMBERS.items():
        wanted["Kill/" + path] = sorted(value.lower() for value in values)
    return wanted


def seed(url, members):
    """The whole tree, with these members, as a run before this one left it."""
    control(url, "seed", "POST", {"groups": [{"name": "Kill"}]})
    for path in EXPECTED[1:]:
        parent, _sep, name = path.rpartition("/")
        control(url, "seed", "POST", {"groups": [{"name": name, "parent": parent}]})
    for path, values in members.items():
        control(url, "members", "POST", {"path": "Kill/" + path, "members": values})


def one_kill(url, config, kind, path, k, groups_standing, members_standing, seeded, log):
    control(url, "reset", "POST", {})
    if seeded is not None:
        seed(url, seeded)
    # Every write is held, not only those of the kill's path: the requests after request k (member adds after
    # the last create) cannot run before the kill, however late the poll sees request k on a busy machine.
    control(url, "faults", "POST", {"rules": [{"kind": "delay", "path": write, "ms": HOLD_MS} for write in ORDER]})
    proc = playbook(config, kind, log)

    def stats():
        return control(url, "stats")

    wait_for("write request %d of %s" % (k, path), lambda: stats()["by_path"].get(path, 0) >= k, proc)
    time.sleep(HOLD_MS / 3000.0)  # well inside the hold: request k is in flight, k + 1 cannot have started
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    by_path = stats()["by_path"]
    if by_path.get(path, 0) != k:
        raise AssertionError("killed after request %d of %s, but the simulator saw %d" % (k, path, by_path[path]))
    later = dict((write, by_path[write]) for write in ORDER[ORDER.index(path) + 1 :] if by_path.get(write))
    if later:
        raise AssertionError("the kill came late: after request %d of %s, the simulator saw %s" % (k, path, later))
    # The writes run one after another, so every write request that arrived has run once request k has.
    sent = sum(by_path.get(write, 0) for write in ORDER)
    wait_for("the request in flight to land", lambda: stats()["writes"] >= sent)
    landed = directory(url)
    members = sum(len(values) for values in landed.values())
    if len(landed) != groups_standing or members != members_standing:
        raise AssertionError(
            "after the kill at request %d of %s, %d group(s) with %d member(s) stand, wanted %d with %d: %s"
            % (k, path, len(landed), members, groups_standing, members_standing, landed)
        )
    control(url, "faults", "DELETE")
    # The re-run, then the third run (in the same play, to spare a start of ansible-playbook): it must change
    # nothing, and the tree must be exact: every group once, each with exactly its members.
    run_to_end(config, kind, log, ("-e", "then_again=true"))
    after = directory(url)
    if after != expected_directory():
        raise AssertionError(
            "after the kill at request %d of %s and two re-runs: %s, wanted %s" % (k, path, after, expected_directory())
        )
    return len(landed), members


def main(config, output_dir):
    with open(config) as handle:
        variables = json.load(handle)
    url = variables["mimecast_sim_url"]
    log_path = os.path.join(output_dir, "kill_anywhere.log")
    with open(log_path, "w") as log:
        kinds = variables["mimecast_auth_kinds"]
        for number, (name, path, k, groups_standing, members_standing, seeded) in enumerate(KILLS):
            kind = kinds[number % len(kinds)]  # the credential kinds in turn: each kill once keeps this lean
            started = time.monotonic()
            groups, members = one_kill(url, config, kind, path, k, groups_standing, members_standing, seeded, log)
            print(
                "%s %s: killed at request %d of %s with %d group(s) and %d member(s) standing; re-run exact, "
                "third run unchanged (%.1fs)"
                % (kind, name, k, path.rpartition("/")[2], groups, members, time.monotonic() - started)
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
