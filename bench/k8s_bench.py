"""Side-by-side benchmark of the Kubernetes modules: statefuldb.k8s vs kubernetes.core.k8s vs kubectl.

Runs on the local control plane (tools/localkube), in its own namespaces, and measures:

1. API requests for a no-op apply of a StatefulSet + headless Service (warm caches).
2. Time from the last pod becoming Ready to the waiting task returning
   (statefulset wait vs kubernetes.core.k8s wait vs kubectl rollout status).
3. Wall time of a playbook of 10 no-op apply tasks (statefuldb.k8s vs kubernetes.core.k8s).
4. A 200-replica Parallel StatefulSet: API requests made while waiting (compared with 20 replicas, to
   show they do not grow with the pod count) and the waiting module's peak memory.

Requests are counted by tools/faultproxy.py with no fault rules, on loopback in front of the API
server: every tool gets a kubeconfig pointing at http://127.0.0.1:<port>; the proxy forwards to the
real API server over TLS with the admin credentials and logs each request under the current phase's
label. Nothing leaves 127.0.0.1.

Usage: .venv/bin/python -m bench.k8s_bench   (prints a markdown table, writes bench/results/k8s.json)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

from statefuldb_dev import REPO, use_checkout_collection
from statefuldb_dev.playbook import run_playbook  # the tests' real ansible-playbook runner
from statefuldb_dev.scripts import tool

use_checkout_collection()
FaultProxy = tool("faultproxy").FaultProxy
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sClient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")
LOCALKUBE = os.path.join(REPO, "tools", "localkube", "localkube.py")
RESULTS = os.path.join(HERE, "results", "k8s.json")
SITE_COLLECTIONS = [p for p in sys.path if p.endswith("site-packages")]


def kubectl_path():
    out = subprocess.run([sys.executable, LOCALKUBE, "status"], cwd=REPO, capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if line.startswith("bin dir:"):
            return os.path.join(line.split(":", 1)[1].strip(), "kubectl")
    raise SystemExit("localkube status does not print the bin dir; is the cluster up? (make cluster)")


# -- manifests and tasks -----------------------------------------------------------------------------
def sts_manifest(name, namespace, replicas=3, policy="OrderedReady"):
    labels = {"app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "serviceName": name, "podManagementPolicy": policy,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "db", "image": "registry.example/mariadb:11.4"}]}}}}


def svc_manifest(name, namespace):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                     "selector": {"app.kubernetes.io/name": name}, "ports": [{"name": "mysql", "port": 3306}]}}


def ours_tasks(name, namespace, replicas=3, wait=False, policy="OrderedReady", service=True):
    tasks = [{"name": "ours sts", "statefuldb.k8s.statefulset": {
        "definition": sts_manifest(name, namespace, replicas, policy), "wait": wait, "wait_timeout": 900,
        "stall_timeout": 0}}]
    if service:
        tasks.append({"name": "ours svc", "statefuldb.k8s.headless_service": {
            "definition": svc_manifest(name, namespace), "selector": {"app.kubernetes.io/name": name}}})
    return tasks


def core_tasks(name, namespace, replicas=3, wait=False, policy="OrderedReady", service=True):
    tasks = [{"name": "core sts", "kubernetes.core.k8s": {
        "definition": sts_manifest(name, namespace, replicas, policy), "wait": wait, "wait_timeout": 900,
        "server_side_apply": {"field_manager": "bench-core"}}}]
    if service:
        tasks.append({"name": "core svc", "kubernetes.core.k8s": {
            "definition": svc_manifest(name, namespace), "server_side_apply": {"field_manager": "bench-core"}}})
    return tasks


class Bench:
    def __init__(self):
        self.direct = K8sClient.from_auth({"kubeconfig": KUBECONFIG}, timeout=600)
        self.proxy = FaultProxy(KUBECONFIG).start()
        self.tmp = tempfile.mkdtemp(prefix="k8s-bench-")
        self.proxy_kubeconfig = self.proxy.write_kubeconfig(os.path.join(self.tmp, "proxy-kubeconfig"))
        self.kubectl = kubectl_path()
        self.namespaces = []
        self.env = {"K8S_AUTH_KUBECONFIG": self.proxy_kubeconfig, "HOME": self.tmp,
                    "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(REPO, ".collections")]
                                                                + SITE_COLLECTIONS)}

    def namespace(self, tag):
        name = "bench-%s-%s" % (tag, uuid.uuid4().hex[:5])
        # KWOK nodes: the benchmark's pods (hundreds, made-up images) need no containers.
        manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "annotations": {
            "scheduler.alpha.kubernetes.io/node-selector": "type=kwok",
            "scheduler.alpha.kubernetes.io/defaultTolerations":
                '[{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule", "operator": "Equal"}]'}}}
        self.direct.create("v1", "Namespace", None, manifest)
        self.namespaces.append(name)
        return name

    def cleanup(self):
        for name in self.namespaces:
            self.direct.delete("v1", "Namespace", name)
        self.proxy.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def play(self, label, tasks, **kwargs):
        self.proxy.label = label
        started = time.monotonic()
        run = run_playbook(tasks, env=self.env, **kwargs)
        took = time.monotonic() - started
        self.proxy.label = None
        if run.rc != 0:
            raise SystemExit("playbook %s failed:\n%s\n%s" % (label, run.stdout[-4000:], run.stderr[-2000:]))
        return run, took

    def kubectl_run(self, label, args, stdin=None):
        self.proxy.label = label
        started = time.monotonic()
        proc = subprocess.run([self.kubectl, "--kubeconfig", self.proxy_kubeconfig] + args, input=stdin,
                              capture_output=True, text=True, env=dict(os.environ, HOME=self.tmp), check=False)
        took = time.monotonic() - started
        self.proxy.label = None
        if proc.returncode != 0:
            raise SystemExit("kubectl %s failed: %s" % (args, proc.stderr))
        return proc, took

    # 1 ------------------------------------------------------------------------------------------
    def noop_requests(self):
        ns = self.namespace("noop")
        out = {}
        self.play("setup", ours_tasks("ours", ns, wait=True))
        self.play("setup", core_tasks("core", ns))
        manifests = json.dumps({"apiVersion": "v1", "kind": "List",
                                "items": [sts_manifest("kctl", ns), svc_manifest("kctl", ns)]})
        self.kubectl_run("setup", ["apply", "--server-side", "--field-manager", "bench-kubectl", "-f", "-"],
                         stdin=manifests)
        self.kubectl_run("warm", ["apply", "--server-side", "--field-manager", "bench-kubectl", "-f", "-"],
                         stdin=manifests)
        self.play("warm", core_tasks("core", ns))
        time.sleep(3.5)  # outside the window in which our own last write could be this apply
        run, unused = self.play("ours-noop", ours_tasks("ours", ns))
        results = run.results
        assert not any(r["changed"] for r in results), "ours no-op reported changed"
        out["ours"] = {"total": self.proxy.count("ours-noop"), "paths": self.proxy.paths("ours-noop"),
                       "statefulset_task": results[0]["api_requests"], "headless_service_task": results[1]["api_requests"]}
        run, unused = self.play("core-noop", core_tasks("core", ns))
        assert not any(r["changed"] for r in run.results), "kubernetes.core no-op reported changed"
        out["kubernetes.core"] = {"total": self.proxy.count("core-noop"), "paths": self.proxy.paths("core-noop")}
        self.kubectl_run("kubectl-noop", ["apply", "--server-side", "--field-manager", "bench-kubectl", "-f", "-"],
                         stdin=manifests)
        out["kubectl"] = {"total": self.proxy.count("kubectl-noop"), "paths": self.proxy.paths("kubectl-noop")}
        return out

    # 2 ------------------------------------------------------------------------------------------
    def watch_ready(self, namespace, name, ready_at, done):
        """Record the local time at which each pod of ``name`` is first seen Ready (watch on the real API server)."""
        selector = "app.kubernetes.io/name=%s" % name
        rv = self.direct.list("v1", "Pod", namespace, label_selector=selector)["metadata"]["resourceVersion"]
        while not done.is_set():
            try:
                for event in self.direct.watch("v1", "Pod", namespace, resource_version=rv, label_selector=selector,
                                               timeout_seconds=30):
                    obj = event["object"]
                    rv = obj["metadata"].get("resourceVersion", rv)
                    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                                for c in (obj.get("status") or {}).get("conditions") or [])
                    if ready and obj["metadata"]["name"] not in ready_at:
                        ready_at[obj["metadata"]["name"]] = time.time()
                    if done.is_set():
                        return
            except Exception:  # the bench's own watch: resume from a fresh list
                rv = self.direct.list("v1", "Pod", namespace, label_selector=selector)["metadata"]["resourceVersion"]

    def measure_return_lag(self, tool, replicas=3, rounds=3):
        lags = []
        for round_no in range(rounds):
            ns = self.namespace("lag")
            name = "%s%d" % (tool.replace(".", "")[:6], round_no)
            done = threading.Event()
            ready_at = {}
            threading.Thread(target=self.watch_ready, args=(ns, name, ready_at, done), daemon=True).start()
            time.sleep(0.5)
            if tool == "ours":
                run, unused = self.play("lag", ours_tasks(name, ns, replicas, wait=True, service=False))
                returned = parse_iso(run.data["plays"][0]["tasks"][0]["task"]["duration"]["end"])
            elif tool == "kubernetes.core":
                run, unused = self.play("lag", core_tasks(name, ns, replicas, wait=True, service=False))
                returned = parse_iso(run.data["plays"][0]["tasks"][0]["task"]["duration"]["end"])
            else:
                self.kubectl_run("lag", ["apply", "--server-side", "-f", "-"],
                                 stdin=json.dumps(sts_manifest(name, ns, replicas)))
                self.kubectl_run("lag", ["-n", ns, "rollout", "status", "statefulset/%s" % name, "--timeout=300s"])
                returned = time.time()
            give_up = time.monotonic() + 10
            while len(ready_at) < replicas and time.monotonic() < give_up:
                time.sleep(0.05)  # the bench's watch may deliver the last event a moment later
            done.set()
            if len(ready_at) < replicas:
                raise SystemExit("%s: only %d of %d pods seen Ready" % (tool, len(ready_at), replicas))
            lags.append(returned - max(ready_at.values()))
            self.direct.delete("v1", "Namespace", ns)
        return {"rounds_seconds": [round(x, 3) for x in lags], "median_seconds": round(statistics.median(lags), 3)}

    # 3 ------------------------------------------------------------------------------------------
    def ten_noop_tasks(self, rounds=3):
        ns = self.namespace("ten")
        self.play("setup", ours_tasks("ours", ns, wait=True, service=False))
        self.play("setup", core_tasks("core", ns, service=False))
        time.sleep(3.5)
        ours = [self.play("ten-ours", ours_tasks("ours", ns, service=False) * 10)[1] for unused in range(rounds)]
        core = [self.play("ten-core", core_tasks("core", ns, service=False) * 10)[1] for unused in range(rounds)]
        return {"ours_seconds": [round(x, 2) for x in ours], "core_seconds": [round(x, 2) for x in core],
                "ours_median": round(statistics.median(ours), 2), "core_median": round(statistics.median(core), 2),
                "ours_requests": self.proxy.count("ten-ours") / rounds,
                "core_requests": self.proxy.count("ten-core") / rounds}

    # 4 ------------------------------------------------------------------------------------------
    def _play_measuring_rss(self, label, tasks):
        """Run ``tasks`` with the module's Python wrapped to record its peak RSS: (run, seconds, peak kB)."""
        wrapper = self._rss_wrapper()
        env_backup = dict(self.env)
        self.env["ANSIBLE_PYTHON_INTERPRETER"] = wrapper
        try:
            run, took = self.play(label, tasks)
        finally:
            self.env = env_backup
        with open(wrapper + ".rss") as f:
            peak_kb = max(int(line) for line in f if line.strip())
        os.unlink(wrapper + ".rss")
        return run, took, peak_kb

    def big_wait(self, replicas, with_core=False):
        ns = self.namespace("big%d" % replicas)
        label = "big-ours-%d" % replicas
        run, took, peak_kb = self._play_measuring_rss(
            label, ours_tasks("big", ns, replicas, wait=True, policy="Parallel", service=False))
        result = run.results[0]
        out = {"replicas": replicas, "requests_total": self.proxy.count(label),
               "requests_while_waiting": waiting_requests(self.proxy.paths(label)),
               "watch_requests": self.proxy.count(label, lambda r: r["watch"]),
               "wait_seconds": result["wait_seconds"], "task_seconds": round(took, 1),
               "peak_rss_mb": round(peak_kb / 1024.0, 1), "paths": self.proxy.paths(label)}
        self.direct.delete("v1", "Namespace", ns)
        return out

    def big_wait_core(self, replicas):
        ns = self.namespace("bigcore%d" % replicas)
        label = "big-core-%d" % replicas
        run, took, peak_kb = self._play_measuring_rss(
            label, core_tasks("big", ns, replicas, wait=True, policy="Parallel", service=False))
        out = {"replicas": replicas, "requests_total": self.proxy.count(label), "task_seconds": round(took, 1),
               "peak_rss_mb": round(peak_kb / 1024.0, 1)}
        self.direct.delete("v1", "Namespace", ns)
        return out

    def _rss_wrapper(self):
        """An interpreter wrapper that records the module process's peak RSS (ru_maxrss of the child)."""
        path = os.path.join(self.tmp, "rss-python")
        with open(path, "w") as f:
            f.write("#!%s\nimport resource, subprocess, sys\n"
                    "rc = subprocess.call([%r] + sys.argv[1:])\n"
                    "with open(%r, 'a') as out:\n"
                    "    out.write('%%d\\n' %% resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
                    "sys.exit(rc)\n" % (sys.executable, sys.executable, path + ".rss"))
        os.chmod(path, 0o755)
        return path


def waiting_requests(paths):
    """Requests of the wait itself: lists and watches of collections (the apply touches one object by name)."""
    return len([p for p in paths if p.startswith("GET ") and p.split()[1].rsplit("/", 1)[-1] in (
        "statefulsets", "pods", "events", "persistentvolumeclaims", "storageclasses")])


def parse_iso(value):
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def ratio(a, b):
    return "%.2f×" % (a / b) if b else "n/a"


def main():
    if "--report-only" in sys.argv:  # re-render the table from the last results
        with open(RESULTS) as f:
            data = json.load(f)
        for key in ("wait_20", "wait_200"):
            data[key]["requests_while_waiting"] = waiting_requests(data[key]["paths"])
        render(data)
        return
    bench = Bench()
    data = {"date": datetime.now(timezone.utc).isoformat(), "method": "requests counted by a loopback HTTP proxy "
            "in front of the API server; times from ansible.posix.json task end stamps and a bench-side pod watch"}
    try:
        data["noop_requests"] = bench.noop_requests()
        data["return_lag"] = {tool: bench.measure_return_lag(tool) for tool in ("ours", "kubernetes.core", "kubectl")}
        data["ten_noop_tasks"] = bench.ten_noop_tasks()
        data["wait_20"] = bench.big_wait(20)
        data["wait_200"] = bench.big_wait(200)
        data["wait_200_core"] = bench.big_wait_core(200)
    finally:
        bench.cleanup()
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(data, f, indent=2)
    render(data)


def render(data):
    noop, lag, ten = data["noop_requests"], data["return_lag"], data["ten_noop_tasks"]
    w20, w200 = data["wait_20"], data["wait_200"]
    rows = [
        ("API requests, no-op apply of StatefulSet + headless Service (goal: 1 per apply)",
         "%d (sts %d, svc %d incl. 1 EndpointSlice read)" % (noop["ours"]["total"], noop["ours"]["statefulset_task"],
                                                             noop["ours"]["headless_service_task"]),
         "%d" % noop["kubernetes.core"]["total"], "%d" % noop["kubectl"]["total"],
         "%s of kubernetes.core, %s of kubectl" % (
             ratio(noop["ours"]["total"], noop["kubernetes.core"]["total"]),
             ratio(noop["ours"]["total"], noop["kubectl"]["total"]))),
        ("Last pod Ready -> task returns, median of 3, s (goal < 0.25)", "%.3f" % lag["ours"]["median_seconds"],
         "%.3f" % lag["kubernetes.core"]["median_seconds"], "%.3f" % lag["kubectl"]["median_seconds"],
         "%s of kubernetes.core, %s of kubectl" % (
             ratio(lag["ours"]["median_seconds"], lag["kubernetes.core"]["median_seconds"]),
             ratio(lag["ours"]["median_seconds"], lag["kubectl"]["median_seconds"]))),
        ("Playbook of 10 no-op StatefulSet applies, wall s, median of 3 (goal ≤ 0.7×)", "%.2f" % ten["ours_median"],
         "%.2f" % ten["core_median"], "-", ratio(ten["ours_median"], ten["core_median"])),
        ("  API requests for those 10 tasks", "%d" % ten["ours_requests"], "%d" % ten["core_requests"], "-",
         ratio(ten["ours_requests"], ten["core_requests"])),
        ("Requests while waiting, Parallel StatefulSet 20 -> 200 replicas (goal: constant)",
         "%d -> %d" % (w20["requests_while_waiting"], w200["requests_while_waiting"]), "-", "-",
         "wait %.1f s -> %.1f s" % (w20["wait_seconds"], w200["wait_seconds"])),
        ("Peak memory of the waiting module, 200 replicas, MB (goal < 150)", "%.1f" % w200["peak_rss_mb"], "-", "-",
         "20 replicas: %.1f MB" % w20["peak_rss_mb"]),
    ]
    if "wait_200_core" in data:
        core200 = data["wait_200_core"]
        rows.append(("Whole task on 200 replicas (apply + wait): requests / peak MB / s",
                     "%d / %.1f / %.1f" % (w200["requests_total"], w200["peak_rss_mb"], w200["task_seconds"]),
                     "%d / %.1f / %.1f" % (core200["requests_total"], core200["peak_rss_mb"], core200["task_seconds"]),
                     "-", "kubernetes.core polls every 5 s"))
    print("| measure | statefuldb.k8s | kubernetes.core.k8s | kubectl | ratio / note |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| %s |" % " | ".join(row))


if __name__ == "__main__":
    main()
