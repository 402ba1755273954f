# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Per-task wall time for benchmarks/bench_group_vs_uri.py (not part of the collection).

Writes one JSON line per finished task to the file named by BENCH_TIMER_OUTPUT:
``{"task": name, "seconds": wall time from task start to result, "status": ok|failed|..., "changed": bool}``.
The clock starts in ``v2_playbook_on_task_start`` (before the worker is forked, the arguments templated
and the module sent) and stops when the result reaches the controller, so it is the whole cost of a task
as a playbook sees it, minus the stdout callback's own printing of the task banner.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Write each task's wall time to a JSON lines file (benchmark helper)
description:
  - Used by benchmarks/bench_group_vs_uri.py only. The output file is named by BENCH_TIMER_OUTPUT.
requirements:
  - enabled in callbacks_enabled
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("BENCH_TIMER_OUTPUT")
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = (task.get_name(), time.perf_counter())

    def _record(self, result, status):
        end = time.perf_counter()
        name, start = self._started.pop(result._task._uuid, (result._task.get_name(), None))
        if not self._path:
            return
        entry = {
            "task": name,
            "seconds": None if start is None else end - start,
            "status": status,
            "changed": bool(result._result.get("changed")),
        }
        if status != "ok":
            entry["msg"] = str(result._result.get("msg", ""))[:500]
        with open(self._path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
