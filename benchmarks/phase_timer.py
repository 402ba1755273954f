# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Phase timers for ``bench_group_vs_uri.py --profile`` (a benchmark helper, not part of the collection).

Two launchers, each run with the Python of what it times; both append one JSON line per measured unit to OUTPUT.

``python phase_timer.py controller OUTPUT ANSIBLE_PLAYBOOK ARGS...`` runs ansible-playbook in this process with
Ansible's own task machinery wrapped by timers (the workers are forked from it, so they inherit the wrappers).
Each task writes the seconds its worker spent in: ``worker`` (TaskExecutor.run), ``action`` (the action plugin's
``run``), ``build`` (``_configure_module``: the AnsiballZ payload), ``transfer`` (``_transfer_data``), ``tmp`` (the
remote temporary directory's commands: make, permissions, remove; ``tmp_in_action`` those inside ``run``) and
``module`` (the command that runs the payload).

``python phase_timer.py module OUTPUT PAYLOAD`` runs a kept AnsiballZ payload in this process, as its own
interpreter would, and writes monotonic-clock marks: ``start`` (this script's first line), ``collection``
(the first import of the collection), ``arguments_start``, ``requests_start``, ``exit`` (exit_json or
fail_json called) and ``end``, and the seconds
spent in ``AnsibleModule.__init__`` (``arguments``) and in ``MimecastClient.call`` (``requests``: signing,
JSON, the HTTP exchange and reading the answer, whatever the transport), with ``calls``. Nothing depends on
which HTTP library the module imports; a method that is not there is reported as ``null``.
"""

import time

START = time.monotonic()

import builtins  # noqa: E402 (the clock starts first)
import functools  # noqa: E402
import json  # noqa: E402
import runpy  # noqa: E402
import sys  # noqa: E402

COLLECTION = "ansible_collections.community.mimecast"
CLIENT = COLLECTION + ".plugins.module_utils.client"
BASIC = "ansible.module_utils.basic"


def _timed(owner, name, add):
    """Wrap ``owner.name`` so that each outermost call adds its seconds through ``add(seconds, args)``."""
    original = getattr(owner, name)
    depth = [0]

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        depth[0] += 1
        start = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            depth[0] -= 1
            if not depth[0]:
                add(time.monotonic() - start, args)

    setattr(owner, name, wrapper)


def controller(output, argv):
    from ansible.executor.task_executor import TaskExecutor
    from ansible.plugins.action import ActionBase

    phases = {}
    in_action = [False]
    in_tmp = [0]  # the temporary directory's own commands (a chmod names the payload too) are not the module's

    def add(key, seconds):
        phases[key] = phases.get(key, 0.0) + seconds
        if key == "tmp" and in_action[0]:
            phases["tmp_in_action"] = phases.get("tmp_in_action", 0.0) + seconds

    def tmp_command(method):
        def wrapper(*args, **kwargs):
            in_tmp[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                in_tmp[0] -= 1

        return wrapper

    def runs_payload(seconds, args):
        command = args[1] if len(args) > 1 else ""
        if not in_tmp[0] and "AnsiballZ_" in str(command):
            add("module", seconds)

    _timed(ActionBase, "_configure_module", lambda seconds, args: add("build", seconds))
    _timed(ActionBase, "_transfer_data", lambda seconds, args: add("transfer", seconds))
    for name in ("_make_tmp_path", "_fixup_perms2", "_remove_tmp_path"):
        setattr(ActionBase, name, tmp_command(getattr(ActionBase, name)))
        _timed(ActionBase, name, lambda seconds, args: add("tmp", seconds))
    _timed(ActionBase, "_low_level_execute_command", runs_payload)

    get_handler = TaskExecutor._get_action_handler_with_module_context

    def handler_with_timer(self, *args, **kwargs):
        handler, context = get_handler(self, *args, **kwargs)
        run = handler.run

        def timed_run(*run_args, **run_kwargs):
            in_action[0] = True
            start = time.monotonic()
            try:
                return run(*run_args, **run_kwargs)
            finally:
                in_action[0] = False
                phases["action"] = phases.get("action", 0.0) + time.monotonic() - start

        handler.run = timed_run
        return handler, context

    TaskExecutor._get_action_handler_with_module_context = handler_with_timer
    worker_run = TaskExecutor.run

    def timed_worker(self):
        phases.clear()
        start = time.monotonic()
        try:
            return worker_run(self)
        finally:
            entry = dict(phases, task=self._task.get_name(), worker=time.monotonic() - start)
            with open(output, "a") as handle:
                handle.write(json.dumps(entry) + "\n")

    TaskExecutor.run = timed_worker
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")


def module(output, payload):
    marks = {"start": START, "arguments": None, "requests": None, "calls": 0}
    patched = set()
    real_import = builtins.__import__

    def add(key):
        def record(seconds, args):
            marks.setdefault(key + "_start", time.monotonic() - seconds)
            marks[key] = (marks[key] or 0.0) + seconds
            if key == "requests":
                marks["calls"] += 1

        return record

    def loaded(name, attribute):
        """The module ``name`` once ``attribute`` is defined in it, or None (not imported or still importing)."""
        found = sys.modules.get(name)
        if found is None or name in patched or not hasattr(found, attribute):
            return None
        patched.add(name)
        return found

    def patch():
        basic = loaded(BASIC, "AnsibleModule")
        if basic is not None:
            marks["arguments"] = 0.0
            _timed(basic.AnsibleModule, "__init__", add("arguments"))
            for name in ("exit_json", "fail_json"):
                method = getattr(basic.AnsibleModule, name)

                def marked(*args, _method=method, **kwargs):
                    marks.setdefault("exit", time.monotonic())
                    return _method(*args, **kwargs)

                setattr(basic.AnsibleModule, name, marked)
        client = loaded(CLIENT, "MimecastClient")
        if client is not None and hasattr(client.MimecastClient, "call"):
            marks["requests"] = 0.0
            _timed(client.MimecastClient, "call", add("requests"))

    def importer(name, *args, **kwargs):
        if name.startswith(COLLECTION):
            marks.setdefault("collection", time.monotonic())
        try:
            return real_import(name, *args, **kwargs)
        finally:
            if len(patched) < 2:
                patch()

    builtins.__import__ = importer
    sys.argv = [payload]
    try:
        runpy.run_path(payload, run_name="__main__")
    except SystemExit:
        pass
    finally:
        sys.stdout.flush()
        marks["end"] = time.monotonic()
        builtins.__import__ = real_import
        with open(output, "a") as handle:
            handle.write(json.dumps(marks) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("controller", "module"):
        sys.exit("usage: phase_timer.py controller OUTPUT ANSIBLE_PLAYBOOK ARGS... | module OUTPUT PAYLOAD")
    if sys.argv[1] == "controller":
        controller(sys.argv[2], sys.argv[3:])
    else:
        module(sys.argv[2], sys.argv[3])
