"""Fakes for the k8s module_utils tests: a scripted API client and object builders (no network)."""
import copy
import time


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

    def watch(self, *args, **kwargs):
        return self._answer("watch", *args, **kwargs)


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


class _Policy:
    def clock(self):
        return time.monotonic()

    def wait(self, attempt, retry_after=None, budget_end=None):
        time.sleep(0.01)
        return attempt < 50


def _fields(body):
    """A fieldsV1-like tree of a server-side apply body: every key it sets (lists are atomic here)."""
    if not isinstance(body, dict):
        return {}
    return {"f:" + key: _fields(value) for key, value in body.items()}


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _leaves(tree, prefix=""):
    for key, sub in tree.items():
        path = prefix + "." + key[2:]
        if sub:
            yield from _leaves(sub, path)
        else:
            yield path


def _drop(tree, path):
    """Remove a leaf path (".spec.replicas") from a fieldsV1-like tree, and the branches it leaves empty."""
    first, _sep, rest = path.strip(".").partition(".")
    key = "f:" + first
    if key not in tree:
        return
    if rest:
        _drop(tree[key], rest)
    if not rest or not tree[key]:
        del tree[key]


def _value(obj, path):
    for part in path.strip(".").split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


class FakeCluster:
    """An in-memory API server for lifecycle tests: objects keyed by kind/namespace/name, a small
    server-side apply (merge, field owners, conflicts without force, an immutable StatefulSet selector),
    label selectors, deletes, and watches that replay what happened. ``on_delete`` hooks play controllers.
    """

    def __init__(self, objects=()):
        self.objects = {}
        self.rv = 100
        self.clock_second = 0
        self.events = []
        self.calls = []
        self.request_count = 0
        self.last_status, self.last_headers, self.last_elapsed = 200, {}, 0.01
        self.policy = _Policy()
        self.on_delete = []
        for obj in objects:
            self.add(obj)

    def _bump(self):
        self.rv += 1
        return str(self.rv)

    def add(self, obj, event=None):
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = self._bump()
        self.objects[(obj["kind"], meta.get("namespace"), meta["name"])] = obj
        if event:
            self.events.append((self.rv, obj["kind"], event, copy.deepcopy(obj)))
        return obj

    def _call(self, name, args, kwargs):
        self.calls.append((name, args, kwargs))
        self.request_count += 1
        self.last_status = 200

    def get(self, api_version, kind, name, namespace=None):
        self._call("get", (api_version, kind, name, namespace), {})
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None, **query):
        recorded = {"label_selector": label_selector, "field_selector": field_selector}
        self._call("list", (api_version, kind, namespace), recorded)
        wanted = dict(p.split("=", 1) for p in (label_selector or "").split(",") if p)
        name = (field_selector or "").partition("metadata.name=")[2] or None
        items = [copy.deepcopy(o) for (k, ns, n), o in sorted(self.objects.items())
                 if k == kind and (namespace is None or ns == namespace) and (name is None or n == name)
                 and all(((o["metadata"].get("labels") or {}).get(a) == b) for a, b in wanted.items())]
        return {"metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def delete(self, api_version, kind, name, namespace=None, propagation_policy=None, dry_run=False):
        options = {"propagation_policy": propagation_policy, "dry_run": dry_run}
        self._call("delete", (api_version, kind, name, namespace), options)
        obj = self.objects.get((kind, namespace, name))
        if obj is None or dry_run:
            return copy.deepcopy(obj)
        self.remove(kind, namespace, name)
        for hook in self.on_delete:
            hook(self, obj)
        return copy.deepcopy(obj)

    def remove(self, kind, namespace, name):
        obj = self.objects.pop((kind, namespace, name))
        obj["metadata"]["resourceVersion"] = self._bump()
        self.events.append((self.rv, kind, "DELETED", copy.deepcopy(obj)))

    def patch(self, api_version, kind, name, namespace, body, patch_type="merge", dry_run=False,
              field_manager=None, force=None, subresource=None):
        self._call("patch", (api_version, kind, name, namespace, copy.deepcopy(body)),
                   {"patch_type": patch_type, "dry_run": dry_run, "field_manager": field_manager, "force": force})
        from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError
        live = self.objects.get((kind, namespace, name))
        fields = _fields({k: v for k, v in body.items() if k not in ("apiVersion", "kind")})
        if live is None:
            new = _merge({}, body)
            self.last_status = 201
        else:
            new = _merge(copy.deepcopy(live), body)
            conflicts = []
            for entry in live["metadata"].get("managedFields") or []:
                if entry["manager"] == field_manager:
                    continue
                for path in _leaves(entry.get("fieldsV1") or {}):
                    if path in set(_leaves(fields)) and _value(new, path) != _value(live, path):
                        conflicts.append({"reason": "FieldManagerConflict", "field": path,
                                          "message": "conflict with \"%s\"" % entry["manager"]})
            if conflicts and not force:
                raise K8sApiError("conflict", status=409, reason="Conflict", body={
                    "message": "Apply failed with %d conflict" % len(conflicts), "details": {"causes": conflicts}})
            for entry in new["metadata"].get("managedFields") or []:  # forced: the others lose those fields
                for conflict in conflicts:
                    if conflict["message"] == "conflict with \"%s\"" % entry["manager"]:
                        _drop(entry.get("fieldsV1") or {}, conflict["field"])
            if kind == "StatefulSet" and new["spec"].get("selector") != live["spec"].get("selector"):
                raise K8sApiError("invalid", status=422, reason="Invalid", body={
                    "message": "StatefulSet.apps \"%s\" is invalid: spec: Forbidden: updates to statefulset spec "
                               "for fields other than 'replicas' are forbidden" % name,
                    "details": {"causes": [{"field": "spec", "message": "Forbidden: updates to statefulset spec"}]}})
        entries = [e for e in (new.get("metadata") or {}).get("managedFields") or []
                   if e["manager"] != field_manager]
        previous = [e for e in (live or {}).get("metadata", {}).get("managedFields") or []
                    if e["manager"] == field_manager]
        compare_live = copy.deepcopy(live or {})
        compare_new = copy.deepcopy(new)
        for obj in (compare_live, compare_new):
            obj.get("metadata", {}).pop("managedFields", None)
        changed = compare_live != compare_new
        time_stamp = previous[0]["time"] if previous and not changed else None
        if time_stamp is None:
            self.clock_second += 1
            time_stamp = "2026-01-01T00:00:%02dZ" % self.clock_second
        entries.append({"manager": field_manager, "operation": "Apply", "apiVersion": api_version,
                        "time": time_stamp, "fieldsType": "FieldsV1", "fieldsV1": fields})
        new.setdefault("metadata", {})["managedFields"] = entries
        if live is not None and not changed and previous and previous[0]["fieldsV1"] == fields:
            return copy.deepcopy(live)
        if dry_run:
            return new
        return copy.deepcopy(self.add(new, "ADDED" if live is None else "MODIFIED"))

    def watch(self, api_version, kind, namespace=None, resource_version=None, **kwargs):
        self._call("watch", (api_version, kind, namespace), {"resource_version": resource_version})
        since = int(resource_version or 0)
        events = [{"type": t, "object": o} for rv, k, t, o in self.events if k == kind and rv > since
                  and (namespace is None or o["metadata"].get("namespace") == namespace)]
        if not events:
            time.sleep(0.02)  # an idle stream that the server closes
        return iter(events)


def claim(name, labels=None, namespace="ns"):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


# -- watches ---------------------------------------------------------------------------------------
class ScriptedPolicy:
    """The retry policy's face the watch engine sees: counts waits, allows four resumes in a row."""

    def __init__(self):
        self.waits = 0
        self.budget_ends = []

    def clock(self):
        return time.monotonic()

    def wait(self, attempt, retry_after=None, budget_end=None):
        self.waits += 1
        self.budget_ends.append(budget_end)
        return attempt < 5


class ScriptedWatchClient:
    """list() answers from a table; watch() plays scripted streams (lists of events or an exception)."""

    def __init__(self, lists, streams, objects=None):
        self.objects = objects or {}
        self.lists = lists
        self.streams = streams
        self.policy = ScriptedPolicy()
        self.request_count = 0
        self.watch_calls = []
        self.list_calls = []

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None, **query):
        self.request_count += 1
        self.list_calls.append(kind)
        answers = self.lists[kind]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def watch(self, api_version, kind, namespace=None, resource_version=None, **kwargs):
        self.request_count += 1
        self.watch_calls.append((kind, resource_version))
        script = self.streams[kind].pop(0) if self.streams[kind] else None
        if script is None:
            import threading
            threading.Event().wait(5)  # an idle stream
            return iter(())
        if isinstance(script, Exception):
            raise script
        return iter(script)

    def get(self, api_version, kind, name, namespace=None):
        self.request_count += 1
        return self.objects.get((kind, name))


def listing(items, rv="1"):
    return {"metadata": {"resourceVersion": rv}, "items": items}


def event(kind, name, reason, message, type_="Warning"):
    """A Kubernetes Event about one object."""
    return {"involvedObject": {"kind": kind, "name": name}, "reason": reason, "message": message, "type": type_,
            "lastTimestamp": "2026-01-01T00:00:10Z"}


def refuse_policy_changes(cluster):
    """Make ``cluster`` answer a change of podManagementPolicy as the API server does: 422, immutable."""
    from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.errors import K8sApiError

    def patch(*args, **kwargs):
        body = args[4]
        live = cluster.objects.get(("StatefulSet", args[3], args[2]))  # (api_version, kind, name, namespace, body)
        if live and body["spec"].get("podManagementPolicy") != live["spec"].get("podManagementPolicy"):
            raise K8sApiError("invalid", status=422, reason="Invalid", body={
                "message": "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"})
        return FakeCluster.patch(cluster, *args, **kwargs)
    cluster.patch = patch
