# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: progress
type: notification
short_description: Show each pod's progress while statefuldb.k8s waits for a StatefulSet
description:
  - While M(statefuldb.k8s.statefulset) (and the C(statefuldb.k8s.mysql_cluster) role through it) waits,
    prints one line per pod transition as it happens, for example
    C(12:00:03.4 data/mysql-1 Pending → Running) and the seconds it spent Pending, next to whatever stdout callback is in use,
    with any number of forks and without C(-v).
  - It exports C(STATEFULDB_K8S_PROGRESS_DIR) (a private temporary directory) before Ansible starts its
    workers; a waiting module that runs on the controller (C(connection=local) or C(delegate_to=localhost))
    appends its transitions there, and a thread of this callback prints new lines every O(interval) seconds.
    Modules running on other hosts do not see the variable and write nothing.
  - A notification callback, so it must be enabled, for example with C(ANSIBLE_CALLBACKS_ENABLED=statefuldb.k8s.progress)
    or C(callbacks_enabled) in C(ansible.cfg). In AWX or Automation Platform set that variable in the job
    template's environment (or the project's C(ansible.cfg)); the lines then appear in the job output.
  - Not enabled, it costs nothing; the modules only look up one environment variable.
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
requirements:
  - The waiting module runs on the controller (C(connection=local) or C(delegate_to=localhost)).
options:
  interval:
    description: Seconds between two looks for new progress lines.
    type: float
    default: 0.5
    env:
      - name: STATEFULDB_K8S_PROGRESS_INTERVAL
    ini:
      - section: callback_statefuldb_k8s_progress
        key: interval
"""

import atexit
import json
import os
import shutil
import tempfile
import threading
import time

from ansible.plugins.callback import CallbackBase

ENV = "STATEFULDB_K8S_PROGRESS_DIR"  # keep in sync with module_utils/k8s/progress.py


class Follower:
    """Reads the complete new lines of every ``*.jsonl`` file in a directory, oldest first."""

    def __init__(self, directory):
        self.directory = directory
        self.offsets = {}

    def poll(self):
        records = []
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(".jsonl"))
        except OSError:
            return records
        for name in names:
            path = os.path.join(self.directory, name)
            offset = self.offsets.get(name, 0)
            try:
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except OSError:
                continue
            end = data.rfind(b"\n")
            if end < 0:
                continue  # a line still being written is read next time
            self.offsets[name] = offset + end + 1
            for raw in data[:end].splitlines():
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("pod") and record.get("state"):
                    records.append(record)
        records.sort(key=lambda r: r.get("t") or 0)
        return records


def render(record):
    """One line for one transition, e.g. ``12:00:03.4 data/mysql-1 Pending → Running (12.0 s)``."""
    stamp = record.get("t") or time.time()
    clock = time.strftime("%H:%M:%S", time.localtime(stamp)) + ".%d" % int((stamp % 1) * 10)
    namespace = (record.get("sts") or "").split("/")[0]
    pod = "%s/%s" % (namespace, record["pod"]) if namespace else record["pod"]
    if record.get("previous"):
        text = "%s %s → %s (%s s)" % (pod, record["previous"], record["state"], record.get("after"))
    else:
        text = "%s %s" % (pod, record["state"])
    if record.get("why"):
        text += ": %s" % record["why"]
    return "%s %s" % (clock, text)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "statefuldb.k8s.progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = None
        self.follower = None
        self.thread = None
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def v2_playbook_on_start(self, playbook):
        if self.directory is not None:
            return
        # Exported before the workers fork, so modules run on the controller inherit it.
        self.directory = tempfile.mkdtemp(prefix="statefuldb-progress-")
        os.environ[ENV] = self.directory
        atexit.register(self._close)
        self.follower = Follower(self.directory)
        self.thread = threading.Thread(target=self._follow, name="statefuldb-progress", daemon=True)
        self.thread.start()

    def _follow(self):
        interval = max(0.05, float(self.get_option("interval")))
        while not self.stop.wait(interval):
            self._show()

    def _show(self):
        with self.lock:
            if self.follower is None:
                return
            for record in self.follower.poll():
                self._display.display(render(record))

    def _flush(self, *args, **kwargs):
        self._show()

    # The lines of a finished task are shown when its result arrives, not one interval later.
    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_unreachable = _flush

    def v2_playbook_on_stats(self, stats):
        self._close()

    def _close(self):
        self.stop.set()
        self._show()
        with self.lock:
            self.follower = None
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)
                if os.environ.get(ENV) == self.directory:
                    del os.environ[ENV]
                self.directory = None
