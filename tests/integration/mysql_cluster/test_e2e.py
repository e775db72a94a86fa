"""End to end: the mysql_cluster playbooks against the local control plane with real MariaDB servers.

One scenario in one namespace, step by step (each test builds on the previous one): deploy
(check, real, idempotent check, idempotent real), scale 3 -> 5 -> 3 -> 4 (claims kept and
re-attached), heal a replica whose server was shut down, tear down keeping data, deploy again.
Every assertion reads the real state: the API for objects, SQL on the servers for data.
In the sandbox the harness (tools/localkube/dbrunner.py), not a container, runs each mariadbd.
"""
import base64
import json
import os
import subprocess
import sys
import time

import pymysql
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
SCALE = os.path.join(REPO, "playbooks", "mysql_cluster_scale.yml")
TEARDOWN = os.path.join(REPO, "playbooks", "mysql_cluster_teardown.yml")
NAME = "mysql"


def sql(host, password, query, args=None):
    conn = pymysql.connect(host=host, port=3306, user="root", password=password, connect_timeout=5,
                           read_timeout=60, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    finally:
        conn.close()


def wait_rows(host, password, query, expected, timeout=30):
    """Poll a replica until a query returns the expected rows (replication is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = sql(host, password, query)
        if rows == expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def report(run):
    """The role's own account of the cluster (set_fact mysql_cluster_report)."""
    for res in run.results:
        facts = res.get("ansible_facts") or {}
        if "mysql_cluster_report" in facts:
            return facts["mysql_cluster_report"]
    raise AssertionError("the run has no mysql_cluster_report:\n%s" % run.stdout[-3000:])


def changed_tasks(run):
    return [r["_task"] for r in run.results if r.get("changed")]


@pytest.fixture(scope="module")
def api(k8s_client):
    from kubernetes import client

    return client.CoreV1Api(k8s_client), client.AppsV1Api(k8s_client)


@pytest.fixture(scope="module")
def deploy_vars(cluster_namespace):
    return {"mysql_cluster_namespace": cluster_namespace, "mysql_cluster_name": NAME,
            "mysql_cluster_sandbox_db": True, "mysql_cluster_wait_timeout": 180}


@pytest.fixture(scope="module")
def state():
    """What earlier steps learned (password, PVC UIDs, rows written)."""
    return {}


def root_password(api, namespace):
    data = api[0].read_namespaced_secret("%s-credentials" % NAME, namespace).data
    return base64.b64decode(data["root-password"]).decode()


def pod_ips(api, namespace):
    pods = api[0].list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=%s" % NAME).items
    return {p.metadata.name: p.status.pod_ip for p in pods if p.metadata.deletion_timestamp is None}


def pvc_uids(api, namespace):
    return {c.metadata.name: c.metadata.uid for c in api[0].list_namespaced_persistent_volume_claim(namespace).items}


def assert_ok(run):
    assert run.rc == 0, "playbook failed:\n%s\n%s" % (run.stdout[-4000:], run.stderr[-2000:])


def test_invalid_input_is_refused_before_anything_is_written(playbook, cluster_namespace, api):
    run = playbook(DEPLOY, extra_vars={"mysql_cluster_namespace": cluster_namespace,
                                       "mysql_cluster_replicas": "three"})
    assert run.rc != 0
    assert "mysql_cluster_replicas" in run.stdout
    assert api[1].list_namespaced_stateful_set(cluster_namespace).items == []
    run = playbook(DEPLOY, extra_vars={"mysql_cluster_namespace": cluster_namespace,
                                       "mysql_cluster_connect": "carrier-pigeon"})
    assert run.rc != 0 and "mysql_cluster_connect" in run.stdout


def test_deploy_check_real_and_idempotent(playbook, deploy_vars, cluster_namespace, api, state):
    ns = cluster_namespace
    check = playbook(DEPLOY, check=True, extra_vars=deploy_vars)
    assert_ok(check)
    assert check.stats["changed"] > 0
    assert api[1].list_namespaced_stateful_set(ns).items == [], "check mode created the StatefulSet"
    assert [s for s in api[0].list_namespaced_secret(ns).items if s.metadata.name.startswith(NAME)] == []

    real = playbook(DEPLOY, extra_vars=deploy_vars)
    assert_ok(real)
    assert real.stats["changed"] > 0
    rep = report(real)
    assert [m["name"] for m in rep["members"]] == ["mysql-0", "mysql-1", "mysql-2"]
    assert [m["role"] for m in rep["members"]] == ["primary", "replica", "replica"]
    assert rep["verified"] is True

    # Real replication, checked by us over SQL at the addresses discovery returned.
    password = state["password"] = root_password(api, ns)
    ips = pod_ips(api, ns)
    addresses = {m["name"]: m["address"].rsplit(":", 1)[0] for m in rep["members"]}
    assert addresses == {name: ips[name] for name in addresses}
    primary = addresses["mysql-0"]
    assert sql(primary, password, "SELECT @@read_only")[0][0] == 0
    sql(primary, password, "CREATE DATABASE IF NOT EXISTS app")
    sql(primary, password, "CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY, v VARCHAR(40))")
    sql(primary, password, "INSERT INTO app.t VALUES (1, 'written on the primary')")
    server_ids = {sql(primary, password, "SELECT @@server_id")[0][0]}
    for name in ("mysql-1", "mysql-2"):
        host = addresses[name]
        rows = wait_rows(host, password, "SELECT v FROM app.t WHERE id = 1", (("written on the primary",),))
        assert rows == (("written on the primary",),), name
        status = pymysql.connect(host=host, user="root", password=password,
                                 cursorclass=pymysql.cursors.DictCursor)
        with status.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            row = cur.fetchone()
        status.close()
        assert (row["Master_Host"], row["Slave_IO_Running"], row["Slave_SQL_Running"], row["Using_Gtid"]) == (
            "mysql-0.mysql", "Yes", "Yes", "Slave_Pos"), name
        assert sql(host, password, "SELECT @@read_only")[0][0] == 1
        server_ids.add(sql(host, password, "SELECT @@server_id")[0][0])
    assert server_ids == {100, 101, 102}  # base 100 + ordinal, from the role's ConfigMap
    # The read Service selects the pods the role labelled replicas.
    replicas = api[0].list_namespaced_pod(ns, label_selector="statefuldb.io/role=replica").items
    assert sorted(p.metadata.name for p in replicas) == ["mysql-1", "mysql-2"]
    read = api[0].read_namespaced_service(NAME + "-read", ns)
    assert read.spec.selector["statefuldb.io/role"] == "replica" and read.spec.cluster_ip != "None"

    again_check = playbook(DEPLOY, check=True, extra_vars=deploy_vars)
    assert_ok(again_check)
    assert again_check.stats["changed"] == 0, changed_tasks(again_check)
    again = playbook(DEPLOY, extra_vars=deploy_vars)
    assert_ok(again)
    assert again.stats["changed"] == 0, changed_tasks(again)
    assert report(again)["changes"] == []


def test_port_forward_mode_reaches_the_pods_through_the_api_server(playbook, deploy_vars, state):
    run = playbook(DEPLOY, extra_vars=dict(deploy_vars, mysql_cluster_connect="port_forward"))
    assert_ok(run)
    assert run.stats["changed"] == 0, changed_tasks(run)
    rep = report(run)
    assert {m["address"].rsplit(":", 1)[0] for m in rep["members"]} == {"127.0.0.1"}
    assert rep["verified"] is True
    opened = [r for r in run.results if "Open port-forward tunnels" in (r["_task"] or "")]
    assert opened, [r["_task"] for r in run.results]
    pid = json.loads(opened[0]["stdout"])["pid"]
    deadline = time.monotonic() + 10  # the role closes its tunnels at the end of the run
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists("/proc/%d" % pid)


def test_controller_inside_the_pod_network_uses_dns_names(kubeconfig, deploy_vars, api, tmp_path):
    """Like an AWX job pod: ansible-playbook runs in the pod network, reaches the API server at the
    `kubernetes` Service's endpoint and, by default (auto), the servers by their DNS names."""
    endpoints = api[0].read_namespaced_endpoints("kubernetes", "default")
    address, port = endpoints.subsets[0].addresses[0].ip, endpoints.subsets[0].ports[0].port
    with open(kubeconfig) as f:
        config = yaml.safe_load(f)
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://%s:%d" % (address, port)
    in_cluster_kubeconfig = tmp_path / "kubeconfig"
    in_cluster_kubeconfig.write_text(json.dumps(config))
    env = dict(os.environ, KUBERNETES_SERVICE_HOST=address, K8S_AUTH_KUBECONFIG=str(in_cluster_kubeconfig),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(deploy_vars))
    proc = subprocess.run(["ip", "netns", "exec", "statefuldb-pods",
                           os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           "-i", "localhost,", "-c", "local", DEPLOY, "-e", "@%s" % extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert data["stats"]["localhost"]["changed"] == 0
    facts = [h["ansible_facts"]["mysql_cluster_report"] for t in data["plays"][0]["tasks"]
             for h in t["hosts"].values() if "mysql_cluster_report" in h.get("ansible_facts", {})]
    ns = deploy_vars["mysql_cluster_namespace"]
    assert [m["address"] for m in facts[0]["members"]] == [
        "mysql-%d.mysql.%s.svc.cluster.local:3306" % (i, ns) for i in range(3)]
    assert facts[0]["summary"][0].endswith("connected by dns")


def test_scale_out_in_and_out_reuses_claims(playbook, deploy_vars, cluster_namespace, api, state):
    ns, password = cluster_namespace, state["password"]
    out = playbook(SCALE, extra_vars=dict(deploy_vars, replicas=5))
    assert_ok(out)
    rep = report(out)
    assert [m["name"] for m in rep["members"]] == ["mysql-%d" % i for i in range(5)]
    assert rep["verified"] is True
    ips = pod_ips(api, ns)
    for name in ("mysql-3", "mysql-4"):  # new replicas got the data written before they existed
        first = (("written on the primary",),)
        assert wait_rows(ips[name], password, "SELECT v FROM app.t WHERE id = 1", first) == first, name
    uids_at_5 = pvc_uids(api, ns)
    assert set(uids_at_5) == {"data-mysql-%d" % i for i in range(5)}

    sql(ips["mysql-0"], password, "INSERT INTO app.t VALUES (2, 'before scale-in')")
    before = (("before scale-in",),)
    assert wait_rows(ips["mysql-3"], password, "SELECT v FROM app.t WHERE id = 2", before) == before
    inward = playbook(SCALE, extra_vars=dict(deploy_vars, replicas=3))
    assert_ok(inward)
    assert sorted(pod_ips(api, ns)) == ["mysql-0", "mysql-1", "mysql-2"]
    assert pvc_uids(api, ns) == uids_at_5, "scale-in must keep every claim"
    sql(ips["mysql-0"], password, "INSERT INTO app.t VALUES (3, 'while scaled in')")

    back = playbook(SCALE, extra_vars=dict(deploy_vars, replicas=4))
    assert_ok(back)
    assert pvc_uids(api, ns) == uids_at_5, "scale-out must re-attach the same claim"
    ip3 = pod_ips(api, ns)["mysql-3"]
    rows = wait_rows(ip3, password, "SELECT id, v FROM app.t ORDER BY id",
                     ((1, "written on the primary"), (2, "before scale-in"), (3, "while scaled in")))
    assert rows == ((1, "written on the primary"), (2, "before scale-in"), (3, "while scaled in"))
    assert report(back)["verified"] is True
    state["members"] = 4


def test_heal_a_replica_whose_server_stopped(playbook, deploy_vars, cluster_namespace, api, state):
    ns, password = cluster_namespace, state["password"]
    extra = dict(deploy_vars, mysql_cluster_replicas=state.get("members", 3))
    ips = pod_ips(api, ns)
    sql(ips["mysql-1"], password, "SHUTDOWN")  # the runner restarts it, like a kubelet would
    sql(ips["mysql-0"], password, "INSERT INTO app.t VALUES (4, 'while mysql-1 was down')")

    healed = playbook(DEPLOY, extra_vars=extra)
    assert_ok(healed)
    rep = report(healed)
    assert healed.stats["changed"] >= 1
    fixes = [c for c in rep["changes"] if c.startswith("mysql-1:")]
    assert fixes and any("started replication" in c for c in fixes), rep["changes"]
    assert all(c.startswith("mysql-1:") for c in rep["changes"]), rep["changes"]
    assert any(line.startswith("changed: mysql-1: started replication") for line in rep["summary"]), rep["summary"]
    down = (("while mysql-1 was down",),)
    assert wait_rows(ips["mysql-1"], password, "SELECT v FROM app.t WHERE id = 4", down) == down

    again = playbook(DEPLOY, extra_vars=extra)
    assert_ok(again)
    assert again.stats["changed"] == 0, changed_tasks(again)


def test_teardown_keeps_data_and_redeploy_brings_it_back(playbook, deploy_vars, cluster_namespace, api, state):
    ns, password = cluster_namespace, state["password"]
    extra = dict(deploy_vars, mysql_cluster_replicas=3)
    claims = pvc_uids(api, ns)
    down = playbook(TEARDOWN, extra_vars=extra)
    assert_ok(down)
    assert api[1].list_namespaced_stateful_set(ns).items == []
    services = [s.metadata.name for s in api[0].list_namespaced_service(ns).items]
    assert NAME not in services and NAME + "-read" not in services
    assert pvc_uids(api, ns) == claims, "teardown must keep the claims by default"
    assert root_password(api, ns) == password, "teardown must keep the Secret by default"

    up = playbook(DEPLOY, extra_vars=extra)
    assert_ok(up)
    ips = pod_ips(api, ns)
    expected = ((1,), (2,), (3,), (4,))
    for name in ("mysql-0", "mysql-1", "mysql-2"):
        assert wait_rows(ips[name], password, "SELECT id FROM app.t ORDER BY id", expected) == expected, name
    assert report(up)["verified"] is True

    gone = playbook(TEARDOWN, extra_vars=dict(extra, delete_data=True))
    assert_ok(gone)
    deadline = time.monotonic() + 30  # the claims' protection finalizer goes once no pod uses them
    while pvc_uids(api, ns) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pvc_uids(api, ns) == {}
    assert [s.metadata.name for s in api[0].list_namespaced_secret(ns).items
            if s.metadata.name == NAME + "-credentials"] == []
