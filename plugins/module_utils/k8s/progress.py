# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-ordinal progress of a wait, written as JSON lines for the statefuldb.k8s.progress callback.

Nobody watching costs one environment lookup: the callback exports ``STATEFULDB_K8S_PROGRESS_DIR``
in the controller before it forks workers, so only a module that runs on the controller
(``connection: local``, ``delegate_to: localhost``) inherits it. Elsewhere the variable is absent
and every call below is a no-op. Writing never fails the task: an unwritable file turns the writer off.

One line per transition of a pod (Pending with why, Running, Ready, Terminating, Deleted), and one
when a pod stays Pending for a new reason:
``{"t": <epoch seconds>, "sts": "ns/name", "pod": "name-1", "state": "Pending", "why": "...",
"after": <seconds in the previous state>, "previous": "Pending"}``.
"""
from __future__ import annotations

import json
import os
import time

ENV = "STATEFULDB_K8S_PROGRESS_DIR"


def pod_progress_state(pod):
    """(state, why) of a pod as a person reads it; why is short or None."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating", None
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if (conditions.get("Ready") or {}).get("status") == "True":
        return "Ready", None
    phase = status.get("phase") or "Pending"
    if phase != "Pending":
        return phase, None
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return "Pending", waiting["reason"]
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False":
        message = scheduled.get("message") or scheduled.get("reason") or "unschedulable"
        if "PersistentVolumeClaim" in message:
            claims = [v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or []
                      if (v.get("persistentVolumeClaim") or {}).get("claimName")]
            return "Pending", ("claim %s not bound" % ", ".join(claims)) if claims else message
        return "Pending", message
    if not (pod.get("spec") or {}).get("nodeName"):
        return "Pending", "not scheduled yet"
    return "Pending", None


class ProgressWriter:
    """Appends one JSON line per pod transition; does nothing when the callback is not listening."""

    def __init__(self, namespace, name, path=None, clock=time.time):
        self.sts = "%s/%s" % (namespace, name)
        self.clock = clock
        self.last = {}  # pod -> (state, why, since)
        self.path = path
        if path is None:
            directory = os.environ.get(ENV)
            if directory and os.path.isdir(directory):
                self.path = os.path.join(directory, "%s.%s.%d.jsonl" % (namespace, name, os.getpid()))

    @property
    def enabled(self):
        return self.path is not None

    def pod(self, event_type, pod):
        if self.path is None:
            return
        name = (pod.get("metadata") or {}).get("name")
        if not name:
            return
        state, why = ("Deleted", None) if event_type == "DELETED" else pod_progress_state(pod)
        now = self.clock()
        previous = self.last.get(name)
        line = {"t": round(now, 3), "sts": self.sts, "pod": name, "state": state}
        if previous is not None and previous[0] == state:
            # Same state: only a new, known reason is worth a line (Pending: ContainerCreating).
            if not why or why == previous[1]:
                return
            self.last[name] = (state, why, previous[2])
        else:
            self.last[name] = (state, why, now)
            if previous is not None:
                line["previous"] = previous[0]
                line["after"] = round(now - previous[2], 1)
        if why:
            line["why"] = why
        self._write(line)

    def _write(self, line):
        try:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(line, sort_keys=True) + "\n")
        except (OSError, ValueError):
            self.path = None  # progress is a courtesy; never fail or slow the wait over it


def from_env(namespace, name):
    return ProgressWriter(namespace, name)
