"""Helpers for the acceptance tests of the local control plane (tools/localkube).

A module with a unique name (not conftest) so test files can import it next to other test folders."""
import os
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LOCALKUBE = os.path.join(REPO, "tools", "localkube", "localkube.py")
STATE = os.path.join(REPO, ".localkube")


def wait_for(condition, timeout=30, interval=0.1, what="condition", until=None):
    """Poll ``condition()`` until it returns something truthy; return that value.

    With ``until``, poll until ``until(condition())`` is true and return ``condition()``'s value.
    ``what`` names the condition in the failure message; a callable is asked at failure time."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if (until(value) if until else value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what() if callable(what) else what))
        time.sleep(interval)


def pod_ready(pod):
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def ready_time(pod):
    return next(c.last_transition_time for c in pod.status.conditions if c.type == "Ready")


class PodRecorder:
    """Records every pod watch event of one namespace, with the local time it arrived.

    Starts from the namespace's current resourceVersion, so nothing between start() and the
    first event is missed.
    """

    def __init__(self, core, namespace):
        self.core = core
        self.namespace = namespace
        self.events = []  # (monotonic time, type, pod name, ready, phase, deleting)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._rv = self.core.list_namespaced_pod(self.namespace).metadata.resource_version
        self._thread.start()
        return self

    def _run(self):
        from kubernetes import watch

        rv = self._rv
        while not self._stop.is_set():
            w = watch.Watch()
            for event in w.stream(self.core.list_namespaced_pod, self.namespace, resource_version=rv,
                                  timeout_seconds=5, _request_timeout=10):
                pod = event["object"]
                rv = pod.metadata.resource_version
                self.events.append((time.monotonic(), event["type"], pod.metadata.name, pod_ready(pod),
                                    pod.status.phase, pod.metadata.deletion_timestamp is not None))
                if self._stop.is_set():
                    w.stop()

    def stop(self):
        self._stop.set()

    def first(self, name, type_=None, ready=None, deleting=None):
        """Index of the first recorded event matching all the given fields, or None."""
        for i, (_when, etype, pname, pready, _phase, pdel) in enumerate(self.events):
            if pname != name or (type_ and etype != type_) or (ready is not None and pready != ready):
                continue
            if deleting is not None and pdel != deleting:
                continue
            return i
        return None
