"""End to end on real pods, per flavor: the mysql_cluster playbooks against the local cluster's
kubelet nodes running MariaDB 10.11, MariaDB 11.8 and MySQL 9.7 from the local images.

One deployment per flavor, in its own namespace, exercised step by step (each test builds on the
previous one; pytest runs a flavor's steps together): deploy 3 members and re-run unchanged; a row
written on the primary is read on every replica, which replicates from `mysql-0.mysql` resolved by
the cluster's DNS inside the pod; scale 3 -> 5 -> 3 with the claims kept; delete a replica pod
(it comes back on its claim with its data) and kill another replica's server (the kubelet
restarts the container): one run reports and heals both, after checking the source; teardown
keeps the data, and a re-deploy at 4 members brings the old rows back and re-attaches the claim
of ordinal 3 (same UID, its data). Every assertion reads the real state: the API for objects,
SQL on the servers for data. The port-forward connection mode runs for every flavor (it verifies
replication through the forwarded ports); what does not depend on the flavor (check mode, the re-run
after healing) runs once, on MariaDB 11.8, to keep `make test` short.
"""
import os
import subprocess
import time

import pytest

from statefuldb_dev.mysql_cluster import (FLAVORS, NAME, STATUS, assert_ok, changed_tasks, delete_namespace,
                                          make_namespace, pod_ips, pods, pvc_uids, report, root_password, sql, wait_rows)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
SCALE = os.path.join(REPO, "playbooks", "mysql_cluster_scale.yml")
TEARDOWN = os.path.join(REPO, "playbooks", "mysql_cluster_teardown.yml")


@pytest.fixture(scope="module", params=FLAVORS, ids=[f[0] for f in FLAVORS])
def flavor(request, k8s_client):
    """One flavor's scenario: its namespace, deploy variables and what earlier steps learned."""
    case_id, name, image = request.param
    namespace = make_namespace(k8s_client, "t-e2e-%s" % case_id.replace(".", ""))
    started = time.monotonic()
    yield {"id": case_id, "flavor": name, "namespace": namespace,
           "vars": {"mysql_cluster_namespace": namespace, "mysql_cluster_name": NAME,
                    "mysql_cluster_flavor": name, "mysql_cluster_image": image,
                    "mysql_cluster_wait_timeout": 300}}
    print("\n%s: whole scenario %.0f s" % (case_id, time.monotonic() - started))
    delete_namespace(k8s_client, namespace)


def replica_status(host, password, flavor):
    statement, source, io, sql_thread = STATUS[flavor]
    rows = sql(host, password, statement, dict_rows=True)
    if not rows:
        return None
    return rows[0][source], rows[0][io], rows[0][sql_thread]


def timed(label, flavor, fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    print("%s: %s %.1f s" % (flavor["id"], label, time.monotonic() - started))
    return result


def test_deploy_replicates_by_dns_name_and_reruns_unchanged(playbook, flavor, core):
    ns, extra = flavor["namespace"], flavor["vars"]
    if flavor["id"] == "mariadb-11.8":
        check = timed("check-mode deploy", flavor, playbook, DEPLOY, check=True, extra_vars=extra)
        assert_ok(check)
        assert check.stats["changed"] > 0
        assert pods(core, ns) == {} and pvc_uids(core, ns) == {}, "check mode created something"

    real = timed("deploy 3", flavor, playbook, DEPLOY, extra_vars=extra)
    assert_ok(real)
    rep = report(real)
    assert [(m["name"], m["role"]) for m in rep["members"]] == [
        ("mysql-0", "primary"), ("mysql-1", "replica"), ("mysql-2", "replica")]
    assert rep["verified"] is True

    password = flavor["password"] = root_password(core, ns)
    ips = pod_ips(core, ns)
    assert {m["name"]: m["address"].rsplit(":", 1)[0] for m in rep["members"]} == ips
    primary = ips["mysql-0"]
    version = sql(primary, password, "SELECT VERSION()")[0][0]
    assert ("MariaDB" in version) == (flavor["flavor"] == "mariadb"), version
    assert version.startswith(flavor["id"].split("-")[1]), version
    assert sql(primary, password, "SELECT @@read_only")[0][0] == 0
    sql(primary, password, "CREATE DATABASE IF NOT EXISTS app")
    sql(primary, password, "CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY, v VARCHAR(40))")
    sql(primary, password, "INSERT INTO app.t VALUES (1, 'written on the primary')")
    server_ids = {sql(primary, password, "SELECT @@server_id")[0][0]}
    for name in ("mysql-1", "mysql-2"):
        host = ips[name]
        first = (("written on the primary",),)
        assert wait_rows(host, password, "SELECT v FROM app.t WHERE id = 1", first) == first, name
        # The replica's IO thread connected to mysql-0.mysql: the name the cluster DNS resolved in the pod.
        assert replica_status(host, password, flavor["flavor"]) == ("mysql-0.mysql", "Yes", "Yes"), name
        assert sql(host, password, "SELECT @@read_only")[0][0] == 1
        if flavor["flavor"] == "mysql":
            assert sql(host, password, "SELECT @@super_read_only")[0][0] == 1
        server_ids.add(sql(host, password, "SELECT @@server_id")[0][0])
    assert server_ids == {100, 101, 102}  # base 100 + ordinal, from the role's ConfigMap
    replicas = core.list_namespaced_pod(ns, label_selector="statefuldb.io/role=replica").items
    assert sorted(p.metadata.name for p in replicas) == ["mysql-1", "mysql-2"]

    again = timed("no-op re-run", flavor, playbook, DEPLOY, extra_vars=extra)
    assert_ok(again)
    assert again.stats["changed"] == 0, changed_tasks(again)
    assert report(again)["changes"] == []


def test_port_forward_mode_reaches_the_pods_through_the_api_server(playbook, flavor):
    # Every flavor: the run also checks replication through the forwarded ports, which is per flavor.
    run = playbook(DEPLOY, extra_vars=dict(flavor["vars"], mysql_cluster_connect="port_forward",
                                           mysql_cluster_connect_timeout=20))
    assert_ok(run)
    rep = report(run)
    assert run.stats["changed"] == 0, (changed_tasks(run), rep["changes"])
    assert {m["address"].rsplit(":", 1)[0] for m in rep["members"]} == {"127.0.0.1"}
    assert rep["verified"] is True


def test_scale_out_and_in_keeps_the_claims(playbook, flavor, core):
    ns, password = flavor["namespace"], flavor["password"]
    out = timed("scale 3->5", flavor, playbook, SCALE, extra_vars=dict(flavor["vars"], replicas=5))
    assert_ok(out)
    assert [m["name"] for m in report(out)["members"]] == ["mysql-%d" % i for i in range(5)]
    ips = pod_ips(core, ns)
    first = (("written on the primary",),)
    for name in ("mysql-3", "mysql-4"):  # new replicas got the data written before they existed
        assert wait_rows(ips[name], password, "SELECT v FROM app.t WHERE id = 1", first) == first, name
    uids_at_5 = flavor["claims"] = pvc_uids(core, ns)
    assert set(uids_at_5) == {"data-mysql-%d" % i for i in range(5)}
    sql(ips["mysql-0"], password, "INSERT INTO app.t VALUES (2, 'before scale-in')")
    before = (("before scale-in",),)
    assert wait_rows(ips["mysql-3"], password, "SELECT v FROM app.t WHERE id = 2", before) == before

    inward = timed("scale 5->3", flavor, playbook, SCALE, extra_vars=dict(flavor["vars"], replicas=3))
    assert_ok(inward)
    assert sorted(pod_ips(core, ns)) == ["mysql-0", "mysql-1", "mysql-2"]
    assert pvc_uids(core, ns) == uids_at_5, "scale-in must keep every claim"
    sql(ips["mysql-0"], password, "INSERT INTO app.t VALUES (3, 'while scaled in')")


def wait_pod_back(core, ns, name, old_uid=None, min_restarts=None, timeout=180):
    """Until the pod is Ready again: a new pod (other uid) or the same pod with its container restarted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = pods(core, ns).get(name)
        if pod is not None and pod.status.container_statuses:
            status = pod.status.container_statuses[0]
            fresh = old_uid is None or pod.metadata.uid != old_uid
            restarted = min_restarts is None or status.restart_count >= min_restarts
            if fresh and restarted and status.ready:
                return pod
        time.sleep(0.5)
    raise AssertionError("pod %s/%s did not come back Ready within %ss" % (ns, name, timeout))


def kill_server(core, ns, name):
    """SIGKILL the server process of a pod's main container, from the host (no clean shutdown)."""
    pod = pods(core, ns)[name]
    uid = pod.metadata.uid
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
            if comm not in ("mariadbd", "mysqld"):
                continue
            with open("/proc/%s/cgroup" % pid) as f:
                cgroup = f.read()
        except OSError:
            continue
        if uid in cgroup or uid.replace("-", "_") in cgroup:
            found.append(int(pid))
    assert len(found) == 1, "expected one server process of pod %s (uid %s), found %s" % (name, uid, found)
    subprocess.run(["kill", "-KILL", str(found[0])], check=True)
    return pod.status.container_statuses[0].restart_count


def test_deleted_pod_and_killed_server_come_back_and_one_run_heals_both(playbook, flavor, core):
    ns, password = flavor["namespace"], flavor["password"]
    claims = pvc_uids(core, ns)
    old = pods(core, ns)["mysql-1"]
    core.delete_namespaced_pod("mysql-1", ns)
    restarts = kill_server(core, ns, "mysql-2")
    deleted = timed("deleted pod back", flavor, wait_pod_back, core, ns, "mysql-1", old_uid=old.metadata.uid)
    killed = timed("killed server back", flavor, wait_pod_back, core, ns, "mysql-2", min_restarts=restarts + 1)
    assert pvc_uids(core, ns) == claims
    data, = [v for v in deleted.spec.volumes if v.name == "data"]
    assert data.persistent_volume_claim.claim_name == "data-mysql-1"
    primary = pods(core, ns)["mysql-0"].status.pod_ip
    for pod in (deleted, killed):
        host = pod.status.pod_ip
        # Its data came back with it; replication waits for the role (skip_*_start).
        assert sql(host, password, "SELECT COUNT(*) FROM app.t")[0][0] == 3, pod.metadata.name
        assert replica_status(host, password, flavor["flavor"])[1:] == ("No", "No"), pod.metadata.name
    sql(primary, password, "INSERT INTO app.t VALUES (4, 'while they were away')")

    healed = timed("healing run", flavor, playbook, DEPLOY, extra_vars=flavor["vars"])
    assert_ok(healed)
    rep = report(healed)
    for member in ("mysql-1", "mysql-2"):
        # e.g. "mysql-1: started replication: IO thread was stopped; SQL thread was stopped"
        assert any(c.startswith("%s: started replication" % member) for c in rep["changes"]), rep["changes"]
        assert "%s: started replication" % member in " ".join(rep["summary"]), rep["summary"]
    assert all(c.startswith(("mysql-1:", "mysql-2:")) for c in rep["changes"]), rep["changes"]
    row = (("while they were away",),)
    for pod in (deleted, killed):
        assert wait_rows(pod.status.pod_ip, password, "SELECT v FROM app.t WHERE id = 4", row) == row
    if flavor["id"] == "mariadb-11.8":
        again = playbook(DEPLOY, extra_vars=flavor["vars"])
        assert_ok(again)
        assert again.stats["changed"] == 0, changed_tasks(again)


def test_teardown_keeps_data_and_redeploy_reattaches_the_claims(playbook, flavor, core):
    ns, password = flavor["namespace"], flavor["password"]
    claims = pvc_uids(core, ns)
    down = timed("teardown", flavor, playbook, TEARDOWN, extra_vars=flavor["vars"])
    assert_ok(down)
    assert pods(core, ns) == {}
    services = [s.metadata.name for s in core.list_namespaced_service(ns).items]
    assert NAME not in services and NAME + "-read" not in services
    assert pvc_uids(core, ns) == claims == flavor["claims"], "teardown must keep the claims by default"
    assert root_password(core, ns) == password, "teardown must keep the Secret by default"

    # Back at 4 members: ordinal 3 gets its old claim (same UID) with the rows it had, and catches up.
    up = timed("re-deploy at 4 on kept claims", flavor, playbook, DEPLOY,
               extra_vars=dict(flavor["vars"], mysql_cluster_replicas=4))
    assert_ok(up)
    assert pvc_uids(core, ns) == claims, "the re-deploy must re-attach the same claims"
    assert report(up)["verified"] is True
    ips = pod_ips(core, ns)
    expected = ((1,), (2,), (3,), (4,))
    for name in ("mysql-0", "mysql-1", "mysql-2", "mysql-3"):
        assert wait_rows(ips[name], password, "SELECT id FROM app.t ORDER BY id", expected) == expected, name

    gone = playbook(TEARDOWN, extra_vars=dict(flavor["vars"], delete_data=True))
    assert_ok(gone)
    deadline = time.monotonic() + 60  # the claims' protection finalizer goes once no pod uses them
    while pvc_uids(core, ns) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pvc_uids(core, ns) == {}
