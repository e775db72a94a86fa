"""`make chaos-data`: the mysql_cluster role on real pods under disruptions, with a writer whose acknowledged rows must all survive.

Every run has its own namespace and a bounded writer (a thread, PyMySQL) that inserts numbered rows
(id, payload, CRC32 of the payload) on the primary (ordinal 0) for as long as the run lasts, at most
WRITER_RATE rows a second. Each insert is one line of the run's history (JSON lines: seq, t, ok or
error); a row is *acknowledged* when its autocommit INSERT returned. Role runs and faults are event
lines of the same history.

Scenarios (the role runs as a user runs it: ansible-playbook with playbooks/mysql_cluster*.yml):

* no data lost: deploy 3; scale 3 -> 5 -> 3; a replica pod deleted (it comes back on its claim);
  the role re-run (it restarts that replica's replication); re-run again (must change nothing).
  The claims of ordinals 3 and 4 must outlive the scale-in with the same UIDs.
* primary pod deleted during deploy: mysql-0 deleted while the deploy run waits for mysql-1.
* replica container killed during scale-out: mysql-1's container SIGKILLed through its node's
  containerd (ctr tasks kill) while the scale 3 -> 5 run waits for the new pods.
* node containerd stopped 15 s: the containerd of the node that got mysql-3 is stopped (SIGSTOP)
  for 15 s while the scale 3 -> 4 run waits for that pod, then resumed (always: a finally, and a
  detached guard process that resumes it should this process die first).

Criterion of a fault scenario: the faulted run succeeds, or fails saying why (a failed task with a
message, no traceback) within its bound; a re-run converges (rc 0) and the next one reports
changed=0 (else the run counts as half-applied). Every scenario then stops the writer and checks
every member: every acknowledged row present with its payload and checksum (an acknowledged row
missing on any member is a lost row), each replica identical to the primary (count, SHA-256 over
the ordered rows) and replicating (IO and SQL threads running). p50/p95 are the wall time of a
whole run (role runs, faults, checks).

Usage: .venv/bin/python -m bench.chaos_data [--runs N] [--flavor mariadb-11.8] [--only SCENARIO ...]
       make chaos-data                  (CHAOS_DATA_RUNS=N, exit 1 if any run misses its criterion)
"""
import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zlib

import pymysql

from bench import chaos  # the table and percentile of `make chaos`
from bench import results_io
from statefuldb_dev import KUBECONFIG, REPO
from statefuldb_dev.mysql_cluster import FLAVORS, NAME, STATUS, pod_ips, pods, pvc_uids, root_password
# ansible-playbook exactly as the integration tests run it; localkube for the real nodes' layout and
# the pid files of their containerds.
from statefuldb_dev.playbook import run_playbook
from statefuldb_dev.scripts import localkube as _localkube

localkube = _localkube()
HERE = os.path.dirname(os.path.abspath(__file__))

DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
SCALE = os.path.join(REPO, "playbooks", "mysql_cluster_scale.yml")
RESULTS = os.path.join(HERE, "results", "chaos-data.json")
HISTORIES = results_io.RUNS_DIR  # the raw JSON-lines histories: not committed
DATABASE, TABLE = "chaosdata", "chaosdata.numbered"
WRITER_RATE = 5  # rows a second: enough to hit every phase, little load on 2 shared cores
WRITER_MAX_ROWS = 20000  # the bound, whatever happens
WAIT_TIMEOUT = 300  # the role's mysql_cluster_wait_timeout
FAULTED_RUN_BOUND = WAIT_TIMEOUT * 2 + 120  # a faulted role run must have ended by then (two waits + the rest)
CATCH_UP = 180  # seconds a replica gets to hold everything the primary holds
PAUSE_SECONDS = 15


def payload_of(seq):
    return "row-%d-%s" % (seq, hashlib.sha256(str(seq).encode()).hexdigest()[:24])


class Writer(threading.Thread):
    """Inserts numbered rows on the primary until stopped; every attempt is a history line."""

    def __init__(self, core, namespace, history, rate=WRITER_RATE, max_rows=WRITER_MAX_ROWS):
        super().__init__(daemon=True)
        self.core, self.namespace, self.history = core, namespace, history
        self.interval, self.max_rows = 1.0 / rate, max_rows
        self.stop_event = threading.Event()
        self.acked, self.errors, self.seq = set(), 0, 0
        self.conn = None

    def primary(self):
        """(address, root password) of mysql-0 once it is Running and not being deleted, else None."""
        try:
            pod = pods(self.core, self.namespace).get(NAME + "-0")
            if pod is None or not pod.status.pod_ip:
                return None
            return pod.status.pod_ip, root_password(self.core, self.namespace)
        except Exception:  # pylint: disable=broad-except  # the API may be slow or the Secret not there yet
            return None

    def connect(self):
        where = self.primary()
        if where is None:
            return False
        try:
            self.conn = pymysql.connect(host=where[0], user="root", password=where[1], connect_timeout=3,
                                        read_timeout=10, write_timeout=10, autocommit=True)
            with self.conn.cursor() as cur:
                cur.execute("CREATE DATABASE IF NOT EXISTS " + DATABASE)
                cur.execute("CREATE TABLE IF NOT EXISTS %s (id BIGINT PRIMARY KEY, payload VARCHAR(64) NOT NULL,"
                            " checksum BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB" % TABLE)
            return True
        except pymysql.MySQLError:  # not up yet, still read-only, or going away: try again shortly
            self.close()
            return False

    def close(self):
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def run(self):
        while not self.stop_event.is_set() and self.seq < self.max_rows:
            if self.conn is None and not self.connect():
                self.stop_event.wait(0.5)
                continue
            self.seq += 1
            payload = payload_of(self.seq)
            try:
                with self.conn.cursor() as cur:
                    cur.execute("INSERT INTO " + TABLE + " (id, payload, checksum) VALUES (%s, %s, %s)",
                                (self.seq, payload, zlib.crc32(payload.encode())))
                self.acked.add(self.seq)
                self.history.write(seq=self.seq, ok=True)
            except pymysql.MySQLError as exc:  # not acknowledged: the row may or may not be there
                self.errors += 1
                self.history.write(seq=self.seq, ok=False, error=str(exc)[:200])
                self.close()
            self.stop_event.wait(self.interval)
        self.close()

    def stop(self):
        self.stop_event.set()
        self.join(30)


class History:
    """The run's JSON-lines history: writer attempts and events, one line each, flushed at once."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path, self.lock, self.started = path, threading.Lock(), time.time()
        self.file = open(path, "w")  # pylint: disable=consider-using-with  # closed by close()

    def write(self, **fields):
        line = dict(t=round(time.time() - self.started, 3), **fields)
        with self.lock:
            self.file.write(json.dumps(line) + "\n")
            self.file.flush()

    def event(self, what, **fields):
        self.write(event=what, **fields)

    def close(self):
        self.file.close()


class RunFailed(Exception):
    """A step the scenario needs (not the fault) did not work: the run fails, saying which."""


class DataRun:
    """One run of one scenario: namespace, writer, role runs, faults, checks."""

    def __init__(self, k8s_client, flavor, history_path, prefix):
        from kubernetes import client, config

        self.core = client.CoreV1Api(k8s_client)
        self.apps = client.AppsV1Api(k8s_client)
        self.flavor_id, self.flavor, self.image = flavor
        self.namespace = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))
        self.vars = {"mysql_cluster_namespace": self.namespace, "mysql_cluster_name": NAME,
                     "mysql_cluster_flavor": self.flavor, "mysql_cluster_image": self.image,
                     "mysql_cluster_wait_timeout": WAIT_TIMEOUT}
        self.history = History(history_path)
        # The writer polls the API from its own thread: its own client.
        self.writer = Writer(client.CoreV1Api(config.new_client_from_config(config_file=KUBECONFIG)),
                             self.namespace, self.history)
        self.steps, self.notes, self.facts = [], [], {}
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def close(self):
        self.writer.stop()
        self.history.close()
        self.pool.shutdown(wait=True)
        with contextlib.suppress(Exception):  # the claims go with the namespace
            self.core.delete_namespace(self.namespace)

    # -- the role ---------------------------------------------------------------------------

    def role(self, step, replicas, scale=False):
        """Start a role run; returns a future of its step record."""
        extra = dict(self.vars, replicas=replicas) if scale else dict(self.vars, mysql_cluster_replicas=replicas)
        self.history.event("role run starts", step=step, replicas=replicas)

        def run():
            started = time.monotonic()
            result = run_playbook(SCALE if scale else DEPLOY, extra_vars=extra, kubeconfig=KUBECONFIG, timeout=1800)
            failed = [r for r in result.results if r.get("failed")]
            record = {"step": step, "rc": result.rc, "changed": result.stats.get("changed"),
                      "seconds": round(time.monotonic() - started, 1),
                      "failed_task": failed[-1]["_task"] if failed else None,
                      "msg": str(failed[-1].get("msg") or "")[:400] if failed else None,
                      "traceback": "Traceback (most recent call last)" in result.stdout + result.stderr
                                   or "MODULE FAILURE" in result.stdout}
            reports = [r["ansible_facts"]["mysql_cluster_report"] for r in result.results
                       if "mysql_cluster_report" in (r.get("ansible_facts") or {})]
            record["repairs"] = reports[-1].get("changes") if reports else None  # what the role says it did
            if result.rc and not failed:
                record["msg"] = (result.stderr or result.stdout)[-400:]
            self.history.event("role run ends", **record)
            self.steps.append(record)
            return record

        return self.pool.submit(run)

    def must(self, step, replicas, scale=False, changed=None):
        record = self.role(step, replicas, scale).result()
        if record["rc"] != 0:
            raise RunFailed("%s failed: %s: %s" % (step, record["failed_task"], record["msg"]))
        if changed is not None and record["changed"] != changed:
            raise RunFailed("%s reported changed=%s, expected %s" % (step, record["changed"], changed))
        return record

    def faulted(self, future):
        """The role run under a fault: it succeeded, or failed clearly within its bound."""
        record = future.result()
        clear = record["rc"] == 0 or (record["failed_task"] and record["msg"] and not record["traceback"])
        if not clear or record["seconds"] > FAULTED_RUN_BOUND:
            self.notes.append("the faulted run did not end clearly: %s" % json.dumps(record))
            return False
        return True

    # -- the cluster ------------------------------------------------------------------------

    def wait_for(self, what, predicate, timeout=600, while_running=None):
        """Poll predicate() until true; False when while_running (a role run future) ended first."""
        deadline, error = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except Exception as exc:  # pylint: disable=broad-except  # the shared API server may be restarting
                value, error = None, exc
            if value:
                return value
            if while_running is not None and while_running.done():
                return None
            time.sleep(0.5)
        raise RunFailed("timed out after %ds waiting for %s%s" % (timeout, what, " (last error: %s)" % error if error else ""))

    def pod(self, ordinal):
        return pods(self.core, self.namespace).get("%s-%d" % (NAME, ordinal))

    def ready(self, pod):
        statuses = (pod.status.container_statuses or []) if pod is not None else []
        return bool(statuses) and all(s.ready for s in statuses)

    def delete_pod(self, ordinal):
        pod = self.pod(ordinal)
        self.history.event("fault: pod deleted", pod=pod.metadata.name, uid=pod.metadata.uid)
        self.core.delete_namespaced_pod(pod.metadata.name, self.namespace)
        return pod.metadata.uid

    def wait_back(self, ordinal, old_uid):
        def new_and_ready():
            pod = self.pod(ordinal)
            return pod if pod is not None and pod.metadata.uid != old_uid and self.ready(pod) else None

        back = self.wait_for("pod %d to come back Ready" % ordinal, new_and_ready)
        self.history.event("pod back", pod=back.metadata.name, uid=back.metadata.uid)
        return back

    def kill_container(self, ordinal):
        """SIGKILL the server container of a pod through its node's containerd (as an OOM kill or a crash would)."""
        pod = self.pod(ordinal)
        node = node_layout(pod.spec.node_name)
        status = next(s for s in pod.status.container_statuses if s.name == "mysql")
        container = status.container_id.split("://", 1)[1]
        self.history.event("fault: container killed", pod=pod.metadata.name, node=node.name, container=container,
                           restarts=status.restart_count)
        subprocess.run(["ctr", "-a", node.socket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", container],
                       check=True, capture_output=True, timeout=60)
        return status.restart_count

    # -- the data ---------------------------------------------------------------------------

    def rows(self, host, password):
        conn = pymysql.connect(host=host, user="root", password=password, connect_timeout=5, read_timeout=60)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT id, payload, checksum FROM %s ORDER BY id" % TABLE)
                return cur.fetchall()
        finally:
            conn.close()

    def replica_threads(self, host, password):
        statement, source, io, sql_thread = STATUS[self.flavor]
        conn = pymysql.connect(host=host, user="root", password=password, connect_timeout=5,
                               cursorclass=pymysql.cursors.DictCursor)
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                row = cur.fetchone()
        finally:
            conn.close()
        return (row[source], row[io], row[sql_thread]) if row else None

    def check_data(self, members):
        """Stop the writer; every member must hold every acknowledged row, the replicas what the primary holds."""
        self.writer.stop()
        self.history.event("writer stopped", acknowledged=len(self.writer.acked), errors=self.writer.errors,
                           attempted=self.writer.seq)
        password = root_password(self.core, self.namespace)
        ips = pod_ips(self.core, self.namespace)
        acked = self.writer.acked
        primary = self.rows(ips[NAME + "-0"], password)
        report = {"acknowledged": len(acked), "errors": self.writer.errors, "members": {}}
        lost, ok = set(), True
        bad = [r[0] for r in primary if r[1] != payload_of(r[0]) or r[2] != zlib.crc32(r[1].encode())]
        if bad:
            ok = False
            self.notes.append("rows with a wrong payload or checksum on the primary: %s" % bad[:10])
        for ordinal in range(members):
            name = "%s-%d" % (NAME, ordinal)
            if ordinal == 0:
                rows = primary
            else:
                deadline = time.monotonic() + CATCH_UP
                while True:
                    try:
                        rows = self.rows(ips[name], password)
                    except pymysql.MySQLError as exc:
                        rows = exc
                    if rows == primary or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                if isinstance(rows, Exception):
                    self.notes.append("%s: cannot read the rows: %s" % (name, rows))
                    lost |= acked
                    ok = False
                    continue
            ids = {r[0] for r in rows}
            missing = acked - ids
            lost |= missing
            digest = hashlib.sha256("".join("%d:%s:%d\n" % r for r in rows).encode()).hexdigest()
            member = {"count": len(rows), "sha256": digest, "missing_acknowledged": sorted(missing)[:50]}
            if ordinal:
                member["replication"] = self.replica_threads(ips[name], password)
                if rows != primary:
                    ok = False
                    self.notes.append("%s differs from the primary after %ds (%d rows, primary %d)" % (
                        name, CATCH_UP, len(rows), len(primary)))
                if member["replication"] is None or tuple(member["replication"][1:]) != ("Yes", "Yes"):
                    ok = False
                    self.notes.append("%s is not replicating: %s" % (name, member["replication"]))
            report["members"][name] = member
        report["rows_lost"] = len(lost)
        if lost:
            ok = False
            self.notes.append("%d acknowledged rows lost, e.g. %s" % (len(lost), sorted(lost)[:20]))
        if len(acked) == 0:
            ok = False
            self.notes.append("the writer never got a row acknowledged: the run proves nothing")
        self.history.event("data checked", **report)
        return ok, report

    def settled(self, members):
        """After the last run: the StatefulSet at the wanted size and Ready (else the run is half-applied)."""
        sts = self.apps.read_namespaced_stateful_set(NAME, self.namespace)
        return sts.spec.replicas == members and (sts.status.ready_replicas or 0) == members


def node_layout(name):
    node = next((n for n in localkube.REAL_NODES if n.name == name), None)
    if node is None:
        raise RunFailed("pod is on %s, not one of the real nodes %s" % (name, [n.name for n in localkube.REAL_NODES]))
    return node


def stop_containerd(node, seconds, history):
    """Stop a node's containerd (SIGSTOP: the process and its pid file stay as localkube left them)
    for `seconds`, and always resume it: in the finally, and by a detached guard if we die first."""
    component = node.component("containerd")
    pid = localkube.running_pid(component)
    if pid is None:
        raise RunFailed("%s is not running (no live pid in %s)" % (component, localkube.pid_file(component)))
    guard = subprocess.Popen(  # pylint: disable=consider-using-with  # killed below, by its own pid
        [sys.executable, "-c", "import os, signal, time; time.sleep(%d); os.kill(%d, signal.SIGCONT)" % (
            seconds + 15, pid)], start_new_session=True)
    history.event("fault: containerd stopped", node=node.name, pid=pid, seconds=seconds)
    try:
        os.kill(pid, signal.SIGSTOP)
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)
        history.event("containerd resumed", node=node.name, pid=pid)
        guard.kill()
        guard.wait()


# -- the scenarios ------------------------------------------------------------------------------


def no_data_lost(run):
    """Deploy 3; scale 3 -> 5 -> 3; a replica pod deleted; re-runs. Claims of 3 and 4 kept."""
    run.writer.start()
    run.must("deploy 3", 3)
    run.must("scale 3 -> 5", 5, scale=True)
    at_five = pvc_uids(run.core, run.namespace)
    if set(at_five) != {"data-%s-%d" % (NAME, i) for i in range(5)}:
        raise RunFailed("claims at 5 members: %s" % sorted(at_five))
    run.must("scale 5 -> 3", 3, scale=True)
    old = run.delete_pod(1)
    run.wait_back(1, old)
    run.must("re-run after the pod deletion (restarts its replication)", 3)
    run.must("re-run", 3, changed=0)
    kept = pvc_uids(run.core, run.namespace)
    run.facts.update(claims_at_5=at_five, claims_at_end=kept)
    claims_ok = kept == at_five
    if not claims_ok:
        run.notes.append("claims changed by the scale-in: at 5 %s, now %s" % (at_five, kept))
    return 3, claims_ok


def primary_deleted_during_deploy(run):
    """mysql-0 deleted while the deploy run waits for the next ordinal (rows already acknowledged)."""
    run.writer.start()
    deploy = run.role("deploy 3, mysql-0 deleted during it", 3)
    fired = run.wait_for("mysql-1 created and rows acknowledged",
                         lambda: run.pod(1) is not None and len(run.writer.acked) >= 3, while_running=deploy)
    if fired:
        run.delete_pod(0)
    else:
        run.notes.append("the fault never fired: the deploy run ended before mysql-1 existed")
    clear = run.faulted(deploy)
    return 3, fired and clear and converge(run, 3)


def container_killed_during_scale_out(run):
    """mysql-1's server container SIGKILLed while the scale 3 -> 5 run waits for the new pods."""
    run.writer.start()
    run.must("deploy 3", 3)
    scale = run.role("scale 3 -> 5, mysql-1's container killed during it", 5, scale=True)
    fired = run.wait_for("mysql-3 created", lambda: run.pod(3) is not None, while_running=scale)
    if fired:
        restarts = run.kill_container(1)
    else:
        run.notes.append("the fault never fired: the scale run ended before mysql-3 existed")
    clear = run.faulted(scale)
    if fired:  # the kubelet restarted the killed container (else the kill did not land)
        now = next(s.restart_count for s in run.pod(1).status.container_statuses if s.name == "mysql")
        run.history.event("restarts of mysql-1 after the run", restarts=now)
        if now <= restarts:
            fired = False
            run.notes.append("mysql-1's container was not restarted: the kill did not land")
    return 5, fired and clear and converge(run, 5)


def containerd_stopped_during_scale_out(run):
    """The containerd of the node that got mysql-3 stopped for 15 s while the scale 3 -> 4 run waits for it."""
    run.writer.start()
    run.must("deploy 3", 3)
    scale = run.role("scale 3 -> 4, the new pod's node containerd stopped 15 s", 4, scale=True)

    def node_of_mysql_3():
        pod = run.pod(3)
        return pod.spec.node_name if pod is not None else None

    scheduled = run.wait_for("mysql-3 scheduled", node_of_mysql_3, while_running=scale)
    if scheduled:
        stop_containerd(node_layout(scheduled), PAUSE_SECONDS, run.history)
    else:
        run.notes.append("the fault never fired: the scale run ended before mysql-3 was scheduled")
    clear = run.faulted(scale)
    return 4, bool(scheduled) and clear and converge(run, 4)


def converge(run, members):
    """After a fault: a re-run converges, the next one changes nothing."""
    run.must("converging re-run", members)
    record = run.role("re-run", members).result()
    if record["rc"] != 0 or record["changed"] != 0:
        run.notes.append("the re-run after converging: rc=%s changed=%s" % (record["rc"], record["changed"]))
        return False
    return True


# (name, function, fault as shown in the table's rule column, criterion)
SCENARIOS = [
    ("no data lost", no_data_lost, "deploy 3; scale 3->5->3; delete pod mysql-1; re-run x2",
     "every role run succeeds, the last changed=0; claims 3/4 kept (same UID); every acknowledged row on every member"),
    ("primary pod deleted during deploy", primary_deleted_during_deploy, "delete pod mysql-0 once mysql-1 exists",
     "run succeeds or fails clearly; re-run converges, next changed=0; no acknowledged row lost"),
    ("replica container killed during scale-out", container_killed_during_scale_out,
     "ctr tasks kill -s SIGKILL mysql-1 once mysql-3 exists (scale 3->5)",
     "run succeeds or fails clearly; re-run converges, next changed=0; no acknowledged row lost"),
    ("node containerd stopped 15 s", containerd_stopped_during_scale_out,
     "SIGSTOP containerd of mysql-3's node 15 s (scale 3->4)",
     "run succeeds or fails clearly; re-run converges, next changed=0; no acknowledged row lost"),
]


def slug(text):
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def one_run(k8s_client, scenario, index, flavor, prefix, history_dir, stamp):
    """One run of a scenario; its outcome (the table's inputs, the steps, the data report, the notes)."""
    name, function = scenario[0], scenario[1]
    history_path = os.path.join(history_dir, "chaos-data-history-%s-%s-%d.jsonl" % (slug(name), stamp, index))
    run = DataRun(k8s_client, flavor, history_path, prefix)
    started = time.monotonic()
    outcome = {"scenario": name, "run": index, "flavor": flavor[0], "namespace": run.namespace,
               "history": os.path.relpath(history_path, REPO)}
    ok, half, data = False, False, None
    try:
        members, ok = function(run)
        half = not run.settled(members)
        if half:
            run.notes.append("the StatefulSet is not at %d Ready members after the last run" % members)
        data_ok, data = run.check_data(members)
        ok = ok and data_ok and not half
    except Exception as exc:  # pylint: disable=broad-except  # a failed run, reported; the next run goes on
        run.notes.append(str(exc) if isinstance(exc, RunFailed) else "bench error: %s" % traceback.format_exc()[-1500:])
        with contextlib.suppress(Exception):  # what was lost so far, if the pods answer
            dummy, data = run.check_data(len(pod_ips(run.core, run.namespace)))
    finally:
        outcome.update(seconds=round(time.monotonic() - started, 1), steps=run.steps, notes=run.notes,
                       facts=run.facts)
        run.close()
    outcome.update(ok=ok, half_applied=half, data=data,
                   rows_lost=data["rows_lost"] if data else None)
    return outcome


def main(argv=None):
    parser = argparse.ArgumentParser(description="the mysql_cluster role on real pods: no data lost, real-pod faults")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_DATA_RUNS") or 1))
    parser.add_argument("--flavor", choices=[f[0] for f in FLAVORS], default="mariadb-11.8")
    parser.add_argument("--only", action="append", help="scenario name (repeatable)")
    parser.add_argument("--prefix", default=os.environ.get("CHAOS_DATA_PREFIX") or "chaos-data",
                        help="namespace prefix (a namespace per run, deleted with its claims afterwards)")
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--histories", default=HISTORIES, help="folder of the JSON-lines histories")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    scenarios = [s for s in SCENARIOS if not args.only or s[0] in args.only]
    if args.list or not scenarios:
        for s in SCENARIOS:
            print("%-45s %s" % (s[0], s[2]))
        return 0 if scenarios else 2
    from kubernetes import config

    # SIGTERM (a CI timeout, make interrupted) unwinds through the finally blocks: containerd resumed, namespaces gone.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    k8s_client = config.new_client_from_config(config_file=KUBECONFIG)
    flavor = next(f for f in FLAVORS if f[0] == args.flavor)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    summary, details, started = [], [], time.monotonic()
    for scenario in scenarios:
        name, dummy, rule, criterion = scenario
        outcomes = []
        for i in range(args.runs):
            outcome = one_run(k8s_client, scenario, i, flavor, args.prefix, args.histories, stamp)
            outcomes.append(outcome)
            print("  %s run %d: %s in %.0f s, %s acknowledged rows, %s lost%s" % (
                name, i, "ok" if outcome["ok"] else "FAILED", outcome["seconds"],
                (outcome["data"] or {}).get("acknowledged"), outcome["rows_lost"],
                "" if outcome["ok"] else ": " + "; ".join(outcome["notes"])), flush=True)
        details += outcomes
        times = [o["seconds"] for o in outcomes]
        lost = [o["rows_lost"] for o in outcomes]
        summary.append({"scenario": name, "rules": [rule], "criterion": criterion, "nodes": "real (%s)" % flavor[0],
                        "runs": len(outcomes), "succeeded": sum(o["ok"] for o in outcomes),
                        "p50": statistics.median(times), "p95": chaos.percentile(times, 0.95),
                        "half_applied": sum(o["half_applied"] for o in outcomes),
                        "rows_lost": "?" if None in lost else sum(lost)})
        save(args, summary, details)
    print()
    print(chaos.table(summary))
    print("\n%d scenarios x %d runs on %s in %.0f s; histories in %s" % (
        len(summary), args.runs, flavor[0], time.monotonic() - started, os.path.relpath(args.histories, REPO)))
    return 0 if all(r["succeeded"] == r["runs"] for r in summary) else 1


def save(args, summary, details):
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    results_io.save(args.results, {"runs": args.runs, "flavor": args.flavor, "summary": summary}, details)


if __name__ == "__main__":
    sys.exit(main())
