"""`make chaos-fanout`: one ansible-playbook, forks=10, many namespaces converging at once, like an AWX job.

Generates, in a temporary folder, an inventory of local hosts (``ansible_connection=local``), one
per namespace, an ansible.cfg (forks, the json stdout callback, the progress callback) and two
playbooks, then runs each twice:

* **modules** (``--hosts``, default 10, on KWOK-backed namespaces ``<prefix>-NN``): each host applies
  a headless Service and a 3-replica OrderedReady StatefulSet with ``wait: true``. Every host must
  converge (checked through a direct client: the set matches its definition and is Ready 3/3, the
  Service is headless); the second run must report changed=0 on every host.
* **database** (``--db-clusters 2,3``: one attempt per count, on real pods, namespaces
  ``<prefix>-dbN-NN``): the ``mysql_cluster`` role per host (MariaDB 11.8, 3 members each). Every
  cluster must converge (the role's own report says verified; SQL on each replica shows both
  replication threads running) and the second run must report changed=0. Load average, free
  memory and the database servers' memory are sampled during each run: they say how many fit.

Shared-file races (kubernetes.core's discovery cache, written by every parallel run to the same
file, is the known case: ansible/ansible#55430, kubernetes-client/python#2037): every Python process
of the run (controller, workers, modules) carries bench/write_audit.py's audit hook, which logs
each file it opens for writing; a path written by more than one process is reported (and fails
the run). TMPDIR and Ansible's temporary folders point into the run's own folder, so what a run
leaves behind is counted too.

The play uses ``strategy: free`` so each host's time is its own (under ``linear`` every host waits
for the slowest at every task); per-host time is the first task's start to the last task's end of
that host, from the json callback.

Usage: .venv/bin/python -m bench.chaos_fanout [--prefix fan] [--hosts 10] [--db-clusters 2,3] [--skip-modules]
"""
import argparse
import base64
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench import results_io, write_audit
from bench.chaos import KUBECONFIG, REPO, K8sClient, K8sError, matches_definition, percentile, sts_definition, table

HERE = os.path.dirname(os.path.abspath(__file__))

RESULTS = os.path.join(HERE, "results", "chaos_fanout.json")
VENV_BIN = os.path.dirname(sys.executable)
DB_IMAGE = "localhost/statefuldb/mariadb:11.8"
NAME = "fan"


# -- what the run is made of ---------------------------------------------------------------------
def inventory(hosts, group):
    return {"all": {"children": {group: {"hosts": {h: {"fanout_namespace": h} for h in hosts}}},
                    "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}


def modules_play(wait_timeout):
    definition = sts_definition(NAME, "{{ fanout_namespace }}", "kwok")
    return [{"name": "fan-out: headless Service + 3-replica StatefulSet per namespace", "hosts": "fanout",
             "gather_facts": False, "strategy": "free", "environment": {write_audit.ENV_HOST: "{{ inventory_hostname }}"},
             "tasks": [
                 {"name": "Headless Service", "statefuldb.k8s.headless_service": {
                     "name": NAME, "namespace": "{{ fanout_namespace }}",
                     "selector": definition["spec"]["selector"]["matchLabels"], "ports": [{"port": 80, "name": "http"}]}},
                 {"name": "StatefulSet, wait until Ready", "statefuldb.k8s.statefulset": {
                     "definition": definition, "wait": True, "wait_timeout": wait_timeout}}]}]


def db_play(wait_timeout):
    return [{"name": "fan-out: one mysql_cluster per namespace", "hosts": "fanout_db", "gather_facts": False,
             "strategy": "free", "environment": {write_audit.ENV_HOST: "{{ inventory_hostname }}"},
             "vars": {"mysql_cluster_namespace": "{{ fanout_namespace }}", "mysql_cluster_flavor": "mariadb",
                      "mysql_cluster_image": DB_IMAGE, "mysql_cluster_wait_timeout": wait_timeout},
             "roles": [{"role": "statefuldb.k8s.mysql_cluster"}]}]


ANSIBLE_CFG = """[defaults]
forks = %d
stdout_callback = ansible.posix.json
callbacks_enabled = statefuldb.k8s.progress
retry_files_enabled = false
host_key_checking = false
local_tmp = %s
remote_tmp = %s
"""


class Run:
    """One ansible-playbook run: rc, per-host stats and times, the audit of its writes."""

    def __init__(self, rc, wall, data, stdout, stderr, writes, leftovers, samples):
        self.rc, self.wall, self.data, self.stdout, self.stderr = rc, wall, data, stdout, stderr
        self.writes, self.leftovers, self.samples = writes, leftovers, samples

    @property
    def stats(self):
        return self.data.get("stats", {})

    def host_seconds(self):
        """{host: seconds from its first task's start to its last task's end}."""
        spans = {}
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                duration = task["task"].get("duration", {})
                if "end" not in duration:
                    continue
                start, end = parse_time(duration["start"]), parse_time(duration["end"])
                for host in task.get("hosts", {}):
                    first, last = spans.get(host, (start, end))
                    spans[host] = (min(first, start), max(last, end))
        return {h: (e - s).total_seconds() for h, (s, e) in spans.items()}

    def host_facts(self, host, name):
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                facts = (task.get("hosts", {}).get(host) or {}).get("ansible_facts") or {}
                if name in facts:
                    return facts[name]
        return None

    def failures(self):
        """{host: message of its failed task}."""
        failed = {}
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("failed") and not result.get("ignore_errors"):
                        failed[host] = "%s: %s" % (task["task"]["name"], str(result.get("msg"))[:300])
        return failed


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Sampler(threading.Thread):
    """Peaks of load average, memory used and the database servers' memory while a run goes on."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.peak = {"load1": 0.0, "mem_available_min_mb": None, "mysqld_count": 0, "mysqld_rss_mb": 0.0}

    def run(self):
        while not self.stop_event.wait(1.0):
            with open("/proc/loadavg") as f:
                self.peak["load1"] = max(self.peak["load1"], float(f.read().split()[0]))
            with open("/proc/meminfo") as f:
                available = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:")) / 1024
            low = self.peak["mem_available_min_mb"]
            self.peak["mem_available_min_mb"] = round(available if low is None else min(low, available))
            count, rss = servers_memory()
            self.peak["mysqld_count"] = max(self.peak["mysqld_count"], count)
            self.peak["mysqld_rss_mb"] = round(max(self.peak["mysqld_rss_mb"], rss))

    def finish(self):
        self.stop_event.set()
        self.join(5)
        return dict(self.peak)


def servers_memory():
    """(count, MB resident) of the database servers on this machine (every user's, not only this run's)."""
    count, kb = 0, 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() not in ("mariadbd", "mysqld"):
                    continue
            with open("/proc/%s/status" % pid) as f:
                kb += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            count += 1
        except OSError:
            continue
    return count, kb / 1024.0


def run_playbook(tmp, label, play, hosts, group, forks, timeout):
    folder = os.path.join(tmp, label)
    for sub in ("audit", "site", "tmp", "ansible-local", "ansible-remote"):
        os.makedirs(os.path.join(folder, sub))
    write_audit.write_sitecustomize(os.path.join(folder, "site"))
    paths = {name: os.path.join(folder, name + ".yml") for name in ("inventory", "play")}
    with open(paths["inventory"], "w") as f:
        json.dump(inventory(hosts, group), f)
    with open(paths["play"], "w") as f:
        json.dump(play, f)
    cfg = os.path.join(folder, "ansible.cfg")
    with open(cfg, "w") as f:
        f.write(ANSIBLE_CFG % (forks, os.path.join(folder, "ansible-local"), os.path.join(folder, "ansible-remote")))
    env = dict(os.environ, ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
               K8S_AUTH_KUBECONFIG=KUBECONFIG, TMPDIR=os.path.join(folder, "tmp"), ANSIBLE_NOCOLOR="1",
               PYTHONPATH=os.path.join(folder, "site"), PYTHONDONTWRITEBYTECODE="1",
               PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    env[write_audit.ENV_DIR] = os.path.join(folder, "audit")
    sampler = Sampler()
    sampler.start()
    started = time.monotonic()
    try:
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", paths["inventory"], paths["play"]],
                              capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=folder)
        rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, stdout, stderr = "HUNG", exc.stdout or "", "no end in %d s" % timeout
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    wall = time.monotonic() - started
    samples = sampler.finish()
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line == "{"), None)
    try:
        data = json.loads("\n".join(lines[start:])) if start is not None else {}
    except ValueError:
        data = {}
    leftovers = sorted(os.listdir(os.path.join(folder, "tmp")))
    return Run(rc, wall, data, stdout, stderr, write_audit.read(os.path.join(folder, "audit")), leftovers, samples)


# -- checks through a direct client ----------------------------------------------------------------
def check_modules(direct, namespace):
    """'' when the namespace holds what the play promised, else why not."""
    definition = sts_definition(NAME, namespace, "kwok")
    live = direct.get("apps/v1", "StatefulSet", NAME, namespace)
    if live is None:
        return "no StatefulSet"
    if not matches_definition(live, definition):
        return "StatefulSet differs from its definition"
    if (live.get("status") or {}).get("readyReplicas") != 3:
        return "StatefulSet not Ready 3/3 (%s)" % (live.get("status") or {}).get("readyReplicas")
    service = direct.get("v1", "Service", NAME, namespace)
    if service is None or service["spec"].get("clusterIP") != "None":
        return "no headless Service"
    return ""


def check_database(direct, run, host):
    """'' when the role reported a verified 3-member cluster and every replica runs both threads."""
    from statefuldb_dev import mysql_cluster as helpers

    report = run.host_facts(host, "mysql_cluster_report")
    if not report or report.get("verified") is not True or len(report.get("members", [])) != 3:
        return "the role's report is not a verified 3-member cluster: %s" % json.dumps(report)[:200]
    secret = direct.get("v1", "Secret", "mysql-credentials", host)
    password = base64.b64decode(secret["data"]["root-password"]).decode()
    for member in report["members"]:
        if member["role"] != "replica":
            continue
        statement, dummy, io, sql_thread = helpers.STATUS["mariadb"]
        rows = helpers.sql(member["address"].rsplit(":", 1)[0], password, statement, dict_rows=True)
        if not rows or (rows[0][io], rows[0][sql_thread]) != ("Yes", "Yes"):
            return "%s: replication threads not running" % member["name"]
    return ""


# -- one level: two runs and their rows ----------------------------------------------------------
def level(direct, tmp, label, play, hosts, group, forks, timeout, check, nodes):
    rows, details = [], {"hosts": hosts}
    for attempt in ("first", "second"):
        run = run_playbook(tmp, "%s-%d-%s" % (label, len(hosts), attempt), play, hosts, group, forks, timeout)
        seconds = run.host_seconds()
        failures = run.failures()
        problems = {}
        for host in hosts:
            stats = run.stats.get(host)
            if stats is None:
                problems[host] = "no result (rc %s): %s" % (run.rc, (run.stderr or run.stdout)[-300:])
            elif stats.get("failures") or stats.get("unreachable"):
                problems[host] = failures.get(host, "failed")
            elif attempt == "second" and stats.get("changed"):
                problems[host] = "changed=%d on the second run" % stats["changed"]
        half = 0
        for host in hosts:
            if host in problems:
                continue
            try:
                why = check(direct, run, host)
            except (K8sError, OSError, KeyError, TypeError) as exc:
                why = "check failed: %r" % exc
            if why:
                problems[host], half = why, half + 1
        shared = write_audit.shared_writes(run.writes)
        # Our modules' own files: each progress file must name the namespace of the host that wrote it.
        ours = sorted({(h, path) for h, dummy, path in run.writes if h != "-" and "statefuldb" in path})
        progress = [(h, path) for h, path in ours if path.endswith(".jsonl")]
        misplaced = [(h, path) for h, path in progress if not os.path.basename(path).startswith(h + ".")]
        times = [seconds[h] for h in hosts if h in seconds] or [float("nan")]
        criterion = ("every host converges, checked directly" if attempt == "first" else "changed=0 on every host")
        rows.append({"scenario": "fan-out %s: %d x %s, %s run" % (label, len(hosts), group, attempt),
                     "rules": ["forks=%d strategy=free" % forks], "nodes": nodes, "criterion": criterion,
                     "runs": len(hosts), "succeeded": len(hosts) - len(problems), "p50": statistics.median(times),
                     "p95": percentile(times, 0.95), "half_applied": half, "rows_lost": "n/a"})
        details[attempt] = {"rc": run.rc, "wall_seconds": round(run.wall, 1), "host_seconds": seconds,
                            "stats": run.stats, "problems": problems, "writes_recorded": len(run.writes),
                            "writing_processes": len({pid for dummy, pid, dummy2 in run.writes}),
                            "shared_writes": shared, "shared_lock_files": len(write_audit.shared_writes(run.writes, locks=True)),
                            "statefuldb_files": ours, "progress_files": len(progress), "progress_files_misplaced": misplaced,
                            "tmp_leftovers": run.leftovers, "peaks": run.samples,
                            "progress_lines": sum(1 for line in run.stdout.splitlines() if line[:2].isdigit())}
        print("%-48s rc %s  %d/%d  wall %.1fs  p50 %.1fs  p95 %.1fs  writes %d by %d processes, shared %d "
              "(+%d lock files), progress files %d (misplaced %d), tmp left %d  peaks %s" % (
                  rows[-1]["scenario"], run.rc, rows[-1]["succeeded"], len(hosts), run.wall, rows[-1]["p50"],
                  rows[-1]["p95"], len(run.writes), details[attempt]["writing_processes"], len(shared),
                  details[attempt]["shared_lock_files"], len(progress), len(misplaced), len(run.leftovers),
                  json.dumps(run.samples)), flush=True)
        for host, why in sorted(problems.items()):
            print("    %s: %s" % (host, why), flush=True)
        for path, who in sorted(shared.items()):
            print("    SHARED WRITE %s by %s" % (path, who), flush=True)
    return rows, details


def create_namespaces(direct, names, annotations):
    for name in names:
        if direct.get("v1", "Namespace", name) is not None:
            raise SystemExit("namespace %s already exists (an earlier run?): delete it, or pick another --prefix" % name)
    for name in names:
        direct.create("v1", "Namespace", None, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": name, "annotations": annotations}})


def delete_namespaces(direct, names, timeout=300):
    """Delete, then wait until they are gone (their claims, and the volumes bound to them, go with them)."""
    for name in names:
        try:
            direct.delete("v1", "Namespace", name)
        except K8sError as exc:
            print("could not delete namespace %s: %s" % (name, exc), file=sys.stderr)
    deadline = time.monotonic() + timeout
    left = list(names)
    while left and time.monotonic() < deadline:
        left = [n for n in left if direct.get("v1", "Namespace", n) is not None]
        time.sleep(2)
    if left:
        print("namespaces still terminating after %d s: %s" % (timeout, ", ".join(left)), file=sys.stderr)
    return left


def save(path, summary, details):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    results_io.save(path, {"summary": summary}, details, default=str)


def main(argv=None):
    from statefuldb_dev.scripts import localkube  # here, not at the top: tests/unit loads this file

    parser = argparse.ArgumentParser(description="fan-out: one playbook, forks=10, many namespaces at once")
    parser.add_argument("--prefix", default=os.environ.get("FANOUT_PREFIX") or "fan",
                        help="namespace prefix: <prefix>-NN for the modules, <prefix>-dbN-NN for the databases")
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--db-clusters", default="2,3", help="database cluster counts to try, one attempt each ('' = none)")
    parser.add_argument("--skip-modules", action="store_true")
    parser.add_argument("--timeout", type=int, default=1500, help="bound of one ansible-playbook run (s)")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces and the temporary folder")
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args(argv)
    direct = K8sClient.from_auth({"kubeconfig": KUBECONFIG}, timeout=60)
    tmp = tempfile.mkdtemp(prefix="chaos-fanout-")
    summary, details, started = [], {}, time.monotonic()
    created = []
    try:
        if not args.skip_modules:
            hosts = ["%s-%02d" % (args.prefix, i + 1) for i in range(args.hosts)]
            create_namespaces(direct, hosts, dict(localkube().KWOK_NAMESPACE_ANNOTATIONS))
            created += hosts
            rows, details["modules"] = level(direct, tmp, "modules", modules_play(180), hosts, "fanout", args.forks,
                                             args.timeout, lambda d, run, h: check_modules(d, h), "kwok")
            summary += rows
            save(args.results, summary, details)
            if not args.keep:
                delete_namespaces(direct, hosts)
        for count in [int(c) for c in args.db_clusters.split(",") if c.strip()]:
            hosts = ["%s-db%d-%02d" % (args.prefix, count, i + 1) for i in range(count)]
            for host in hosts:  # the role creates them (and says changed once)
                if direct.get("v1", "Namespace", host) is not None:
                    raise SystemExit("namespace %s already exists: delete it, or pick another --prefix" % host)
            created += hosts
            rows, details["db%d" % count] = level(direct, tmp, "mysql_cluster", db_play(600), hosts, "fanout_db",
                                                  args.forks, args.timeout, check_database, "real")
            summary += rows
            save(args.results, summary, details)
            if not args.keep:
                delete_namespaces(direct, hosts)  # before the next count: it gets the whole machine
    finally:
        if not args.keep:
            left = delete_namespaces(direct, [n for n in created if direct.get("v1", "Namespace", n) is not None])
            details["namespaces_left"] = left
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept: %s and %s" % (tmp, ", ".join(created)))
    print()
    print(table(summary))
    print("\nwall %.0f s" % (time.monotonic() - started))
    save(args.results, summary, details)
    shared = sum(len(d.get(a, {}).get("shared_writes", {})) + len(d.get(a, {}).get("progress_files_misplaced", []))
                 for d in details.values() if isinstance(d, dict)
                 for a in ("first", "second"))
    return 0 if all(r["succeeded"] == r["runs"] for r in summary) and not shared else 1


if __name__ == "__main__":
    sys.exit(main())
