"""Run the collection's CI gates (each one a make target) in parallel and print one summary table.

Every selected gate runs even after another failed, so the table is complete; a gate runs only
once the environment it needs was built (otherwise it is BLOCKED, which counts as a failure), and
a coverage gate only after the units and integration of its ansible-core. Each gate's output goes
to .build/logs/; the end of the log of a gate that failed is printed when it finishes. Exit
status: 0 only if every gate passed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOG_DIR = os.path.join(ROOT, ".build", "logs")
TAIL_LINES = 150
RECURSION_GUARD = "COMMUNITY_MIMECAST_RUN_GATES"

SELECTIONS = (
    "all", "sanity", "units", "integration", "coverage", "ruff", "lint", "docs", "docsite", "extra", "changelog",
    "build", "importer", "ee", "awx", "demo",
)  # fmt: skip


@dataclasses.dataclass
class Gate:
    target: str  # make target: venv-* or gate-*, never a target that runs this script
    gate: str  # name in the table
    version: str  # ansible-core version in the table
    requires: tuple[str, ...] = ()  # targets that must have passed
    after: tuple[str, ...] = ()  # targets that must have finished (passed or not)
    result: str = "pending"
    seconds: float = 0.0
    note: str = ""


def plan(
    selection: set[str],
    matrix: list[tuple[str, str]],
    sanity: list[str],
    demo_core: str,
    integration: list[str],
    full_core: str,
    awx: list[str] = (),
) -> list[Gate]:
    """Return the gates to run, in the order they should start."""
    everything = "all" in selection

    def wanted(*names: str) -> bool:
        return everything or any(name in selection for name in names)

    # nox itself first; every gate is a nox session that builds its own environment the first time.
    gates: list[Gate] = [Gate("venv-nox", "venv nox", "-")]
    nox = ("venv-nox",)
    versions = [version for version, _python in matrix]

    # Longest first, so that the two workers finish at about the same time: the integration runs (the full
    # core's, which runs every target, before the others), sanity, the units, the short gates, and the
    # coverage gate last, after the units and integration of the full core (the slow targets run without coverage).
    # The full core's integration run is two gates: the targets with the alias `slow`, and the others.
    full_integration = (
        Gate(f"gate-integration-{full_core}", "integration", full_core, requires=nox),
        Gate(f"gate-integration-slow-{full_core}", "integration (slow targets)", full_core, requires=nox),
    )
    if wanted("integration"):
        gates.extend(full_integration)
        for version in integration:
            if version != full_core:
                gates.append(Gate(f"gate-integration-{version}", "integration", version, requires=nox))
    elif wanted("coverage"):
        gates.append(full_integration[0])  # the slow targets run without coverage
    if wanted("sanity"):
        for version in sanity:
            gates.append(Gate(f"gate-sanity-{version}", "sanity", version, requires=nox))
    if wanted("units"):
        for version in versions:
            gates.append(Gate(f"gate-units-{version}", "units", version, requires=nox))
    elif wanted("coverage"):
        gates.append(Gate(f"gate-units-{full_core}", "units", full_core, requires=nox))

    # The AWX jobs (about a minute each) after the units, before the short gates.
    if wanted("awx"):
        for version in awx:
            gates.append(Gate(f"gate-awx-{version}", "AWX jobs (ansible-runner)", version, requires=nox))

    short = (
        ("ruff", "gate-ruff", "ruff check + format", "-"),
        ("changelog", "gate-changelog", "antsibull-changelog lint", "-"),
        ("extra", "gate-extra", "extra checks", "-"),
        ("lint", "gate-lint", "ansible-lint production", demo_core),
        ("docs", "gate-docs", "antsibull-docs lint", demo_core),
        ("docsite", "gate-docsite", "docsite (Sphinx)", demo_core),
        ("importer", "gate-importer", "build + galaxy-importer", demo_core),
    )
    for name, target, label, version in short:
        if wanted(name):
            gates.append(Gate(target, label, version, requires=nox))
    if wanted("build", "ee"):
        gates.append(Gate("gate-build", "galaxy build", demo_core, requires=nox))
    if wanted("ee"):
        gates.append(Gate("gate-ee", "ansible-builder create", "-", requires=("gate-build",)))
    if wanted("demo"):
        gates.append(Gate("gate-demo", "demo (idempotent)", demo_core, requires=nox))

    if wanted("coverage"):
        measured = (f"gate-units-{full_core}", full_integration[0].target)
        gates.append(Gate(f"gate-coverage-{full_core}", "coverage plugins/", full_core, requires=nox, after=measured))

    return gates


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a gate and everything it started: SIGTERM to its process group, SIGKILL if that is ignored."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


class Runner:
    def __init__(self, gates: list[Gate], jobs: int, make: list[str], timeout: float) -> None:
        self.gates = gates
        self.timeout = timeout
        self.by_target = {gate.target: gate for gate in gates}
        self.jobs = jobs
        self.make = make
        self.lock = threading.Condition()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started = time.monotonic()
        self.stopping = False

    def log_path(self, gate: Gate) -> str:
        return os.path.join(LOG_DIR, f"{gate.target}.log")

    def elapsed(self) -> str:
        return f"[{time.monotonic() - self.started:6.0f}s]"

    def next_gate(self) -> Gate | None:
        """Return a gate that can start now, marking blocked ones on the way (call with the lock held)."""
        for gate in self.gates:
            if gate.result != "pending":
                continue
            required = [self.by_target[name] for name in gate.requires if name in self.by_target]
            ordered = [self.by_target[name] for name in gate.after if name in self.by_target]
            failed = [dep for dep in required if dep.result not in ("pending", "running", "PASS")]
            if failed or self.stopping:
                gate.result = "BLOCKED"
                gate.note = "needs " + ", ".join(dep.target for dep in failed) if failed else "interrupted"
                print(f"{self.elapsed()} BLOCKED {gate.gate} {gate.version} ({gate.note})", flush=True)
                self.lock.notify_all()
                continue
            if all(dep.result == "PASS" for dep in required) and all(
                dep.result not in ("pending", "running") for dep in ordered
            ):
                gate.result = "running"
                return gate
        return None

    def worker(self) -> None:
        while True:
            with self.lock:
                gate = self.next_gate()
                while gate is None:
                    if all(g.result != "pending" for g in self.gates):
                        return
                    self.lock.wait()
                    gate = self.next_gate()
            self.run(gate)
            with self.lock:
                self.lock.notify_all()

    def run(self, gate: Gate) -> None:
        print(
            f"{self.elapsed()} start   {gate.gate} {gate.version}  (log: {os.path.relpath(self.log_path(gate))})",
            flush=True,
        )
        begin = time.monotonic()
        with open(self.log_path(gate), "wb") as log:
            process = subprocess.Popen(
                [*self.make, gate.target],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so an interrupt can stop all of it
            )
            with self.lock:
                self.processes[gate.target] = process
            timed_out = False
            try:
                status = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                stop_group(process)
                status = process.wait()
            with self.lock:
                del self.processes[gate.target]
        gate.seconds = time.monotonic() - begin
        if self.stopping:
            gate.result = "INTERRUPTED"
        elif timed_out:
            gate.result = "TIMEOUT"
            gate.note = f"stopped after {self.timeout:.0f}s"
        else:
            gate.result = "PASS" if status == 0 else "FAIL"
        print(f"{self.elapsed()} {gate.result:<7} {gate.gate} {gate.version} ({gate.seconds:.0f}s)", flush=True)
        if gate.result in ("FAIL", "TIMEOUT"):
            self.print_tail(gate)

    def print_tail(self, gate: Gate) -> None:
        with open(self.log_path(gate), encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
        shown = lines[-TAIL_LINES:]
        header = f"last {len(shown)} of {len(lines)} lines" if len(lines) > len(shown) else "log"
        sys.stdout.write(f"---- {gate.gate} {gate.version}: {header} ({os.path.relpath(self.log_path(gate))}) ----\n")
        sys.stdout.write("".join(shown))
        sys.stdout.write(f"---- end of {gate.gate} {gate.version} ----\n")
        sys.stdout.flush()

    def interrupt(self, signum: int, _frame: object) -> None:
        with self.lock:
            self.stopping = True
            for process in self.processes.values():
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            self.lock.notify_all()

    def run_all(self) -> None:
        os.makedirs(LOG_DIR, exist_ok=True)
        signal.signal(signal.SIGINT, self.interrupt)
        signal.signal(signal.SIGTERM, self.interrupt)
        threads = [threading.Thread(target=self.worker, daemon=True) for _index in range(self.jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)


def print_table(gates: list[Gate], total: float) -> None:
    rows = [("gate", "ansible-core", "result", "seconds")]
    rows += [(g.gate, g.version, g.result, f"{g.seconds:.0f}") for g in gates]
    rows.append(("total (wall clock)", "", "", f"{total:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]

    def line(row: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(cell.rjust(widths[i]) if i == 3 else cell.ljust(widths[i]) for i, cell in enumerate(row))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    print()
    print(line(rows[0]))
    print(rule)
    for row in rows[1:-1]:
        print(line(row))
    print(rule)
    print(line(rows[-1]))
    for gate in gates:
        if gate.note:
            print(f"  {gate.gate} {gate.version}: {gate.note}")


def parse_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split():
        version, _colon, python = item.partition(":")
        pairs.append((version, python))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "selection",
        nargs="*",
        default=["all"],
        choices=SELECTIONS,
        metavar="GATE",
        help="one or more of: " + ", ".join(SELECTIONS),
    )
    parser.add_argument("--matrix", required=True, help="'CORE:PYTHON ...' for units, integration and coverage")
    parser.add_argument("--sanity", required=True, help="'CORE ...' to run sanity with")
    parser.add_argument("--integration", required=True, help="'CORE ...' to run integration with")
    parser.add_argument("--demo-core", required=True, help="ansible-core of the tools, lint and demo environment")
    parser.add_argument("--full-core", required=True, help="ansible-core of the full integration run and coverage")
    parser.add_argument("--awx", default="", help="'CORE ...' to run the AWX jobs (ansible-runner) with")
    parser.add_argument("--jobs", type=int, default=2, help="gates running at once")
    parser.add_argument("--make", default=os.environ.get("MAKE", "make"), help="make executable")
    parser.add_argument("--timeout", type=float, default=2700, help="seconds after which a gate is stopped")
    args = parser.parse_args()

    # The gates are make targets; a make target that ran this script again would recurse forever.
    if os.environ.get(RECURSION_GUARD):
        sys.exit("run_gates.py: already running inside run_gates.py; a gate must be a gate-* or venv-* make target")
    os.environ[RECURSION_GUARD] = "1"

    gates = plan(
        set(args.selection),
        parse_pairs(args.matrix),
        args.sanity.split(),
        args.demo_core,
        args.integration.split(),
        args.full_core,
        args.awx.split(),
    )
    runner = Runner(gates, max(1, args.jobs), [args.make, "--no-print-directory"], args.timeout)
    print(f"run_gates.py: {len(gates)} steps, {runner.jobs} at a time; logs in {os.path.relpath(LOG_DIR)}/", flush=True)
    runner.run_all()
    print_table(gates, time.monotonic() - runner.started)

    passed = sum(gate.result == "PASS" for gate in gates)
    failed = len(gates) - passed
    print(f"\ngates: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
