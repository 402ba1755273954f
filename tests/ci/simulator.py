"""``Simulator``: a fresh Mimecast simulator for the duration of a ``with`` block, stopped whatever happens.

The simulator (tests/simulator/mimecast_simulator.py) listens on a free port of 127.0.0.1 and writes its
address to a ready file. noxfile.py (demo), tests/ci/awx_jobs.py and the benchmarks use this class; the connection
goes to a playbook as the environment variables the modules read (``environment``). The integration targets start
their own (tests/integration/targets/setup_mimecast).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMULATOR = os.path.join(ROOT, "tests", "simulator", "mimecast_simulator.py")
START_TIMEOUT = 30
STOP_TIMEOUT = 10

# The simulator's built-in accounts.
sys.path.insert(0, os.path.dirname(SIMULATOR))
from mimecast_simulator import CREDENTIAL_KEYS, DEFAULT_CONFIG  # noqa: E402

CREDENTIALS = {key: DEFAULT_CONFIG[key] for key in CREDENTIAL_KEYS}


class SimulatorError(RuntimeError):
    pass


class Simulator:
    """A simulator process on a free loopback port, for the duration of a ``with`` block."""

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, object] = {}
        self._workdir = tempfile.TemporaryDirectory(prefix="mimecast-sim-")

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def __enter__(self) -> Simulator:
        if not os.path.exists(SIMULATOR):
            raise SimulatorError(f"simulator not found: {SIMULATOR}")
        ready_file = os.path.join(self._workdir.name, "ready.json")
        log_path = os.path.join(self._workdir.name, "simulator.log")
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [self.python, SIMULATOR, "--host", "127.0.0.1", "--port", "0", "--ready-file", ready_file],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.info = self._wait_ready(ready_file)
            self._check_health()
        except BaseException:
            self.stop()
            self._print_log()
            raise
        print(f"simulator.py: simulator {self.info.get('pid')} listening at {self.url}", flush=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if exc_info[0] is not None:
            self._print_log()
        self._workdir.cleanup()

    def _wait_ready(self, ready_file: str) -> dict[str, object]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SimulatorError(f"simulator exited with status {self.process.returncode} before it was ready")
            try:
                with open(ready_file, encoding="utf-8") as handle:
                    return json.load(handle)
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.1)  # not written yet, or written half-way
        raise SimulatorError(f"simulator not ready after {START_TIMEOUT}s")

    def _check_health(self) -> None:
        request = urllib.request.Request(self.url.rstrip("/") + "/_sim/health")
        context = None
        if self.url.startswith("https") and self.info.get("ca_cert"):
            import ssl

            context = ssl.create_default_context(cafile=str(self.info["ca_cert"]))
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310 (loopback)
            if response.status != 200:
                raise SimulatorError(f"simulator health check answered {response.status}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _print_log(self) -> None:
        log_path = os.path.join(self._workdir.name, "simulator.log")
        if os.path.exists(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                sys.stderr.write("---- simulator log ----\n" + handle.read() + "---- end of simulator log ----\n")

    def environment(self) -> dict[str, str]:
        """Return the environment variables through which the modules reach the simulator (API 2.0).

        Only the OAuth2 client is exported: the modules would have to choose between two
        complete sets of credentials otherwise.
        """
        return {
            "MIMECAST_BASE_URL": self.url,
            "MIMECAST_CLIENT_ID": CREDENTIALS["client_id"],
            "MIMECAST_CLIENT_SECRET": CREDENTIALS["client_secret"],
        }
