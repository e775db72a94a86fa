"""The real kubelet nodes: a MariaDB pod with every kind of input a database pod takes, cluster DNS
for a headless Service, `kubectl logs`/`exec` through the API server, pod IPs that are never
handed out twice at once. All in `real_namespace` (no KWOK annotations: the pods go to node-0..2)."""
import base64
import os
import subprocess
import sys

import pymysql
from kubernetes import client

from localkube_helpers import LOCALKUBE, REPO, pod_ready, wait_for

from statefuldb_dev.scripts import localkube as localkube_module

bridge = localkube_module("bridge")

REAL_NODES = ["node-0", "node-1", "node-2"]
MARIADB = "localhost/statefuldb/mariadb:11.8"
TOOLS = "localhost/statefuldb/tools:1"


def kubectl(kubeconfig, *args, timeout=60):
    bin_dir = subprocess.run(["bash", os.path.join(REPO, "tools", "localkube", "build.sh"), "--print-dir"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return subprocess.run([os.path.join(bin_dir, "kubectl"), "--kubeconfig", kubeconfig, *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def describe(core, namespace, name):
    """Pod status and events, for failure messages."""
    pod = core.read_namespaced_pod(name, namespace)
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=" + name).items
    return "phase=%s conditions=%s containers=%s init=%s events=%s" % (
        pod.status.phase, [(c.type, c.status) for c in pod.status.conditions or []],
        [(c.name, c.state) for c in pod.status.container_statuses or []],
        [(c.name, c.state) for c in pod.status.init_container_statuses or []],
        [(e.reason, e.message) for e in events][-8:])


def test_real_nodes_are_ready_and_kwok_nodes_are_tainted(k8s_client):
    nodes = {n.metadata.name: n for n in client.CoreV1Api(k8s_client).list_node().items}
    for name in REAL_NODES:
        node = nodes[name]
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions), name
        assert node.status.node_info.kubelet_version == "v1.35.4"
        assert node.status.node_info.container_runtime_version.startswith("containerd://1.6")
        assert node.spec.pod_cidr.startswith("10.244.") and node.spec.pod_cidr.endswith("/24")
        assert not node.spec.taints
        assert [a.address for a in node.status.addresses if a.type == "InternalIP"] == \
            [bridge.node_ip(int(name.rsplit("-", 1)[1]))]
    for name in ("kwok-node-0", "kwok-node-1", "kwok-node-2"):
        assert [(t.key, t.value, t.effect) for t in nodes[name].spec.taints] == \
            [("kwok.x-k8s.io/node", "fake", "NoSchedule")]


def test_cluster_status_lists_the_real_nodes_ready():
    proc = subprocess.run([sys.executable, LOCALKUBE, "status"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in REAL_NODES:
        assert any(line.split()[:3] == ["node", name, "Ready"] for line in proc.stdout.splitlines()), proc.stdout
    for part in ("coredns", "containerd-node-0", "kubelet-node-2", "bridge"):
        assert any(line.startswith(part) and "healthy" in line for line in proc.stdout.splitlines()), proc.stdout


SERVER_CNF = "[mysqld]\nserver_id = @SERVER_ID@\nskip_name_resolve = ON\n"
# Everything runs as the image's user (mysql): the claim's directory is open to it.
INIT_SCRIPT = """set -eu
sed "s/@SERVER_ID@/$SERVER_ID/" /template/server.cnf > /rendered/server.cnf
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --datadir=/var/lib/mysql --skip-test-db > /dev/null
  printf "FLUSH PRIVILEGES;\\nCREATE USER 'root'@'%%' IDENTIFIED BY '%s';\\nGRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\\n" \
    "$ROOT_PASSWORD" | mariadbd --datadir=/var/lib/mysql --bootstrap > /dev/null
fi
"""


def mariadb_pod():
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "labels": {"app": "db"}},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "initContainers": [{
                "name": "init", "image": MARIADB, "imagePullPolicy": "Never",
                "command": ["sh", "-c", INIT_SCRIPT],
                "env": [{"name": "SERVER_ID", "value": "4242"},
                        {"name": "ROOT_PASSWORD",
                         "valueFrom": {"secretKeyRef": {"name": "db-secret", "key": "root-password"}}}],
                "volumeMounts": [{"name": "template", "mountPath": "/template"},
                                 {"name": "rendered", "mountPath": "/rendered"},
                                 {"name": "data", "mountPath": "/var/lib/mysql"}]}],
            "containers": [{
                "name": "mariadb", "image": MARIADB, "imagePullPolicy": "Never",
                "command": ["mariadbd", "--defaults-extra-file=/rendered/server.cnf", "--datadir=/var/lib/mysql", "--bind-address=0.0.0.0", "--port=3306",
                            "--socket=/run/mysqld/mysqld.sock"],
                "ports": [{"name": "mysql", "containerPort": 3306}],
                "readinessProbe": {"exec": {"command": ["mariadb-admin", "--socket=/run/mysqld/mysqld.sock", "ping"]},
                                   "periodSeconds": 1, "failureThreshold": 3},
                "resources": {"limits": {"memory": "512Mi", "cpu": "1"}},
                "volumeMounts": [{"name": "rendered", "mountPath": "/rendered"},
                                 {"name": "data", "mountPath": "/var/lib/mysql"},
                                 {"name": "run", "mountPath": "/run/mysqld"}]}],
            "volumes": [{"name": "template", "configMap": {"name": "db-config"}},
                        {"name": "rendered", "emptyDir": {}},
                        {"name": "run", "emptyDir": {}},
                        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}


def test_mariadb_pod_with_init_container_configmap_secret_claim_and_probe(k8s_client, real_namespace, kubeconfig):
    core = client.CoreV1Api(k8s_client)
    ns = real_namespace
    password = "s3cret-%d" % os.getpid()
    core.create_namespaced_config_map(ns, {"metadata": {"name": "db-config"}, "data": {"server.cnf": SERVER_CNF}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "db-secret"},
                                       "data": {"root-password": base64.b64encode(password.encode()).decode()}})
    core.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    core.create_namespaced_pod(ns, mariadb_pod())
    pod = wait_for(lambda: core.read_namespaced_pod("db", ns), until=pod_ready, timeout=120,
                   what=lambda: "pod db Ready: " + describe(core, ns, "db"))

    # On a real node, with an IP from that node's podCIDR.
    assert pod.spec.node_name in REAL_NODES
    node = core.read_node(pod.spec.node_name)
    prefix = node.spec.pod_cidr.rsplit(".", 1)[0] + "."
    assert pod.status.pod_ip.startswith(prefix), (pod.status.pod_ip, node.spec.pod_cidr)
    # The init container ran to completion first.
    init = pod.status.init_container_statuses[0]
    assert init.state.terminated and init.state.terminated.exit_code == 0
    # The readiness probe decided Ready: the server answered before the pod turned Ready.
    assert pod.status.container_statuses[0].ready

    # The server answers at the pod IP from the host, with the password from the Secret, and
    # runs with the configuration the init container rendered from the ConfigMap.
    conn = pymysql.connect(host=pod.status.pod_ip, port=3306, user="root", password=password, connect_timeout=5)
    with conn.cursor() as cur:
        cur.execute("SELECT @@server_id, @@datadir, VERSION()")
        server_id, datadir, version = cur.fetchone()
    conn.close()
    assert server_id == 4242 and datadir.rstrip("/") == "/var/lib/mysql" and version.startswith("11.8")

    # kubectl exec (through the apiserver to the kubelet) reads the rendered file.
    proc = kubectl(kubeconfig, "-n", ns, "exec", "db", "-c", "mariadb", "--", "cat", "/rendered/server.cnf")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SERVER_CNF.replace("@SERVER_ID@", "4242")

    # kubectl logs shows the server's start.
    proc = kubectl(kubeconfig, "-n", ns, "logs", "db", "-c", "mariadb")
    assert proc.returncode == 0, proc.stderr
    assert "ready for connections" in proc.stdout + proc.stderr

    # The data lives on the claim's volume (a hostPath directory made by the provisioner).
    claim = core.read_namespaced_persistent_volume_claim("data", ns)
    path = core.read_persistent_volume(claim.spec.volume_name).spec.host_path.path
    assert os.path.isdir(os.path.join(path, "mysql")), os.listdir(path)
    core.delete_namespaced_pod("db", ns, grace_period_seconds=5)
    wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.metadata.name == "db"],
             until=lambda pods: not pods, timeout=60, what="pod db deleted")


def tools_statefulset(name, service, replicas):
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"serviceName": service, "replicas": replicas, "podManagementPolicy": "Parallel",
                 "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "tools", "image": TOOLS, "imagePullPolicy": "Never",
                                                       "command": ["sleep", "3600"]}]}}}}


def nslookup_ips(kubeconfig, ns, pod, name):
    proc = kubectl(kubeconfig, "-n", ns, "exec", pod, "--", "nslookup", name)
    assert proc.returncode == 0, "nslookup %s: %s %s" % (name, proc.stdout, proc.stderr)
    # Answers follow the "Name:" line; the server's own address comes before it.
    answer = proc.stdout.split("Name:", 1)[1]
    return sorted(line.split()[-1] for line in answer.splitlines()
                  if line.strip().startswith("Address") and "." in line.split()[-1])


def test_cluster_dns_answers_pod_and_headless_service_names(k8s_client, real_namespace, kubeconfig):
    core = client.CoreV1Api(k8s_client)
    ns = real_namespace
    core.create_namespaced_service(ns, {"metadata": {"name": "db"},
                                        "spec": {"clusterIP": "None", "selector": {"app": "web"},
                                                 "ports": [{"name": "x", "port": 3306}]}})
    client.AppsV1Api(k8s_client).create_namespaced_stateful_set(ns, tools_statefulset("web", "db", 2))
    pods = wait_for(lambda: core.list_namespaced_pod(ns, label_selector="app=web").items,
                    until=lambda ps: len(ps) == 2 and all(pod_ready(p) for p in ps), timeout=90,
                    what=lambda: "2 web pods Ready: " + "; ".join(
                        describe(core, ns, p.metadata.name) for p in core.list_namespaced_pod(ns).items))
    ips = {p.metadata.name: p.status.pod_ip for p in pods}
    discovery = client.DiscoveryV1Api(k8s_client)
    slice_ips = wait_for(lambda: sorted(a for s in discovery.list_namespaced_endpoint_slice(
        ns, label_selector="kubernetes.io/service-name=db").items for e in s.endpoints or []
        if e.conditions.ready for a in e.addresses), until=lambda a: len(a) == 2, what="EndpointSlice with 2 ready")
    assert slice_ips == sorted(ips.values())

    # The seed's own discovery: {pod}.{service}.{namespace}.svc.cluster.local from inside a pod.
    for name, ip in ips.items():
        assert nslookup_ips(kubeconfig, ns, "web-0", "%s.db.%s.svc.cluster.local" % (name, ns)) == [ip]
    # The headless Service's name lists every ready pod. (busybox nslookup does not walk the search
    # list; the resolv.conf below gives libc resolvers the short `web-0.db`.)
    assert nslookup_ips(kubeconfig, ns, "web-1", "db.%s.svc.cluster.local" % ns) == slice_ips
    # The resolver the kubelet gave the pod is CoreDNS on the bridge.
    proc = kubectl(kubeconfig, "-n", ns, "exec", "web-0", "--", "cat", "/etc/resolv.conf")
    assert "nameserver %s" % bridge.HOST_IP in proc.stdout
    assert "search %s.svc.cluster.local svc.cluster.local cluster.local" % ns in proc.stdout


def test_pod_ips_are_never_handed_out_twice(k8s_client, real_namespace):
    """host-local IPAM walks each node's range onward: a deleted pod's IP is not the next one, and
    no two live pods anywhere (real or KWOK) share an IP."""
    core = client.CoreV1Api(k8s_client)
    ns = real_namespace
    seen = []
    for i in range(3):
        core.create_namespaced_pod(ns, {"metadata": {"name": "p%d" % i}, "spec": {
            "nodeName": "node-1", "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": TOOLS, "imagePullPolicy": "Never", "command": ["sleep", "600"]}]}})
        pod = wait_for(lambda: core.read_namespaced_pod("p%d" % i, ns), until=lambda p: p.status.pod_ip,
                       timeout=60, what="pod p%d has an IP" % i)
        seen.append(pod.status.pod_ip)
        core.delete_namespaced_pod("p%d" % i, ns, grace_period_seconds=0)
        wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.metadata.name == "p%d" % i],
                 until=lambda ps: not ps, timeout=60, what="pod p%d gone" % i)
    assert len(set(seen)) == 3, seen
    live = [(p.metadata.namespace, p.metadata.name, p.status.pod_ip) for p in core.list_pod_for_all_namespaces().items
            if p.status.pod_ip and not p.spec.host_network and p.status.phase in ("Pending", "Running")]
    by_ip = {}
    for ns_, name, ip in live:
        by_ip.setdefault(ip, []).append("%s/%s" % (ns_, name))
    assert not {ip: owners for ip, owners in by_ip.items() if len(owners) > 1}


def test_missing_image_fails_fast_and_nothing_is_pulled(k8s_client, real_namespace):
    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_pod(real_namespace, {"metadata": {"name": "nope"}, "spec": {
        "containers": [{"name": "c", "image": "registry.example.invalid/nope:1"}]}})
    reason = wait_for(lambda: (core.read_namespaced_pod("nope", real_namespace).status.container_statuses or [None])[0],
                      until=lambda s: s is not None and s.state.waiting is not None and s.state.waiting.reason in (
                          "ErrImagePull", "ImagePullBackOff"), timeout=60, what="ErrImagePull")
    assert "127.0.0.1:9" in (reason.state.waiting.message or "") or reason.state.waiting.reason == "ImagePullBackOff"


def test_kubelet_logs_are_where_the_readme_says():
    logs = os.path.join(REPO, ".localkube", "logs")
    for name in REAL_NODES:
        assert os.path.getsize(os.path.join(logs, "kubelet-%s.log" % name)) > 0
        assert os.path.exists(os.path.join(logs, "containerd-%s.log" % name))
