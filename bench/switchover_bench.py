"""Benchmark of the primary's role on the local cluster's real pods (MariaDB 11.8, 3 members), side by side.

  write latency   one INSERT + commit on the primary, 300 in a row, semi-synchronous (the default:
                  the commit waits for a replica's acknowledgement) against the floor of the same
                  server with semi-sync switched off at run time (asynchronous, what a failover may
                  lose); median and 95th percentile, and the ratio;
  switchover      playbooks/mysql_cluster_switchover.yml to mysql-1 while a writer inserts every
                  20 ms through the writer Service (re-resolving it after an error): the playbook's
                  run time, the module's write-unavailable window (old primary read-only until the
                  new one writable), and what the writer saw (the gap between its last acknowledged
                  row before and its first after, goal <= 5 s), with the rows lost (must be 0).

Prints a markdown table and writes bench/results/switchover.json. Runnable alone:
  .venv/bin/python -m bench.switchover_bench   (the cluster must be up with its real nodes: make cluster)
"""
import base64
import contextlib
import json
import os
import statistics
import sys
import threading
import time
import uuid

import pymysql

from bench.mysql_bench import DEPLOY, HERE, KUBECONFIG, REPO, TEARDOWN, play

SWITCHOVER = os.path.join(REPO, "playbooks", "mysql_cluster_switchover.yml")
IMAGE = "localhost/statefuldb/mariadb:11.8"
GOAL_WINDOW = 5.0
SAMPLES = 300


def writer_ip(discovery, namespace):
    slices = discovery.list_namespaced_endpoint_slice(
        namespace, label_selector="kubernetes.io/service-name=mysql-primary").items
    ready = [a for s in slices for e in (s.endpoints or []) if e.conditions and e.conditions.ready for a in e.addresses]
    return ready[0] if ready else None


APP_PASSWORD = "bench-app-Pw-51"


def connect(host, password, user="root"):
    return pymysql.connect(host=host, user=user, password=password, connect_timeout=3, read_timeout=10,
                           write_timeout=10, autocommit=True)


def commit_latencies(host, password):
    conn = connect(host, password)
    samples = []
    try:
        with conn.cursor() as cur:
            for i in range(SAMPLES):
                start = time.perf_counter()
                cur.execute("INSERT INTO bench.t (v) VALUES (%s)", (i,))
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2), "p95_ms": round(samples[int(len(samples) * 0.95)], 2)}


class Writer(threading.Thread):
    """INSERTs every 20 ms through the writer Service as an application account (no SUPER / READ ONLY
    ADMIN: MariaDB's read_only does not stop root); (time, ok, host) per attempt."""

    def __init__(self, discovery, namespace):
        super().__init__(daemon=True)
        self.discovery, self.namespace = discovery, namespace
        self.log, self.acked, self.stop_event = [], set(), threading.Event()

    def run(self):
        conn, host, seq = None, None, 0
        while not self.stop_event.is_set():
            seq += 1
            try:
                if conn is None:
                    host = writer_ip(self.discovery, self.namespace)
                    conn = connect(host, APP_PASSWORD, user="app") if host else None
                if conn is None:
                    raise pymysql.OperationalError(0, "no ready writer")
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO bench.w (id) VALUES (%s)", (seq,))
                self.acked.add(seq)
                self.log.append((time.monotonic(), True, host))
            except Exception:  # pylint: disable=broad-except  # not acknowledged: reconnect
                self.log.append((time.monotonic(), False, host))
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
            self.stop_event.wait(0.02)

    def gap(self, old_host):
        """Seconds between the last acknowledged write on the old primary and the first on another."""
        last_old = max(t for t, ok, h in self.log if ok and h == old_host)
        first_new = min(t for t, ok, h in self.log if ok and h != old_host and t > last_old)
        return first_new - last_old


def main():
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=KUBECONFIG)
    core, discovery = client.CoreV1Api(api_client), client.DiscoveryV1Api(api_client)
    namespace = "bench-switchover-" + uuid.uuid4().hex[:6]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    extra = {"mysql_cluster_namespace": namespace, "mysql_cluster_replicas": 3,
             "mysql_cluster_flavor": "mariadb", "mysql_cluster_image": IMAGE}
    try:
        play(DEPLOY, extra)
        secret = core.read_namespaced_secret("mysql-credentials", namespace).data
        password = base64.b64decode(secret["root-password"]).decode()
        primary = writer_ip(discovery, namespace)
        conn = connect(primary, password)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
            cur.execute("CREATE TABLE bench.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB")
            cur.execute("CREATE TABLE bench.w (id BIGINT PRIMARY KEY) ENGINE=InnoDB")
            cur.execute("CREATE USER 'app'@'%%' IDENTIFIED BY %s", (APP_PASSWORD,))
            cur.execute("GRANT SELECT, INSERT ON bench.* TO 'app'@'%'")
            semi = commit_latencies(primary, password)
            cur.execute("SET GLOBAL rpl_semi_sync_master_enabled = OFF")
            floor = commit_latencies(primary, password)
            cur.execute("SET GLOBAL rpl_semi_sync_master_enabled = ON")
        conn.close()

        writer = Writer(discovery, namespace)
        writer.start()
        time.sleep(3)
        start = time.monotonic()
        took, unused = play(SWITCHOVER, dict(extra, primary="mysql-1"))
        run_s = time.monotonic() - start
        time.sleep(3)
        writer.stop_event.set()
        writer.join(30)
        new_primary = writer_ip(discovery, namespace)
        conn = connect(new_primary, password)
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM bench.w")
            held = {row[0] for row in cur.fetchall()}
        conn.close()
        gap = writer.gap(primary)
        play(TEARDOWN, dict(extra, delete_data=True))
    finally:
        core.delete_namespace(namespace)
    results = {
        "commit_semi_sync": semi, "commit_async_floor": floor,
        "semi_sync_ratio_median": round(semi["median_ms"] / floor["median_ms"], 2),
        "switchover_playbook_s": round(took, 2), "switchover_wall_s": round(run_s, 2),
        "writer_gap_s": round(gap, 2), "writer_attempts": len(writer.log), "writer_acknowledged": len(writer.acked),
        "acknowledged_rows_lost": len(writer.acked - held), "goal_window_s": GOAL_WINDOW,
        "load_avg_1m": os.getloadavg()[0],
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "switchover.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("| MariaDB 11.8, 3 members | value | floor / goal |")
    print("|---|---:|---|")
    print("| commit latency, semi-sync (median / p95) | %.2f / %.2f ms | async %.2f / %.2f ms: x%.2f |" % (
        semi["median_ms"], semi["p95_ms"], floor["median_ms"], floor["p95_ms"], results["semi_sync_ratio_median"]))
    print("| switchover playbook, end to end | %.1f s | |" % took)
    print("| writer's gap: last row on the old primary -> first on the new | %.2f s | <= %.0f s: %s |" % (
        gap, GOAL_WINDOW, "met" if gap <= GOAL_WINDOW else "NOT met"))
    print("| acknowledged rows lost (of %d) | %d | 0 |" % (len(writer.acked), results["acknowledged_rows_lost"]))
    print("\n(load average %.1f; the gap includes the writer Service's EndpointSlice update and the writer's"
          " reconnect)" % results["load_avg_1m"])
    return 0 if results["acknowledged_rows_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
