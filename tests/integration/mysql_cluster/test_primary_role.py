"""Issue 19 on real pods: the primary is a role, not ordinal 0.

One MariaDB 11.8 cluster (PRIMARY_ROLE_FLAVORS=mysql-9.7,mariadb-10.11 runs the others), step by
step: the first deploy records mysql-0 as primary (topology ConfigMap, labels, writer and reader
Services); a switchover to mysql-2 and back under a writer that reaches the primary only through
the writer Service, as an application does, loses no acknowledged row and every member follows the
new primary; bad targets and a failover of a healthy primary are refused before anything changes;
then the primary loses its pod and its claim: the new, empty mysql-0 comes back read-only and out
of the writer Service, the next run refuses to lead with it, and the failover promotes the most
advanced replica, after which the empty member replicates the whole history. Last, the primary
purges its binary logs and a scale-out seeds the new member from a copy of a replica. The writer is
an application account without SUPER / READ ONLY ADMIN, as applications should be.
"""
import contextlib
import hashlib
import os
import threading
import time

import pymysql
import pytest

from statefuldb_dev.mysql_cluster import (FLAVORS, NAME, STATUS, assert_ok, delete_namespace, failure_message,
                                          make_namespace, pod_ips, pods, report, root_password, sql)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
SWITCHOVER = os.path.join(REPO, "playbooks", "mysql_cluster_switchover.yml")
FAILOVER = os.path.join(REPO, "playbooks", "mysql_cluster_failover.yml")
SELECTED = os.environ.get("PRIMARY_ROLE_FLAVORS", "mariadb-11.8").split(",")
APP_PASSWORD = "app-Pw-7c2e"


@pytest.fixture(scope="module", params=[f for f in FLAVORS if f[0] in SELECTED], ids=lambda f: f[0])
def cluster(request, k8s_client):
    case_id, flavor, image = request.param
    namespace = make_namespace(k8s_client, "t-primary-%s" % case_id.replace(".", ""))
    from kubernetes import client
    yield {"id": case_id, "flavor": flavor, "namespace": namespace,
           "core": client.CoreV1Api(k8s_client), "discovery": client.DiscoveryV1Api(k8s_client),
           "vars": {"mysql_cluster_namespace": namespace, "mysql_cluster_name": NAME,
                    "mysql_cluster_flavor": flavor, "mysql_cluster_image": image,
                    "mysql_cluster_wait_timeout": 300, "mysql_cluster_stall_timeout": 90}}
    delete_namespace(k8s_client, namespace)


def service_ips(cluster, service):
    """Ready addresses of a Service, as the cluster DNS answers its headless name."""
    slices = cluster["discovery"].list_namespaced_endpoint_slice(
        cluster["namespace"], label_selector="kubernetes.io/service-name=%s" % service).items
    return sorted(a for s in slices for e in (s.endpoints or []) if (e.conditions and e.conditions.ready)
                  for a in e.addresses)


def topology(cluster):
    return cluster["core"].read_namespaced_config_map("%s-topology" % NAME, cluster["namespace"]).data


def replication(host, password, flavor):
    statement, source, io, sql_thread = STATUS[flavor]
    rows = sql(host, password, statement, dict_rows=True)
    return (rows[0][source], rows[0][io], rows[0][sql_thread]) if rows else None


def wait_until(what, predicate, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ds waiting for %s" % (timeout, what() if callable(what) else what))
        time.sleep(1)


class AppWriter(threading.Thread):
    """Inserts numbered rows through the writer Service (re-resolved after every error)."""

    started = 0  # each writer numbers its rows from its own block

    def __init__(self, cluster):
        super().__init__(daemon=True)
        AppWriter.started += 1
        self.cluster, self.acked, self.errors, self.seq = cluster, set(), 0, AppWriter.started * 1000000
        self.last_error = None
        self.stop_event = threading.Event()
        self.where = set()

    def run(self):
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None:
                    ips = service_ips(self.cluster, NAME + "-primary")
                    if not ips:
                        raise pymysql.OperationalError(0, "the writer Service has no ready address")
                    conn = pymysql.connect(host=ips[0], user="app", password=APP_PASSWORD, database="app",
                                           connect_timeout=3, read_timeout=15, write_timeout=15, autocommit=True)
                    self.where.add(ips[0])
                self.seq += 1
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO rows_acked (id, payload) VALUES (%s, %s)",
                                (self.seq, hashlib.sha256(str(self.seq).encode()).hexdigest()[:32]))
                self.acked.add(self.seq)
            except Exception as exc:  # pylint: disable=broad-except  # not acknowledged: try again elsewhere
                self.errors += 1
                self.last_error = repr(exc)[:200]
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                self.stop_event.wait(0.3)
            self.stop_event.wait(0.1)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def stop(self):
        self.stop_event.set()
        self.join(30)


def rows_on(host, password):
    return {r[0] for r in sql(host, password, "SELECT id FROM app.rows_acked")}


def assert_everywhere(cluster, writer, primary):
    """Every acknowledged row on every member, each replica identical to the primary and replicating from it."""
    password, ips = cluster["password"], pod_ips(cluster["core"], cluster["namespace"])
    assert writer.acked, "the writer never got a row in: the step proves nothing"
    on_primary = rows_on(ips[primary], password)
    assert writer.acked - on_primary == set(), "acknowledged rows lost on the new primary"
    for name, ip in ips.items():
        if name == primary:
            continue
        wait_until("%s to hold what %s holds" % (name, primary), lambda: rows_on(ip, password) == on_primary)
        assert replication(ip, password, cluster["flavor"]) == ("%s.%s" % (primary, NAME), "Yes", "Yes"), name
        assert sql(ip, password, "SELECT @@read_only")[0][0] == 1, name


def test_first_deploy_records_ordinal_0_and_publishes_writer_and_readers(cluster, playbook):
    run = playbook(DEPLOY, extra_vars=cluster["vars"])
    assert_ok(run)
    rep = report(run)
    ns = cluster["namespace"]
    assert rep["primary"] == "mysql-0"
    assert rep["writer_host"] == "mysql-primary.%s.svc.cluster.local" % ns and rep["semi_sync"] is True
    # The first deploy's replication account was written before any replica connected: counted, not acknowledged.
    assert isinstance(rep["semi_sync_unacknowledged_commits"], int), rep
    data = topology(cluster)
    assert (data["primary"], data["bootstrapped"], data["port"]) == ("mysql-0", "true", "3306")
    assert data["writer-host"] == rep["writer_host"] and data["reader-host"] == "mysql-replicas.%s.svc.cluster.local" % ns
    ips = pod_ips(cluster["core"], ns)
    wait_until("the writer Service to select mysql-0", lambda: service_ips(cluster, "mysql-primary") == [ips["mysql-0"]])
    wait_until("the reader Service to select the replicas",
               lambda: service_ips(cluster, "mysql-replicas") == sorted([ips["mysql-1"], ips["mysql-2"]]))
    password = cluster["password"] = root_password(cluster["core"], ns)
    variable = "rpl_semi_sync_master_status" if cluster["flavor"] == "mariadb" else "rpl_semi_sync_source_status"
    assert sql(ips["mysql-0"], password, "SHOW STATUS LIKE %s", (variable,))[0][1] == "ON", "semi-sync is not in effect"
    sql(ips["mysql-0"], password, "CREATE DATABASE app")
    sql(ips["mysql-0"], password, "CREATE TABLE app.rows_acked (id BIGINT PRIMARY KEY, payload VARCHAR(64)) ENGINE=InnoDB")
    sql(ips["mysql-0"], password, "CREATE USER 'app'@'%%' IDENTIFIED BY %s", (APP_PASSWORD,))
    sql(ips["mysql-0"], password, "GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%'")


def test_switchover_there_and_back_under_a_writer_loses_nothing(cluster, playbook):
    writer = AppWriter(cluster)
    writer.start()
    try:
        wait_until("the writer's first rows", lambda: len(writer.acked) >= 10, timeout=60)
        run = playbook(SWITCHOVER, extra_vars=dict(cluster["vars"], primary="mysql-2"))
        assert_ok(run)
        promotion = next(r for r in run.results if (r.get("_task") or "").endswith("Promote a member (switchover or failover)"))
        assert promotion["changed"] and promotion["primary"] == "mysql-2", promotion
        ips = pod_ips(cluster["core"], cluster["namespace"])
        assert topology(cluster)["primary"] == "mysql-2"
        wait_until("the writer Service to select mysql-2", lambda: service_ips(cluster, "mysql-primary") == [ips["mysql-2"]])
        acked_before = len(writer.acked)
        wait_until("writes through the writer Service to reach mysql-2", lambda: len(writer.acked) >= acked_before + 10, 60)
        assert ips["mysql-2"] in writer.where
        print("\n%s: switchover write-unavailable %.2f s (module), writer errors %d"
              % (cluster["id"], promotion.get("write_unavailable_seconds", -1), writer.errors))
    finally:
        writer.stop()
    assert_everywhere(cluster, writer, "mysql-2")
    assert [(m["name"], m["role"]) for m in report(run)["members"]] == [
        ("mysql-0", "replica"), ("mysql-1", "replica"), ("mysql-2", "primary")]

    back = playbook(SWITCHOVER, extra_vars=dict(cluster["vars"], primary="mysql-0"))
    assert_ok(back)
    assert topology(cluster)["primary"] == "mysql-0"
    writer = AppWriter(cluster)
    writer.start()
    try:
        wait_until(lambda: "writes after the switch back (last error %s)" % writer.last_error,
                   lambda: len(writer.acked) >= 10, timeout=60)
    finally:
        writer.stop()
    assert_everywhere(cluster, writer, "mysql-0")

    again = playbook(DEPLOY, extra_vars=cluster["vars"])
    assert_ok(again)
    assert again.stats["changed"] == 0, [r["_task"] for r in again.results if r.get("changed")]


def test_bad_targets_and_a_needless_failover_are_refused_before_anything_changes(cluster, playbook):
    before = topology(cluster)
    missing = playbook(SWITCHOVER, extra_vars=dict(cluster["vars"], primary="mysql-7"))
    assert missing.rc != 0
    message = failure_message(missing)
    assert "mysql-7 is not a member" in message and "mysql-0, mysql-1, mysql-2" in message, message
    healthy = playbook(FAILOVER, extra_vars=cluster["vars"])
    assert healthy.rc != 0
    message = failure_message(healthy)
    assert "mysql-0" in message and "switchover" in message, message
    assert topology(cluster) == before
    ips = pod_ips(cluster["core"], cluster["namespace"])
    assert sql(ips["mysql-0"], cluster["password"], "SELECT @@read_only")[0][0] == 0


def test_primary_losing_its_claim_never_leads_and_failover_keeps_every_acknowledged_row(cluster, playbook):
    core, ns, password = cluster["core"], cluster["namespace"], cluster["password"]
    writer = AppWriter(cluster)
    writer.start()
    try:
        wait_until("the writer's first rows", lambda: len(writer.acked) >= 10, timeout=60)
        old_uid = pods(core, ns)["mysql-0"].metadata.uid
        # The primary's node and volume are gone: claim and pod deleted while the writer runs.
        core.delete_namespaced_persistent_volume_claim("data-mysql-0", ns)
        core.delete_namespaced_pod("mysql-0", ns, grace_period_seconds=0)
        new = wait_until("mysql-0 to come back on a new claim", lambda: _recreated(pods(core, ns).get("mysql-0"), old_uid),
                         timeout=240)
        ip = new.status.pod_ip
        wait_until("the new mysql-0 to answer SQL", lambda: _answers(ip, password), timeout=240)
        # Empty, read-only, a server_id never used, and not Ready: out of the writer Service.
        assert sql(ip, password, "SELECT @@read_only")[0][0] == 1
        assert sql(ip, password, "SELECT @@server_id")[0][0] >= 1000000
        assert service_ips(cluster, "mysql-primary") == []
        with pytest.raises(pymysql.MySQLError):
            sql(ip, password, "INSERT INTO app.rows_acked VALUES (-1, 'must not land on an empty server')")
        acked_at_loss = set(writer.acked)
    finally:
        writer.stop()

    refused = playbook(DEPLOY, extra_vars=cluster["vars"])
    assert refused.rc != 0
    message = failure_message(refused)
    assert "holds no data" in message and "failover" in message, message
    assert topology(cluster)["primary"] == "mysql-0"

    run = playbook(FAILOVER, extra_vars=cluster["vars"])
    assert_ok(run)
    new_primary = topology(cluster)["primary"]
    assert new_primary in ("mysql-1", "mysql-2")
    ips = pod_ips(core, ns)
    on_new = rows_on(ips[new_primary], password)
    assert acked_at_loss - on_new == set(), "semi-sync: every acknowledged row must be on the promoted replica"
    wait_until("the writer Service to select %s" % new_primary,
               lambda: service_ips(cluster, "mysql-primary") == [ips[new_primary]])
    # The empty member replicated the whole history from the new primary.
    writer = AppWriter(cluster)
    writer.start()
    try:
        wait_until("writes on the new primary", lambda: len(writer.acked) >= 10, timeout=60)
    finally:
        writer.stop()
    writer.acked |= acked_at_loss
    assert_everywhere(cluster, writer, new_primary)


def _answers(ip, password):
    try:
        sql(ip, password, "SELECT 1")
        return True
    except pymysql.MySQLError:
        return False


def _recreated(pod, old_uid):
    return pod if pod is not None and pod.metadata.uid != old_uid and pod.status.pod_ip else None


def test_scale_out_after_the_primary_purged_its_binary_logs_seeds_from_a_copy(cluster, playbook):
    """Issue 19 item 7: the new member's history is no longer in the primary's binary logs; it starts
    from a physical copy of a healthy replica and then replicates, and its data equals the primary's."""
    core, ns, password, flavor = cluster["core"], cluster["namespace"], cluster["password"], cluster["flavor"]
    primary = topology(cluster)["primary"]
    ips = pod_ips(core, ns)
    for batch in range(3):
        sql(ips[primary], password, "INSERT INTO app.rows_acked VALUES %s" % ",".join(
            "(%d, 'before purge %d')" % (-1000 * (batch + 1) - i, batch) for i in range(200)))
        sql(ips[primary], password, "FLUSH BINARY LOGS")
    newest = sql(ips[primary], password, "SHOW BINARY LOGS")[-1][0]
    sql(ips[primary], password, "PURGE BINARY LOGS TO %s", (newest,))
    oldest = sql(ips[primary], password, "SHOW BINARY LOGS")[0][0]
    purged = (sql(ips[primary], password, "SELECT BINLOG_GTID_POS(%s, 4)", (oldest,))[0][0] if flavor == "mariadb"
              else sql(ips[primary], password, "SELECT @@GLOBAL.gtid_purged")[0][0])
    assert purged, "the primary purged nothing: the scale-out would not need a copy"

    cluster["vars"]["mysql_cluster_replicas"] = 4  # the steps after this one run on four members
    run = playbook(DEPLOY, extra_vars=cluster["vars"])
    assert_ok(run)
    rep = report(run)
    assert list(rep["seeded"]) == ["mysql-3"], rep
    assert rep["seeded"]["mysql-3"]["method"] == ("mariadb-backup" if flavor == "mariadb" else "clone")
    assert rep["seeded"]["mysql-3"]["donor"] != primary, "a healthy replica is the donor, not the writer"
    ips = pod_ips(core, ns)
    assert replication(ips["mysql-3"], password, flavor) == ("%s.%s" % (primary, NAME), "Yes", "Yes")
    sql(ips[primary], password, "INSERT INTO app.rows_acked VALUES (-5000, 'after the copy')")
    wait_until("mysql-3 to replicate a row written after the copy",
               lambda: -5000 in rows_on(ips["mysql-3"], password))
    checksum = "CHECKSUM TABLE app.rows_acked"
    wait_until("mysql-3's CHECKSUM TABLE to equal the primary's",
               lambda: sql(ips["mysql-3"], password, checksum) == sql(ips[primary], password, checksum))
    assert sql(ips["mysql-3"], password, "SELECT @@read_only")[0][0] == 1

    again = playbook(DEPLOY, extra_vars=cluster["vars"])
    assert_ok(again)
    assert report(again)["seeded"] == {}
    assert again.stats["changed"] == 0, [r["_task"] for r in again.results if r.get("changed")]


def test_an_old_primary_holding_a_transaction_the_new_one_lacks_is_fenced_then_reseeded(cluster, playbook):
    """Issue 19 items 4 and 8: after a forced failover the old primary holds a write no replica got. It
    stays read-only and outside every Service with its data untouched, the run names the transaction and
    the ways out; re-seeding it (MariaDB) keeps that data aside on its claim and makes it a replica."""
    core, ns, password, flavor = cluster["core"], cluster["namespace"], cluster["password"], cluster["flavor"]
    old = topology(cluster)["primary"]
    ips = pod_ips(core, ns)
    replicas = sorted(n for n in ips if n != old)
    for name in replicas:
        sql(ips[name], password, "STOP SLAVE IO_THREAD" if flavor == "mariadb" else "STOP REPLICA IO_THREAD")
    # Semi-sync waits mysql_cluster_semi_sync_timeout for an acknowledgement, then commits alone.
    sql(ips[old], password, "INSERT INTO app.rows_acked VALUES (-7000, 'only on the old primary')")
    # Read-only, as it comes back after a restart; the DBA forces the failover knowing it may lose that write.
    sql(ips[old], password, "SET GLOBAL read_only = ON" if flavor == "mariadb" else "SET GLOBAL super_read_only = ON")

    run = playbook(FAILOVER, extra_vars=dict(cluster["vars"], force=True))
    assert run.rc != 0
    message = failure_message(run)
    assert "%s holds transactions" % old in message and "Fenced" in message, message
    assert "mysql_cluster_reseed=[%s]" % old in message, message
    new = topology(cluster)["primary"]
    assert new != old
    assert pods(core, ns)[old].metadata.labels["statefuldb.io/role"] == "fenced"
    wait_until("the writer Service to select %s" % new, lambda: service_ips(cluster, "mysql-primary") == [ips[new]])
    wait_until("the reader Service to leave %s out" % old, lambda: sorted(service_ips(cluster, "mysql-replicas")) ==
               sorted(ips[n] for n in replicas if n != new))
    assert -7000 in rows_on(ips[old], password), "the fenced member's data is untouched"
    assert sql(ips[old], password, "SELECT @@read_only")[0][0] == 1
    for name in replicas:
        if name != new:
            wait_until("%s to replicate from %s" % (name, new), lambda: replication(ips[name], password, flavor) ==
                       ("%s.%s" % (new, NAME), "Yes", "Yes"))

    reseed = playbook(DEPLOY, extra_vars=dict(cluster["vars"], mysql_cluster_reseed=[old]))
    if flavor == "mysql":
        assert reseed.rc != 0
        assert "clone would replace them" in failure_message(reseed)
        assert -7000 in rows_on(ips[old], password)
        return
    assert_ok(reseed)
    assert report(reseed)["seeded"][old]["method"] == "mariadb-backup"
    ips = pod_ips(core, ns)
    assert -7000 not in rows_on(ips[old], password)
    assert replication(ips[old], password, flavor) == ("%s.%s" % (new, NAME), "Yes", "Yes")
    checksum = "CHECKSUM TABLE app.rows_acked"
    wait_until("%s's CHECKSUM TABLE to equal the primary's" % old,
               lambda: sql(ips[old], password, checksum) == sql(ips[new], password, checksum))
    wait_until("the reader Service to select %s again" % old, lambda: ips[old] in service_ips(cluster, "mysql-replicas"))
    kept = _exec(core, ns, old, "ls -d /var/lib/mysql/data.before-seed-*")
    assert kept.strip(), "the data it held before the re-seed is kept on its claim"


def _exec(core, namespace, pod, script):
    from kubernetes.stream import stream

    return stream(core.connect_get_namespaced_pod_exec, pod, namespace, container="mysql",
                  command=["sh", "-c", script], stderr=True, stdin=False, stdout=True, tty=False)
