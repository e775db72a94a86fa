"""StatefulSet semantics on the local control plane: the real StatefulSet, EndpointSlice, PV and
scheduler controllers, with KWOK standing in for kubelets and the hostPath provisioner for storage."""
import os

from kubernetes import client

from localkube_helpers import STATE, pod_ready, ready_time, wait_for


def headless_service(name):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"clusterIP": "None", "selector": {"app": name},
                     "ports": [{"name": "http", "port": 80}]}}


def statefulset(name, replicas=3, policy="OrderedReady", claim_templates=True, extra_pod_spec=None):
    pod_spec = {"containers": [{"name": "web", "image": "registry.k8s.io/nginx-slim:0.27",
                                "ports": [{"name": "http", "containerPort": 80}]}]}
    if claim_templates:
        pod_spec["containers"][0]["volumeMounts"] = [{"name": "www", "mountPath": "/usr/share/nginx/html"}]
    pod_spec.update(extra_pod_spec or {})
    body = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"serviceName": name, "replicas": replicas, "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}}}
    if claim_templates:
        body["spec"]["volumeClaimTemplates"] = [{
            "metadata": {"name": "www"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    return body


def create_web(core, apps, namespace, **kwargs):
    core.create_namespaced_service(namespace, headless_service("web"))
    apps.create_namespaced_stateful_set(namespace, statefulset("web", **kwargs))


def ready_pods(core, namespace, count):
    pods = core.list_namespaced_pod(namespace).items
    ready = [p for p in pods if pod_ready(p) and p.metadata.deletion_timestamp is None]
    return sorted(ready, key=lambda p: p.metadata.name) if len(ready) == count == len(pods) else None


def claims(core, namespace):
    return {c.metadata.name: c for c in core.list_namespaced_persistent_volume_claim(namespace).items}


def test_ordered_ready_statefulset_with_claims_and_endpoints(core, apps, namespace, recorder):
    create_web(core, apps, namespace)
    pods = wait_for(lambda: ready_pods(core, namespace, 3), what="web-0..2 Ready")
    assert [p.metadata.name for p in pods] == ["web-0", "web-1", "web-2"]

    # OrderedReady: web-N is created only after web-(N-1) was seen Ready, in this watch's order.
    for before, after in (("web-0", "web-1"), ("web-1", "web-2")):
        became_ready = recorder.first(before, ready=True)
        created = recorder.first(after, type_="ADDED")
        assert became_ready is not None and created is not None, recorder.events
        assert became_ready < created, "%s was created before %s was Ready: %s" % (after, before, recorder.events)
    times = [ready_time(p) for p in pods]
    assert times == sorted(times)

    # Each pod got its own claim, bound to a PV with a real directory under .localkube/volumes.
    bound = wait_for(lambda: claims(core, namespace), what="claims Bound",
                     until=lambda c: len(c) == 3 and all(x.status.phase == "Bound" for x in c.values()))
    assert sorted(bound) == ["www-web-0", "www-web-1", "www-web-2"]
    for claim in bound.values():
        pv = core.read_persistent_volume(claim.spec.volume_name)
        assert pv.spec.claim_ref.uid == claim.metadata.uid
        assert pv.spec.host_path.path == os.path.join(STATE, "volumes", pv.metadata.name)
        assert os.path.isdir(pv.spec.host_path.path)
        assert claim.spec.storage_class_name == "standard"
        assert claim.status.capacity["storage"] == "1Gi"

    # The headless Service's EndpointSlices name every pod with its hostname and pod IP.
    discovery = client.DiscoveryV1Api(core.api_client)

    def endpoints():
        slices = discovery.list_namespaced_endpoint_slice(
            namespace, label_selector="kubernetes.io/service-name=web").items
        found = {e.hostname: e for s in slices for e in (s.endpoints or [])}
        return found if sorted(found) == ["web-0", "web-1", "web-2"] else None

    found = wait_for(endpoints, what="EndpointSlices listing web-0..2")
    for pod in pods:
        endpoint = found[pod.metadata.name]
        assert endpoint.addresses == [pod.status.pod_ip]
        assert endpoint.conditions.ready is True
        assert endpoint.target_ref.name == pod.metadata.name
        assert pod.status.pod_ip.startswith("10.244.")


def test_scale_in_keeps_claims_and_scale_out_reattaches_them(core, apps, namespace, recorder):
    create_web(core, apps, namespace)
    wait_for(lambda: ready_pods(core, namespace, 3), what="web-0..2 Ready")
    before = {name: (c.metadata.uid, c.spec.volume_name) for name, c in claims(core, namespace).items()}
    marker = os.path.join(STATE, "volumes", before["www-web-1"][1], "kept.txt")
    with open(marker, "w") as f:
        f.write("written by web-1\n")

    start = len(recorder.events)
    apps.patch_namespaced_stateful_set_scale(namespace=namespace, name="web", body={"spec": {"replicas": 1}})
    deletions = wait_for(lambda: [e[2] for e in recorder.events[start:] if e[1] == "DELETED"],
                         until=lambda d: len(d) >= 2, what="two pods deleted")
    assert deletions == ["web-2", "web-1"]
    assert [p.metadata.name for p in core.list_namespaced_pod(namespace).items] == ["web-0"]
    # web-1 was not even asked to terminate before web-2 was gone.
    gone_2 = next(i for i, e in enumerate(recorder.events) if e[1] == "DELETED" and e[2] == "web-2")
    terminating_1 = next(i for i, e in enumerate(recorder.events) if e[2] == "web-1" and e[5])
    assert gone_2 < terminating_1

    kept = claims(core, namespace)
    assert sorted(kept) == ["www-web-0", "www-web-1", "www-web-2"]
    assert all(c.status.phase == "Bound" for c in kept.values())

    apps.patch_namespaced_stateful_set_scale(namespace=namespace, name="web", body={"spec": {"replicas": 3}})
    pods = wait_for(lambda: ready_pods(core, namespace, 3), what="web-0..2 Ready again")
    after = {name: (c.metadata.uid, c.spec.volume_name) for name, c in claims(core, namespace).items()}
    assert after == before
    for pod in pods:
        ordinal = pod.metadata.name.rsplit("-", 1)[1]
        volumes = {v.name: v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim}
        assert volumes == {"www": "www-web-" + ordinal}
    with open(marker) as f:
        assert f.read() == "written by web-1\n"


def test_parallel_creates_all_pods_without_waiting(core, apps, namespace):
    # Pods that can never be scheduled never become Ready: OrderedReady would stop at web-0.
    unschedulable = {"nodeSelector": {"statefuldb.io/no-such-node": "true"}}
    create_web(core, apps, namespace, policy="Parallel", claim_templates=False, extra_pod_spec=unschedulable)
    pods = wait_for(lambda: core.list_namespaced_pod(namespace).items, until=lambda p: len(p) == 3,
                    what="3 pods created")
    assert sorted(p.metadata.name for p in pods) == ["web-0", "web-1", "web-2"]
    assert not any(pod_ready(p) for p in pods)

    apps.create_namespaced_stateful_set(namespace, statefulset("ordered", replicas=3, claim_templates=False,
                                                               extra_pod_spec=unschedulable))

    def ordered_pod_unschedulable():
        pods = core.list_namespaced_pod(namespace, label_selector="app=ordered").items
        conds = [c for p in pods for c in (p.status.conditions or []) if c.type == "PodScheduled"]
        return pods if conds and conds[0].reason == "Unschedulable" else None

    pods = wait_for(ordered_pod_unschedulable, what="ordered-0 reported Unschedulable")
    assert [p.metadata.name for p in pods] == ["ordered-0"]


def test_three_replicas_cannot_share_a_read_write_once_pod_claim(core, apps, namespace):
    core.create_namespaced_persistent_volume_claim(namespace, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "shared"},
        "spec": {"accessModes": ["ReadWriteOncePod"], "resources": {"requests": {"storage": "1Gi"}}}})
    shared = {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}]}
    create_web(core, apps, namespace, policy="Parallel", claim_templates=False, extra_pod_spec=shared)

    def one_running_two_rejected():
        pods = core.list_namespaced_pod(namespace).items
        running = [p for p in pods if pod_ready(p)]
        rejected = [(p, c) for p in pods for c in (p.status.conditions or [])
                    if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"]
        return (running, rejected) if len(running) == 1 and len(rejected) == 2 else None

    running, rejected = wait_for(one_running_two_rejected, what="1 pod Running, 2 Unschedulable")
    assert running[0].spec.node_name
    for pod, condition in rejected:
        assert pod.status.phase == "Pending" and not pod.spec.node_name
        assert "ReadWriteOncePod" in condition.message, condition.message
    claim = core.read_namespaced_persistent_volume_claim("shared", namespace)
    assert claim.status.phase == "Bound"
