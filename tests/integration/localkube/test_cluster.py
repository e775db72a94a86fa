"""The local control plane itself: idempotent `up`, the pod network, the kubernetes Service,
claim expansion with the default StorageClass."""
import errno
import os
import socket
import subprocess
import sys
import time

import pytest
from kubernetes import client

from localkube_helpers import LOCALKUBE, REPO, STATE, pod_ready, wait_for

from statefuldb_dev.scripts import localkube as localkube_module

podnet = localkube_module("podnet")


def run_localkube(*args):
    return subprocess.run([sys.executable, LOCALKUBE, *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)


def pids():
    run = os.path.join(STATE, "run")
    return {name: open(os.path.join(run, name)).read() for name in os.listdir(run) if name.endswith(".pid")}


def test_up_on_a_healthy_cluster_changes_nothing(kubeconfig):
    before = pids()
    proc = run_localkube("up")
    assert proc.returncode == 0, proc.stderr
    assert "already up and healthy" in proc.stdout
    assert "export KUBECONFIG=%s" % kubeconfig in proc.stdout
    assert pids() == before
    status = run_localkube("status")
    assert status.returncode == 0 and "cluster: healthy" in status.stdout


def test_nodes_and_default_storage_class(k8s_client):
    nodes = client.CoreV1Api(k8s_client).list_node().items
    assert sorted(n.metadata.name for n in nodes) == ["kwok-node-0", "kwok-node-1", "kwok-node-2",
                                                      "node-0", "node-1", "node-2"]
    for node in nodes:
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
        assert node.spec.pod_cidr.startswith("10.244.") and node.spec.pod_cidr.endswith("/24")
    sc = client.StorageV1Api(k8s_client).read_storage_class("standard")
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc.allow_volume_expansion is True and sc.reclaim_policy == "Delete"


def test_kubernetes_service_has_a_non_loopback_endpoint(k8s_client):
    core = client.CoreV1Api(k8s_client)
    assert core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.96.0.1"
    slices = client.DiscoveryV1Api(k8s_client).list_namespaced_endpoint_slice(
        "default", label_selector="kubernetes.io/service-name=kubernetes").items
    addresses = [a for s in slices for e in s.endpoints for a in e.addresses]
    assert addresses == [podnet.GATEWAY_IP]
    port = slices[0].ports[0].port
    # The endpoint answers from inside the pod network (a relay to the apiserver on 127.0.0.1).
    probe = ("import ssl, sys, urllib.request\n"
             "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
             "print(urllib.request.urlopen(sys.argv[2], context=ctx, timeout=5).read().decode())\n")
    proc = subprocess.run(["ip", "netns", "exec", podnet.NETNS, sys.executable, "-c", probe,
                           os.path.join(STATE, "pki", "ca.crt"), "https://%s:%d/readyz" % (addresses[0], port)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_claim_expansion_grows_claim_and_volume(k8s_client, namespace):
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_persistent_volume_claim(namespace, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    claim = wait_for(lambda: core.read_namespaced_persistent_volume_claim("data", namespace),
                     until=lambda c: c.status.phase == "Bound", what="claim Bound")
    assert claim.spec.storage_class_name == "standard"
    core.patch_namespaced_persistent_volume_claim("data", namespace,
                                                  {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    claim = wait_for(lambda: core.read_namespaced_persistent_volume_claim("data", namespace),
                     until=lambda c: c.status.capacity["storage"] == "2Gi", what="claim capacity 2Gi")
    assert core.read_persistent_volume(claim.spec.volume_name).spec.capacity["storage"] == "2Gi"
    wait_for(lambda: "VolumeResizeSuccessful" in {e.reason for e in core.list_namespaced_event(
        namespace, field_selector="involvedObject.name=data").items}, what="event VolumeResizeSuccessful")


def _serve_once_in_netns(ip, port):
    script = ("import socket,sys\n"
              "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
              "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(); print('listening', flush=True)\n"
              "c, peer = s.accept(); c.sendall(('hello from %s to %s' % (sys.argv[1], peer[0])).encode()); c.close()\n")
    proc = subprocess.Popen(["ip", "netns", "exec", podnet.NETNS, sys.executable, "-c", script, ip, str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "listening"
    return proc


@pytest.fixture
def pod_ip(k8s_client, namespace):
    """The IP KWOK gave a pod "db" on a fake node (the `namespace` fixture sends pods to KWOK's
    nodes) that declares port 3306: the KWOK pod network and port-forward are under test here."""
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_pod(namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db"},
                                           "spec": {"containers": [{"name": "db", "image": "mariadb",
                                                                    "ports": [{"containerPort": 3306}]}]}})
    pod = wait_for(lambda: core.read_namespaced_pod("db", namespace),
                   until=lambda p: pod_ready(p) and p.status.pod_ip, what="pod Ready with an IP")
    yield pod.status.pod_ip
    podnet.remove_pod_ip(pod.status.pod_ip)


def test_pod_ip_served_from_the_pod_namespace_is_reachable_from_the_host(pod_ip):
    assert pod_ip.startswith("10.244.")
    podnet.add_pod_ip(pod_ip)
    assert pod_ip in podnet.pod_ips()
    server = _serve_once_in_netns(pod_ip, 3306)
    with socket.create_connection((pod_ip, 3306), timeout=5) as conn:
        assert conn.recv(100).decode() == "hello from %s to %s" % (pod_ip, podnet.GATEWAY_IP)
    assert server.wait(timeout=5) == 0

    podnet.remove_pod_ip(pod_ip)
    podnet.remove_pod_ip(pod_ip)  # idempotent
    assert pod_ip not in podnet.pod_ips()
    # An IP nobody holds is answered inside the namespace at once ("no route to host"),
    # not sent to the default gateway.
    started = time.monotonic()
    with pytest.raises(OSError) as err:
        socket.create_connection((pod_ip, 3306), timeout=5)
    assert err.value.errno == errno.EHOSTUNREACH
    assert time.monotonic() - started < 1


def test_kubectl_port_forward_reaches_the_pod_ip(k8s_client, namespace, pod_ip, kubeconfig):
    custom = client.CustomObjectsApi(k8s_client)
    forward = wait_for(lambda: custom.list_namespaced_custom_object(
        "kwok.x-k8s.io", "v1alpha1", namespace, "portforwards")["items"], what="the pod's PortForward")
    assert forward[0]["spec"]["forwards"] == [{"ports": [3306], "target": {"address": pod_ip, "port": 3306}}]
    podnet.add_pod_ip(pod_ip)
    server = _serve_once_in_netns(pod_ip, 3306)
    bin_dir = run_localkube_build_dir()
    kubectl = subprocess.Popen([os.path.join(bin_dir, "kubectl"), "--kubeconfig", kubeconfig, "-n", namespace,
                                "port-forward", "pod/db", ":3306"], stdout=subprocess.PIPE, text=True)
    try:
        line = kubectl.stdout.readline()  # Forwarding from 127.0.0.1:PORT -> 3306
        local_port = int(line.split("127.0.0.1:")[1].split()[0])
        with socket.create_connection(("127.0.0.1", local_port), timeout=5) as conn:
            assert conn.recv(100).decode().startswith("hello from %s" % pod_ip)
        assert server.wait(timeout=5) == 0
    finally:
        kubectl.terminate()
        kubectl.wait(timeout=10)


def run_localkube_build_dir():
    return subprocess.run(["bash", os.path.join(REPO, "tools", "localkube", "build.sh"), "--print-dir"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_pod_and_service_cidrs_never_reach_the_default_route():
    route = subprocess.run(["ip", "route", "get", "10.244.123.45"], capture_output=True, text=True, check=True).stdout
    assert "dev %s" % podnet.HOST_IF in route
    routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert "blackhole %s" % podnet.SERVICE_CIDR in [r.strip() for r in routes]
    assert any(r.startswith("blackhole %s metric" % podnet.POD_CIDR) for r in routes)
    inside = subprocess.run(["ip", "-n", podnet.NETNS, "route", "show"], capture_output=True, text=True,
                            check=True).stdout
    assert "unreachable default" in inside and "via" not in inside


def test_only_pod_ips_are_accepted():
    for bad in ("192.0.2.10", podnet.GATEWAY_IP, "not-an-ip"):
        with pytest.raises(podnet.PodNetError):
            podnet.add_pod_ip(bad)
