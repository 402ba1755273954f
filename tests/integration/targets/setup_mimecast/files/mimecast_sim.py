# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Mimecast simulator of one ansible-test run: started by the first target that needs it, stopped with the run.

The simulator (tests/simulator/mimecast_simulator.py) belongs to an owner process: the nearest ansible-test above
the caller or, when a playbook or a runme.sh is run by hand, the caller's session leader (the shell). One
simulator serves every target of that owner; a state file named after the owner (its pid and start time, in
``$TMPDIR/mimecast-sim-<uid>/``) says where it listens. The simulator looks at its owner every half second and
stops, removing the state file, once the owner is gone, however it ended (SIGKILL included): nothing outlives the
run, and two runs at once (two ansible-test sessions) each have their own. A simulator that died is started again
by the next target. Each target empties it first (``mimecast_sim_control: {call: reset}``).

    ensure()                    start or find the owner's simulator: {url, ca_cert, pid, owner, credentials}
                                (setup_mimecast's action plugin mimecast_sim_start calls it)
    python mimecast_sim.py config INTEGRATION_CONFIG OUT
                                for a script target: ensure(), then write OUT, the variables its playbooks
                                take with -e @OUT (INTEGRATION_CONFIG's, if that file exists, win), print OUT
    python mimecast_sim.py serve --simulator PATH --owner PID --owner-start TICKS --state FILE
                                the simulator process itself (ensure() starts it)

The credential kinds the targets loop over (``mimecast_auth_kinds``: api1, API 1.0 keys; api2, API 2.0 client)
come from tests/integration/integration_config.yml when it names them, and are both otherwise.
"""

import argparse
import errno
import fcntl
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from urllib.request import urlopen

START_TIMEOUT = 30
AUTH_KINDS = ["api1", "api2"]
CREDENTIAL_KEYS = ("access_key", "secret_key", "app_id", "app_key", "client_id", "client_secret")


class SimulatorError(Exception):
    pass


def _simulator_path():
    """tests/simulator/mimecast_simulator.py of the collection this file is in (or in a copy inside it)."""
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, "tests", "simulator", "mimecast_simulator.py")
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            raise SimulatorError("no tests/simulator/mimecast_simulator.py above %s" % __file__)
        here = parent


def _stat(pid):
    """(parent pid, start time in clock ticks) of a process, from /proc; None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), fields[19]


def _argv(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def find_owner():
    """(pid, start) of the nearest ansible-test process above this one, else of this process's session leader."""
    if not os.path.isdir("/proc/self"):
        return os.getsid(0), ""  # no /proc: the session leader, checked by pid alone
    pid = os.getpid()
    while pid > 1:
        stat = _stat(pid)
        if stat is None:
            break
        if any(os.path.basename(arg) == "ansible-test" for arg in _argv(pid)[:2]):
            return pid, stat[1]
        pid = stat[0]
    leader = os.getsid(0)
    stat = _stat(leader)
    return leader, stat[1] if stat else ""


def alive(pid, start):
    if start:
        stat = _stat(pid)
        return stat is not None and stat[1] == start  # the same process, not a later one with its pid
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def state_dir():
    path = os.path.join(tempfile.gettempdir(), "mimecast-sim-%d" % os.getuid())
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _healthy(url):
    try:
        with urlopen(url + "/_sim/health", timeout=5) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _sweep(directory):
    """Remove the files of owners that are gone, if their simulator is gone too (it was killed, or never started)."""
    for path in glob.glob(os.path.join(directory, "*-*.*")):
        name = os.path.basename(path).rpartition(".")[0]
        owner, _dash, start = name.partition("-")
        info = _read_json(os.path.join(directory, name + ".json"))
        if not owner.isdigit() or alive(int(owner), "" if start == "x" else start):
            continue
        if not (info and alive(info["pid"], info.get("pid_start", ""))):
            try:
                os.remove(path)
            except OSError:
                pass


def _remove(state, *suffixes):
    for suffix in filter(None, suffixes):
        try:
            os.remove(state[: -len(".json")] + suffix)
        except OSError:
            pass


def ensure(python=None):
    """The simulator of this process's owner: started now if it has none, or if the one it had died."""
    owner, start = find_owner()
    directory = state_dir()
    name = "%d-%s" % (owner, start or "x")
    state = os.path.join(directory, name + ".json")
    with open(os.path.join(directory, name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one start per owner, whatever number of forks ask at once
        info = _read_json(state)
        if info and alive(info["pid"], info.get("pid_start", "")) and _healthy(info["url"]):
            return info
        _sweep(directory)
        simulator = _simulator_path()
        log_path = os.path.join(directory, name + ".log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [python or sys.executable, os.path.abspath(__file__), "serve", "--simulator", simulator,
                 "--owner", str(owner), "--owner-start", start, "--state", state],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                start_new_session=True,  # not in the caller's process group: a run's end must not depend on it
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            info = _read_json(state)
            if info and info["pid"] == process.pid:
                return info
            if process.poll() is not None:
                break
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            problem = "was not ready within %ds" % START_TIMEOUT
        else:
            problem = "ended with status %d before it was ready" % process.returncode
        with open(log_path, errors="replace") as handle:
            output = handle.read()
        os.remove(log_path)
        raise SimulatorError("the simulator %s: %s" % (problem, output.strip()))


def serve(simulator_path, owner, owner_start, state):
    spec = importlib.util.spec_from_file_location("mimecast_simulator", simulator_path)
    simulator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(simulator)
    server = simulator.SimulatorServer("127.0.0.1", 0, log_requests=False).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_args: stop.set())
    stat = _stat(os.getpid())
    info = {
        "url": server.url,
        "ca_cert": server.ca_cert,
        "pid": os.getpid(),
        "pid_start": stat[1] if stat else "",
        "owner": owner,
        "credentials": dict((key, server.state.config[key]) for key in CREDENTIAL_KEYS),
    }
    temporary = "%s.%d.tmp" % (state, os.getpid())
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(info, handle)
    os.replace(temporary, state)
    sys.stderr.write("mimecast_sim.py: simulator %d at %s for process %d\n" % (os.getpid(), server.url, owner))
    sys.stderr.flush()
    try:
        while alive(owner, owner_start) and not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        if (_read_json(state) or {}).get("pid") == os.getpid():
            _remove(state, ".json", ".log", "" if alive(owner, owner_start) else ".lock")
    return 0


def config(integration_config, out):
    """Write the variables of a script target's playbooks (the simulator's address and accounts) to ``out``."""
    variables = {}
    if os.path.exists(integration_config):
        import yaml  # noqa: PLC0415 (ansible-core's dependency; only this command needs it)

        with open(integration_config) as handle:
            variables = yaml.safe_load(handle) or {}
    if "mimecast_sim_url" not in variables:
        info = ensure()
        variables["mimecast_sim_url"] = info["url"]
        if info.get("ca_cert"):
            variables["mimecast_sim_ca_cert"] = info["ca_cert"]
        for key in CREDENTIAL_KEYS:
            variables.setdefault("mimecast_" + key, info["credentials"][key])
    variables.setdefault("mimecast_auth_kinds", AUTH_KINDS)
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(variables, handle, indent=2)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    serving = commands.add_parser("serve")
    serving.add_argument("--simulator", required=True)
    serving.add_argument("--owner", type=int, required=True)
    serving.add_argument("--owner-start", default="")
    serving.add_argument("--state", required=True)
    configuring = commands.add_parser("config")
    configuring.add_argument("integration_config")
    configuring.add_argument("out")
    args = parser.parse_args()
    if args.command == "serve":
        return serve(args.simulator, args.owner, args.owner_start, args.state)
    if args.command == "config":
        try:
            print(config(args.integration_config, args.out))
        except SimulatorError as exc:
            sys.stderr.write("mimecast_sim.py: %s\n" % exc)
            return 1
        return 0
    parser.error("give a command: config or serve")
    return 2


if __name__ == "__main__":
    sys.exit(main())
