# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait for a StatefulSet by watching it and its pods; say which ordinal is stuck and why.

Two watches (watch.py: the StatefulSet by name, its pods by selector) feed one queue; the wait
mode's check (readiness.WAIT_CHECKS) is re-evaluated on every event, so the wait ends the moment
the condition holds. No sleeping in a loop: the only timed wake-ups are the deadline, the stall
timer and minReadySeconds expiries.

The stall timer restarts on every step forward, including the container-level ones a StatefulSet's
status does not show (readiness.advance). When it is about to warn or fire, one Event list tells
whether a kubelet is still pulling an image or a container is still inside the time its startup
probe allows (readiness.pod_working): then the wait goes on, bounded by wait_timeout; otherwise it
warns, then fails naming the stuck ordinal. The cost: one more Event list per stall_timeout / 2
while such work lasts.
"""
from __future__ import annotations

import queue
import threading
import time

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    ordinal_range,
    pvc_names,
    selector_string,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.progress import ProgressWriter
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.readiness import (
    WAIT_CHECKS,
    advance,
    build_timeline,
    diagnose_pod,
    events_for,
    order_violations,
    pod_state,
    pod_working,
    pods_ready,
    statefulset_status_ready,
    stuck_ordinal,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.watch import Watch


class WaitTimeout(K8sError):
    """The wait ended without the condition; ``msg`` names the stuck ordinal and why."""

    def __init__(self, msg, timeline=None, statefulset=None, stuck=None):
        super().__init__(msg)
        self.timeline = timeline or []
        self.statefulset = statefulset
        self.stuck = stuck


class WaitResult:
    """What a successful wait saw: the final object, the per-ordinal timeline, how long and what it cost."""

    def __init__(self, statefulset, timeline, wait_seconds, warnings, order_problems, requests):
        self.statefulset = statefulset
        self.timeline = timeline
        self.wait_seconds = wait_seconds
        self.warnings = warnings
        self.order_problems = order_problems
        self.requests = requests


class RolloutWaiter:
    """Watch a StatefulSet and its pods until it is ready (or gone, or the ordinals are removed)."""

    def __init__(self, client, namespace, name, wait_timeout=300, stall_timeout=120, log=None,
                 clock=time.monotonic, wall=time.time):
        self.client = client
        self.namespace = namespace
        self.name = name
        self.wait_timeout = wait_timeout
        self.stall_timeout = stall_timeout
        self.log = log or (lambda msg: None)
        self.clock = clock
        self.wall = wall
        self.sts = None
        self.pods = {}
        self.warnings = []
        self.watches = []
        self.progress = ProgressWriter(namespace, name)  # a no-op unless the progress callback listens

    def _progress_key(self):
        status = (self.sts or {}).get("status") or {}
        pods = tuple(sorted((s["name"], s["ready"], s["terminating"], s["phase"], s["revision"],
                             sorted(s["reached"].items())) for s in self.pods.values()))
        return (status.get("observedGeneration"), status.get("replicas"), status.get("readyReplicas"),
                status.get("availableReplicas"), status.get("updatedReplicas"), status.get("currentRevision"),
                pods)

    def _note_pod(self, kind, obj):
        self.progress.pod(kind, obj)
        previous = self.pods.get((obj.get("metadata") or {}).get("name"))
        state = advance(previous, pod_state(obj))
        if kind == "DELETED":
            self.pods.pop(state["name"], None)
            self.log("%s: deleted" % state["name"])
            return
        self.pods[state["name"]] = state
        if previous is None:
            self.log("%s: created" % state["name"])
        elif state["ready"] and not previous["ready"]:
            self.log("%s: ready" % state["name"])
        elif state["scheduled"] and not previous["scheduled"]:
            self.log("%s: scheduled on %s" % (state["name"], state["node"]))

    def wait(self, until="ready"):
        """Block until ``until`` (a mode of readiness.WAIT_CHECKS) holds; raise WaitTimeout naming the stuck ordinal."""
        if until not in WAIT_CHECKS:
            raise ValueError("until must be one of %s, not %r" % (", ".join(sorted(WAIT_CHECKS)), until))
        started = self.clock()
        deadline = started + self.wait_timeout
        events = queue.Queue()
        stop = threading.Event()
        sts_watch = Watch(self.client, "apps/v1", "StatefulSet", self.namespace, events, stop, deadline,
                          field_selector="metadata.name=%s" % self.name)
        sts_watch.start()
        self.watches = [sts_watch]
        pod_watch = None
        synced = set()
        last_progress_key = None
        last_progress = started
        warned_stall = False
        wakeup = None
        try:
            while True:
                now = self.clock()
                if "StatefulSet" in synced and (until != "ready" or self.sts is not None) and (
                        pod_watch is None or "Pod" in synced):
                    done, _why, wakeup = self._done(until, self.wall())
                    if done:
                        return self._result(started)
                key = self._progress_key()
                if key != last_progress_key:
                    last_progress_key, last_progress = key, now
                    warned_stall = False
                if now >= deadline:
                    raise self._timeout("wait_timeout (%ss) reached" % self.wait_timeout, started)
                if self.stall_timeout and "Pod" in synced and now - last_progress >= (
                        self.stall_timeout if warned_stall or self.sts is None else self.stall_timeout / 2):
                    seen = self._events()
                    working = self._working(seen)
                    if working:
                        self.log("%s; waiting on" % working)
                        last_progress, warned_stall = now, False
                        continue
                    if now - last_progress >= self.stall_timeout:
                        raise self._timeout("no progress for stall_timeout (%ss)" % self.stall_timeout, started, seen)
                    warned_stall = True
                    self._warn_stall(now - last_progress, seen)
                timeout = deadline - now
                if self.stall_timeout:
                    stall_at = last_progress + (self.stall_timeout if warned_stall or self.sts is None
                                                else self.stall_timeout / 2)
                    timeout = min(timeout, max(0.0, stall_at - now))
                if wakeup is not None:
                    timeout = min(timeout, max(0.0, wakeup - self.wall()))
                try:
                    item = events.get(timeout=max(0.01, timeout))
                except queue.Empty:
                    continue
                if item[0] == "error":
                    raise item[2]
                if item[0] == "sync":
                    kind, items = item[1], item[2]
                    if kind == "StatefulSet":
                        self.sts = items[0] if items else None
                        if self.sts is None and until == "ready":
                            raise K8sError("StatefulSet %s/%s does not exist" % (self.namespace, self.name))
                        if self.sts is not None and pod_watch is None:
                            pod_watch = Watch(self.client, "v1", "Pod", self.namespace, events, stop, deadline,
                                              label_selector=selector_string(self.sts["spec"].get("selector")))
                            pod_watch.start()
                            self.watches.append(pod_watch)
                        if self.sts is None and until != "ready" and pod_watch is None:
                            # Pods may outlive an orphaning delete; only "deleted" cares about them.
                            if until == "deleted":
                                pod_watch = Watch(self.client, "v1", "Pod", self.namespace, events, stop,
                                                  deadline, label_selector=None)
                                pod_watch.start()
                                self.watches.append(pod_watch)
                    else:
                        self.pods = {}
                        for obj in items:
                            self._note_pod("ADDED", obj)
                    synced.add(kind)
                    continue
                kind, event_type, obj = item[1], item[2], item[3]
                if kind == "StatefulSet":
                    self.sts = None if event_type == "DELETED" else obj
                    if self.sts is None and until == "ready":
                        raise K8sError("StatefulSet %s/%s was deleted while waiting for it" % (
                            self.namespace, self.name))
                else:
                    self._note_pod(event_type, obj)
        finally:
            stop.set()

    def _done(self, until, wall_now):
        """(done, why-not, next_wakeup) from the wait mode's check over what the watches saw."""
        return WAIT_CHECKS[until](self.name, self.sts, self.pods, wall_now)

    def _result(self, started):
        if self.sts is not None and not pods_ready(self.sts, self.pods, float("inf"))[0]:
            # The status said ready before the last pod events reached us: one list completes the timeline.
            try:
                listing = self.client.list("v1", "Pod", self.namespace,
                                           label_selector=selector_string(self.sts["spec"].get("selector")))
                self.pods = {p["metadata"]["name"]: advance(None, pod_state(p)) for p in listing.get("items") or []}
                for pod in listing.get("items") or []:
                    self.progress.pod("MODIFIED", pod)
            except K8sError:
                pass  # the wait succeeded; an incomplete timeline is not worth failing for
        timeline = build_timeline(self.name, self.pods)
        problems = order_violations(self.sts, self.pods) if self.sts else []
        result = WaitResult(self.sts, timeline, round(self.clock() - started, 3), self.warnings, problems,
                            self.client.request_count)
        result.watch_resumes = sum(w.reconnects + w.relists for w in self.watches)
        return result

    def _events(self):
        """The namespace's events (one list), or None when they cannot be read."""
        try:
            return self.client.list("v1", "Event", self.namespace).get("items") or []
        except K8sError:
            return None

    def _working(self, events):
        """What a not-Ready pod is still doing (pulling an image, starting under its startup probe), or None."""
        if self.sts is None:
            return None
        wall_now = self.wall()
        for name in sorted(self.pods):
            working = pod_working(self.pods[name], events or [], wall_now)
            if working:
                return working
        return None

    def _diagnose(self, events=None):
        """(ordinal, message) for the stuck ordinal, reading pods/PVCs/events once."""
        if self.sts is None:
            return None, "the StatefulSet does not exist"
        ordinal = stuck_ordinal(self.sts, self.pods)
        why = statefulset_status_ready(self.sts)[1]
        if ordinal is None:
            return None, why
        pod_name = "%s-%d" % (self.name, ordinal)
        try:
            pod = self.client.get("v1", "Pod", pod_name, self.namespace)
            claims = [self.client.get("v1", "PersistentVolumeClaim", c, self.namespace)
                      for c in pvc_names(self.sts, ordinal)]
            claims = [c for c in claims if c]
            if events is None:
                events = (self.client.list("v1", "Event", self.namespace).get("items") or [])
            classes = []
            if any((c.get("status") or {}).get("phase") != "Bound" for c in claims):
                classes = self.client.list("storage.k8s.io/v1", "StorageClass").get("items") or []
        except K8sError as exc:
            return ordinal, "pod %s (details unavailable: %s)" % (pod_name, exc.msg)
        sts_events = events_for(events, "StatefulSet", self.name)
        extra = ordinal not in ordinal_range(self.sts)
        if extra and pod is not None:
            reason, message = diagnose_pod(pod, claims, classes, events, pod_name)
            if reason in ("Running", "Unknown", "Pending"):
                message = "pod %s should be removed by scale-in but still exists (%s)" % (pod_name, message)
            return ordinal, message
        reason, message = diagnose_pod(pod, claims, classes, events, pod_name, sts_events)
        return ordinal, message

    def _warn_stall(self, seconds, events=None):
        ordinal, message = self._diagnose(events)
        self.warnings.append("StatefulSet %s/%s: no progress for %ds; %s" % (
            self.namespace, self.name, seconds, message))

    def _timeout(self, why, started, events=None):
        ordinal, message = self._diagnose(events)
        status_why = statefulset_status_ready(self.sts)[1] if self.sts else "StatefulSet missing"
        if ordinal is not None:
            text = "StatefulSet %s/%s not ready: %s; stuck at ordinal %d: %s (status: %s)" % (
                self.namespace, self.name, why, ordinal, message, status_why)
        else:
            text = "StatefulSet %s/%s not ready: %s; %s" % (self.namespace, self.name, why, message)
        return WaitTimeout(text, timeline=build_timeline(self.name, self.pods), statefulset=self.sts, stuck=ordinal)
