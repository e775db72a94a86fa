"""The mysql_cluster role under API faults (`make chaos-role`): re-runs through tools/faultproxy.py.

A 3-member MariaDB 11.8 cluster (the local image, real pods) is deployed once, directly. Each run
then re-runs the deploy playbook with the role's Kubernetes traffic going through the fault proxy,
one fault rule per scenario (seeded, moved to a different request on each run). The database
traffic goes straight to the pods: the faults under test are the API server's.

Criterion for every run: the playbook succeeds; it reports changed=0 (a fault must never turn into
a change: no re-created object, no restarted pod, no replica reset); the fault fired; and the
cluster is whole afterwards, checked directly: the StatefulSet's generation and every pod's UID are
what they were before the run (nobody restarted), and a row written on the primary after the run is
read on every replica (replication running). A run that breaks any of these counts as half-applied.

Usage: .venv/bin/python -m bench.chaos_role [--runs N] [--only SCENARIO ...] [--results FILE]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

from bench import results_io
from bench.chaos import percentile, table
from statefuldb_dev import REPO
from statefuldb_dev.mysql_cluster import changed_tasks, pod_ips, pods, root_password, sql, wait_rows
from statefuldb_dev.playbook import run_playbook  # the tests' real ansible-playbook runner
from statefuldb_dev.scripts import tool

faultproxy = tool("faultproxy")
HERE = os.path.dirname(os.path.abspath(__file__))

KUBECONFIG = os.environ.get("CHAOS_KUBECONFIG") or os.path.join(REPO, ".localkube", "kubeconfig")
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
RESULTS = os.path.join(HERE, "results", "chaos-role.json")
IMAGE = "localhost/statefuldb/mariadb:11.8"

# (name, rule, sweep): each fault lands on a different one of the run's first `sweep` matching requests.
SCENARIOS = [
    ("role: 429 Retry-After", "429:every=4,limit=3", 4),
    ("role: 503", "503:every=4,limit=3", 4),
    ("role: reset before send", "reset-before:every=5,limit=2", 5),
    ("role: reset after an apply", "reset-after:verb=PATCH,limit=1", 3),
    ("role: stall 5s", "stall:every=7,limit=1", 7),
]
# No watch faults here: on a healthy cluster the role's waits are over at their first list (every
# pod is Ready already), so a watch fault never fires (measured: 0/3 fired). Watch faults during a
# real wait are bench/chaos.py's "watch reset" / "watch 410 Gone" / "watch stall" on real pods.


class RoleChaos:
    def __init__(self, seed):
        from kubernetes import client, config

        self.seed = seed
        self.api = config.new_client_from_config(config_file=KUBECONFIG)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.tmp = tempfile.mkdtemp(prefix="chaos-role-")
        self.proxy = faultproxy.FaultProxy(KUBECONFIG, log_path=os.path.join(self.tmp, "faults.jsonl")).start()
        self.proxy_kubeconfig = self.proxy.write_kubeconfig(os.path.join(self.tmp, "kubeconfig"))
        self.namespace = "chaos-role-%s" % uuid.uuid4().hex[:6]
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))
        self.vars = {"mysql_cluster_namespace": self.namespace, "mysql_cluster_name": "mysql",
                     "mysql_cluster_flavor": "mariadb", "mysql_cluster_image": IMAGE,
                     "mysql_cluster_wait_timeout": 300}
        self.marker = 0

    def close(self):
        try:
            self.core.delete_namespace(self.namespace)
        finally:
            self.proxy.stop()

    def deploy(self):
        """The starting point: a healthy cluster of 3, deployed without faults."""
        run = run_playbook(DEPLOY, extra_vars=self.vars, kubeconfig=KUBECONFIG)
        if run.rc != 0:
            raise SystemExit("the first deploy failed (no fault injected):\n%s" % run.stdout[-3000:])
        self.password = root_password(self.core, self.namespace)

    def snapshot(self):
        sts = self.apps.read_namespaced_stateful_set("mysql", self.namespace)
        return sts.metadata.generation, {n: p.metadata.uid for n, p in pods(self.core, self.namespace).items()}

    def replicated(self):
        """A new row on the primary, read on every replica: replication is running after the run."""
        self.marker += 1
        ips = pod_ips(self.core, self.namespace)
        sql(ips["mysql-0"], self.password, "CREATE DATABASE IF NOT EXISTS chaos")
        sql(ips["mysql-0"], self.password, "CREATE TABLE IF NOT EXISTS chaos.marks (id INT PRIMARY KEY)")
        sql(ips["mysql-0"], self.password, "INSERT INTO chaos.marks VALUES (%s)", (self.marker,))
        want = ((self.marker,),)
        missing = [name for name in sorted(ips) if name != "mysql-0" and wait_rows(
            ips[name], self.password, "SELECT id FROM chaos.marks WHERE id = %d" % self.marker, want) != want]
        return missing

    def one(self, name, rule_text, sweep, index):
        rule = faultproxy.parse_rule(rule_text)
        rule.first = 1 + index % sweep
        before = self.snapshot()
        fired_before = len(self.proxy.faults_fired())
        self.proxy.set_schedule(faultproxy.Schedule([rule], seed=self.seed + index))
        started = time.monotonic()
        run = run_playbook(DEPLOY, extra_vars=self.vars, kubeconfig=self.proxy_kubeconfig)
        elapsed = time.monotonic() - started
        self.proxy.set_schedule(faultproxy.Schedule())
        fired = len(self.proxy.faults_fired()) - fired_before
        outcome = {"scenario": name, "run": index, "seconds": round(elapsed, 1), "faults": fired,
                   "failed": run.rc != 0, "changed": changed_tasks(run) if run.rc == 0 else None}
        problems = []
        if run.rc != 0:
            problems.append("the playbook failed: %s" % run.stdout[-600:])
        elif outcome["changed"]:
            problems.append("a fault turned into changes: %s" % outcome["changed"])
        after = self.snapshot()
        if after != before:
            problems.append("the cluster changed under a no-op run: generation %s -> %s, pods %s -> %s" % (
                before[0], after[0], before[1], after[1]))
        missing = self.replicated()
        if missing:
            problems.append("replication not running on %s" % ", ".join(missing))
        if fired == 0:
            problems.append("the fault never fired")
        outcome["half_applied"] = bool(after != before or missing)
        outcome["problems"] = problems
        outcome["ok"] = not problems
        return outcome


def main(argv=None):
    parser = argparse.ArgumentParser(description="the mysql_cluster role re-run under API faults")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_ROLE_RUNS") or 3))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED") or 1))
    parser.add_argument("--only", action="append", help="scenario name (repeatable)")
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args(argv)
    scenarios = [s for s in SCENARIOS if not args.only or s[0] in args.only]
    chaos = RoleChaos(args.seed)
    summary, details = [], []
    started = time.monotonic()
    try:
        chaos.deploy()
        for name, rule, sweep in scenarios:
            outcomes = [chaos.one(name, rule, sweep, i) for i in range(args.runs)]
            details += outcomes
            times = [o["seconds"] for o in outcomes]
            summary.append({"scenario": name, "rules": [rule], "nodes": "real",
                            "criterion": "role succeeds, changed=0, nobody restarted, replication running",
                            "runs": len(outcomes), "succeeded": sum(o["ok"] for o in outcomes),
                            "p50": statistics.median(times), "p95": percentile(times, 0.95),
                            "half_applied": sum(o["half_applied"] for o in outcomes), "rows_lost": "n/a"})
            print("%-28s %d/%d  p50 %.1fs" % (name, summary[-1]["succeeded"], len(outcomes), summary[-1]["p50"]),
                  flush=True)
            for o in outcomes:
                if not o["ok"]:
                    print("    run %d FAILED: %s" % (o["run"], "; ".join(o["problems"])), flush=True)
    finally:
        chaos.close()
        os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
        results_io.save(args.results, {"runs": args.runs, "seed": args.seed, "summary": summary}, details)
    print()
    print(table(summary))
    print("\n%d scenarios x %d runs in %.0f s" % (len(summary), args.runs, time.monotonic() - started))
    return 0 if all(r["succeeded"] == r["runs"] for r in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
