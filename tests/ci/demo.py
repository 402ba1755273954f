"""Run examples/demo.yml twice against a fresh simulator; the second run must change nothing.

Run with the Python of a virtual environment that has ansible-core and requests: the playbook's
modules run on the implicit localhost with that same interpreter. The collection is found through
ANSIBLE_COLLECTIONS_PATH, pointing at a directory whose
``ansible_collections/community/mimecast`` is a symlink to this work tree.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from simulator import ROOT, Simulator

PLAYBOOK = os.path.join("examples", "demo.yml")
COLLECTIONS_DIR = os.path.join(ROOT, ".build", "demo")
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)"
)


def link_collection() -> None:
    namespace_dir = os.path.join(COLLECTIONS_DIR, "ansible_collections", "community")
    os.makedirs(namespace_dir, exist_ok=True)
    link = os.path.join(namespace_dir, "mimecast")
    if os.path.islink(link) and os.readlink(link) == ROOT:
        return
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(ROOT, link)


def run_playbook(env: dict[str, str]) -> tuple[int, list[re.Match[str]]]:
    """Run the playbook, echoing its output; return its status and its PLAY RECAP lines."""
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    command = [ansible_playbook, PLAYBOOK]
    print("+", " ".join(command), flush=True)
    process = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        text=True,
    )
    print(process.stdout, flush=True)
    in_recap = False
    recap = []
    for line in process.stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        match = RECAP_LINE.match(line.strip()) if in_recap else None
        if match:
            recap.append(match)
    return process.returncode, recap


def main() -> int:
    if not os.path.exists(os.path.join(ROOT, PLAYBOOK)):
        print(f"demo.py: {PLAYBOOK} does not exist", file=sys.stderr)
        return 1
    link_collection()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    with Simulator() as simulator:
        env = dict(os.environ, **simulator.environment())
        env.update(
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            # The demo runs on the implicit localhost on purpose: no inventory to warn about.
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        )

        for attempt, label in enumerate(("first run", "second run (must report changed=0)")):
            print(f"demo.py: {label}", flush=True)
            status, recap = run_playbook(env)
            if status != 0:
                print(f"demo.py: {label}: ansible-playbook exited with status {status}", file=sys.stderr)
                return 1
            if not recap:
                print(f"demo.py: {label}: no PLAY RECAP in the output", file=sys.stderr)
                return 1
            if attempt == 1:
                changed = [f"{m['host']} changed={m['changed']}" for m in recap if m["changed"] != "0"]
                if changed:
                    print(f"demo.py: the second run is not idempotent: {', '.join(changed)}", file=sys.stderr)
                    return 1
    print("demo.py: both runs succeeded and the second changed nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
