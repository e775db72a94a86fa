"""Helpers of the mysql_cluster tests on real pods, shared with the benchmarks (bench/chaos_data.py, chaos_role.py, chaos_fanout.py)."""
import base64
import time
import uuid

import pymysql

NAME = "mysql"

# (id, mysql_cluster_flavor, image): the local images built from Debian's archive.
FLAVORS = [
    ("mariadb-10.11", "mariadb", "localhost/statefuldb/mariadb:10.11"),
    ("mariadb-11.8", "mariadb", "localhost/statefuldb/mariadb:11.8"),
    ("mysql-9.7", "mysql", "localhost/statefuldb/mysql:9.7"),
]
# Per flavor: the replica status statement and its columns.
STATUS = {
    "mariadb": ("SHOW SLAVE STATUS", "Master_Host", "Slave_IO_Running", "Slave_SQL_Running"),
    "mysql": ("SHOW REPLICA STATUS", "Source_Host", "Replica_IO_Running", "Replica_SQL_Running"),
}


def make_namespace(k8s_client, prefix):
    from kubernetes import client

    name = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
    client.CoreV1Api(k8s_client).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def delete_namespace(k8s_client, name):
    from kubernetes import client

    client.CoreV1Api(k8s_client).delete_namespace(name)


def sql(host, password, query, args=None, dict_rows=False, port=3306):
    conn = pymysql.connect(host=host, port=port, user="root", password=password, connect_timeout=5,
                           read_timeout=60, autocommit=True,
                           cursorclass=pymysql.cursors.DictCursor if dict_rows else pymysql.cursors.Cursor)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    finally:
        conn.close()


def wait_rows(host, password, query, expected, timeout=60):
    """Poll a server until a query returns the expected rows (replication is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = sql(host, password, query)
        except pymysql.MySQLError as exc:
            rows = exc
        if rows == expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def root_password(core, namespace, name=NAME):
    data = core.read_namespaced_secret("%s-credentials" % name, namespace).data
    return base64.b64decode(data["root-password"]).decode()


def pods(core, namespace, name=NAME):
    """{pod name: V1Pod} of the StatefulSet's live pods."""
    items = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=%s" % name).items
    return {p.metadata.name: p for p in items if p.metadata.deletion_timestamp is None}


def pod_ips(core, namespace, name=NAME):
    return {n: p.status.pod_ip for n, p in pods(core, namespace, name).items()}


def pvc_uids(core, namespace):
    return {c.metadata.name: c.metadata.uid for c in core.list_namespaced_persistent_volume_claim(namespace).items}


def report(run):
    """The role's own account of the cluster (set_fact mysql_cluster_report)."""
    for res in run.results:
        facts = res.get("ansible_facts") or {}
        if "mysql_cluster_report" in facts:
            return facts["mysql_cluster_report"]
    raise AssertionError("the run has no mysql_cluster_report:\n%s" % run.stdout[-3000:])


def changed_tasks(run):
    return [r["_task"] for r in run.results if r.get("changed")]


def assert_ok(run):
    assert run.rc == 0, "playbook failed:\n%s\n%s" % (run.stdout[-5000:], run.stderr[-2000:])


def failure_message(run):
    """The message of the task that failed a run (of its failed items, for a loop)."""
    failed = [r for r in run.results if r.get("failed")]
    assert failed, "the run did not fail:\n%s" % run.stdout[-3000:]
    items = [item.get("msg") or "" for item in failed[-1].get("results") or [] if item.get("failed")]
    return " | ".join(items) if items else failed[-1].get("msg") or ""
