"""Fakes for the k8s module_utils tests: a scripted API client and object builders (no network)."""
import copy


class FakeClient:
    """Answers patch/get/list/delete from scripted responses and records every call.

    ``responses`` maps a call name to a list of results consumed in order; a result that is an
    exception is raised. ``last_status``/``last_headers`` are set per response like the real client.
    """

    def __init__(self, responses=None):
        self.responses = {k: list(v) for k, v in (responses or {}).items()}
        self.calls = []
        self.request_count = 0
        self.last_status = 200
        self.last_headers = {}
        self.last_elapsed = 0.01

    def _answer(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        self.request_count += 1
        queue = self.responses.get(name) or []
        if not queue:
            raise AssertionError("unexpected call %s %r %r" % (name, args, kwargs))
        answer = queue.pop(0)
        status, headers, body = 200, {}, answer
        if isinstance(answer, tuple):
            status, headers, body = answer
        self.last_status, self.last_headers = status, headers
        if isinstance(body, Exception):
            raise body
        return copy.deepcopy(body)

    def patch(self, *args, **kwargs):
        return self._answer("patch", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._answer("get", *args, **kwargs)

    def list(self, *args, **kwargs):
        return self._answer("list", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._answer("delete", *args, **kwargs)


def statefulset(name="db", replicas=3, generation=1, observed=1, status_replicas=None, ready=None,
                available=None, updated=None, current="r1", update="r1", partition=None, strategy="RollingUpdate",
                policy="OrderedReady", min_ready=0, templates=None, namespace="ns"):
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "serviceName": name,
            "podManagementPolicy": policy, "updateStrategy": {"type": strategy}}
    if partition is not None:
        spec["updateStrategy"]["rollingUpdate"] = {"partition": partition}
    if min_ready:
        spec["minReadySeconds"] = min_ready
    if templates is not None:
        spec["volumeClaimTemplates"] = templates
    status = {"observedGeneration": observed, "replicas": replicas if status_replicas is None else status_replicas,
              "readyReplicas": replicas if ready is None else ready,
              "availableReplicas": replicas if available is None else available,
              "updatedReplicas": replicas if updated is None else updated,
              "currentRevision": current, "updateRevision": update}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": namespace, "generation": generation, "resourceVersion": "10"},
            "spec": spec, "status": status}


def pod(name, ready=True, revision="r1", created="2026-01-01T00:00:00Z", ready_at="2026-01-01T00:00:05Z",
        phase="Running", terminating=False, scheduled=True, node="node-0", containers=None, conditions=None):
    conds = conditions if conditions is not None else [
        {"type": "PodScheduled", "status": "True" if scheduled else "False",
         "lastTransitionTime": created},
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_at},
    ]
    meta = {"name": name, "uid": "uid-" + name, "creationTimestamp": created,
            "labels": {"controller-revision-hash": revision}}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return {"metadata": meta, "spec": {"nodeName": node if scheduled else None},
            "status": {"phase": phase, "conditions": conds, "containerStatuses": containers or []}}
