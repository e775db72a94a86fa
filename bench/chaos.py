"""`make chaos`: run the statefulset module's apply + wait through the fault proxy, N times per fault.

Each run applies a fresh 3-replica OrderedReady StatefulSet with ``wait: true`` through
tools/faultproxy.py (one fault rule per scenario, seeded by the run number), then checks it through
a direct client:

* success criterion, per scenario: transient faults -> the task succeeds; permanent faults -> the
  task fails with the expected message within a bound (never hangs, never a traceback);
* half-applied: after a success the StatefulSet must match the definition, be Ready 3/3 and a direct
  re-apply must report changed=false; after a failure it must be absent or match the definition;
* the fault must actually have fired (a scenario whose fault never fired proves nothing).

Where the pods run is chosen per scenario. Faults on requests (statuses, resets, stalls) land on
the KWOK nodes (node selector + toleration): the faults are in the API traffic between the module
and the API server, which KWOK pods cause just as real ones do, and a run takes about a second.
Watch faults need a wait that really waits: on KWOK the pods are often Ready by the first list and
the watch never matters, so those scenarios run real containers (the preloaded tools image running
``sleep``) on the kubelet nodes, about 5 s a run, and must show that the wait resumed its watch.

The module is run directly (python -m ...statefulset '<args json>'), as Ansible runs it on the
target, without the playbook start-up cost; ``--ansible`` runs the same task through ansible-playbook.

Usage: .venv/bin/python -m bench.chaos [--runs N] [--quick] [--only SCENARIO ...]
       CHAOS_RUNS=3 make chaos       (exit 1 if any scenario misses its success criterion)
Component restarts (--restarts) stop and start control-plane processes: see bench/chaos_restarts.py
(--only takes their titles too, --restart-runs N). The fan-out run is bench/chaos_fanout.py.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# tests/unit loads this file too (ansible-test's copy has no statefuldb_dev): the collection and
# tools/faultproxy.py are put on sys.path here, not through the harness.
sys.path.insert(0, os.path.join(REPO, ".collections"))
sys.path.insert(0, os.path.join(REPO, "tools"))

import faultproxy  # noqa: E402
from bench import results_io  # noqa: E402
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sClient, K8sError  # noqa: E402

KUBECONFIG = os.environ.get("CHAOS_KUBECONFIG") or os.path.join(REPO, ".localkube", "kubeconfig")
RESULTS = os.path.join(HERE, "results", "chaos.json")
IMAGES = {"kwok": "registry.example/chaos:1",  # KWOK never pulls it
          "real": "localhost/statefuldb/tools:1"}  # preloaded on the kubelet nodes by localkube
WAIT_TIMEOUT = 60


class Scenario:
    def __init__(self, name, rules, expect="success", message=None, bound=None, wait_timeout=WAIT_TIMEOUT,
                 quick=True, why="", sweep=5, resumes=False, nodes="kwok", wait_per_fault=0):
        self.name, self.rules, self.expect, self.sweep, self.resumes = name, rules, expect, sweep, resumes
        self.nodes, self.wait_per_fault = nodes, wait_per_fault
        self.message, self.bound, self.wait_timeout, self.quick, self.why = message, bound, wait_timeout, quick, why

    def criterion(self):
        if self.expect == "success":
            return "task succeeds" + (", the wait resumed its watch" if self.resumes else "") + (
                ", waits %gs per 429 as told" % self.wait_per_fault if self.wait_per_fault else "")
        return "fails in <= %ds saying %r" % (self.bound, self.message)


SCENARIOS = [
    Scenario("429 Retry-After", ["429:every=3,limit=3"], why="throttling is transient", wait_per_fault=1),
    Scenario("429 Retry-After date, server clock 1 h behind", ["429:every=3,limit=3,retry_after=date+2,skew=-3600"],
             wait_per_fault=2,
             why="an HTTP-date Retry-After is on the server's clock: wait until it relative to the Date header"),
    Scenario("500", ["500:every=3,limit=3"], why="a bare 500 is transient", quick=False),
    Scenario("503", ["503:every=3,limit=3"]),
    Scenario("504", ["504:every=3,limit=3"], quick=False),
    Scenario("reset before send", ["reset-before:every=3,limit=3"]),
    Scenario("reset after send", ["reset-after:verb=PATCH,limit=1"], sweep=1,
             why="the apply took effect but its answer was lost: re-sending a server-side apply is safe"),
    Scenario("reset after any", ["reset-after:every=2,limit=4"], quick=False,
             why="lost answers to reads, the apply and the watches alike"),
    Scenario("429 storm", ["429:every=1,limit=5"], quick=False),
    Scenario("stall 5s", ["stall:every=5,limit=1"], quick=False),
    Scenario("watch stall 5s", ["stall:watch=true,limit=1"], quick=False, nodes="real", sweep=2),
    Scenario("watch reset", ["watch-reset:limit=2"], sweep=1, resumes=True, nodes="real"),
    Scenario("watch 410 Gone", ["watch-gone:limit=2"], sweep=1, resumes=True, nodes="real"),
    Scenario("Date -1 day", ["date:every=1"]),
    Scenario("503 forever", ["503:every=1"], expect="failure", message="503", bound=8 + 10, wait_timeout=8,
             why="the task deadline (wait_timeout 8 s) bounds the retries", sweep=1),
    Scenario("watch 503 forever", ["503:watch=true,every=1"], expect="failure", message="503", bound=8 + 10,
             wait_timeout=8, sweep=1, quick=False, nodes="real",
             why="the object is applied; the wait cannot watch and must give up by its deadline"),
    Scenario("reset forever", ["reset-before:every=1"], expect="failure", message="cannot reach", bound=8 + 10,
             sweep=1,
             why="before the server ever answered, connection errors get the 8 s first-contact budget"),
]


def sts_definition(name, namespace, nodes="kwok"):
    labels = {"app.kubernetes.io/name": name}
    container = {"name": "db", "image": IMAGES[nodes]}
    pod = {"containers": [container], "terminationGracePeriodSeconds": 0}
    if nodes == "real":
        container.update(command=["sleep", "3600"], imagePullPolicy="Never")
    else:
        pod.update(nodeSelector={"type": "kwok"}, tolerations=[
            {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}])
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 3, "serviceName": name, "podManagementPolicy": "OrderedReady",
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": pod}}}


def module_command(args, module="statefulset"):
    return [sys.executable, "-m", "ansible_collections.statefuldb.k8s.plugins.modules." + module,
            json.dumps({"ANSIBLE_MODULE_ARGS": args})]


def run_module(args, timeout=180, module="statefulset"):
    """Run a module of the collection as Ansible does on the target; (result dict, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".collections"))
    started = time.monotonic()
    try:
        proc = subprocess.run(module_command(args, module), capture_output=True, text=True, env=env, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"failed": True, "msg": "HUNG: no answer in %d s" % timeout, "hung": True}, time.monotonic() - started
    elapsed = time.monotonic() - started
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"failed": True, "traceback": True,
                  "msg": "no JSON result (traceback?): %s" % (proc.stderr or proc.stdout)[-400:]}
    return result, elapsed


def run_playbook_task(args, tmp, timeout=180):
    """The same task through ansible-playbook (slower: a few seconds of start-up per run)."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "chaos", "statefuldb.k8s.statefulset": args, "register": "out", "ignore_errors": True},
        {"ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": os.path.join(tmp, "out.json")}}]}]
    path = os.path.join(tmp, "play.json")
    with open(path, "w") as f:
        json.dump(play, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"))
    started = time.monotonic()
    try:
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                        "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, path],
                       capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"failed": True, "msg": "HUNG", "hung": True}, time.monotonic() - started
    elapsed = time.monotonic() - started
    try:
        with open(os.path.join(tmp, "out.json")) as f:
            return json.load(f), elapsed
    except (OSError, ValueError):
        return {"failed": True, "msg": "ansible-playbook produced no result"}, elapsed


def matches_definition(live, definition):
    spec, want = live.get("spec") or {}, definition["spec"]
    containers = (((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}])
    wanted = want["template"]["spec"]["containers"][0]
    return (spec.get("replicas") == want["replicas"] and spec.get("selector") == want["selector"]
            and spec.get("podManagementPolicy") == want["podManagementPolicy"] and len(containers) == 1
            and all(containers[0].get(k) == v for k, v in wanted.items()))


class Chaos:
    def __init__(self, runs, seed, ansible=False, nodes=None):
        self.runs, self.seed, self.ansible, self.nodes = runs, seed, ansible, nodes
        self.collections = os.path.join(REPO, ".collections")
        self.direct = K8sClient.from_auth({"kubeconfig": KUBECONFIG}, timeout=3600)
        self.tmp = tempfile.mkdtemp(prefix="chaos-")
        self.log_path = os.path.join(self.tmp, "faults.jsonl")
        self.proxy = faultproxy.FaultProxy(KUBECONFIG, log_path=self.log_path).start()
        self.kubeconfig = self.proxy.write_kubeconfig(os.path.join(self.tmp, "kubeconfig"))
        self.namespace = "%s-%s" % (os.environ.get("CHAOS_NAMESPACE_PREFIX") or "chaos", uuid.uuid4().hex[:6])
        self.direct.create("v1", "Namespace", None, {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": self.namespace}})

    def close(self):
        try:  # a client whose retries end within a minute: the API server may be the thing that is down
            K8sClient.from_auth({"kubeconfig": KUBECONFIG}, timeout=60).delete("v1", "Namespace", self.namespace)
        except K8sError as exc:  # the cluster went away under us: nothing left to clean
            print("could not delete namespace %s: %s" % (self.namespace, exc), file=sys.stderr)
        finally:
            self.proxy.stop()

    def check_cluster(self):
        """Stop at once when the shared cluster was reset or stopped under this run (not a fault we injected)."""
        try:
            if self.direct.get("v1", "Namespace", self.namespace) is None:
                raise ClusterGone("namespace %s disappeared: the cluster was reset under this run" % self.namespace)
        except K8sError as exc:
            raise ClusterGone("the cluster stopped answering directly (not through the proxy): %s" % exc)

    def one(self, scenario, index):
        name = "c-%s-%d" % ("".join(c if c.isalnum() else "-" for c in scenario.name.lower()).strip("-")[:40], index)
        name = "-".join(filter(None, name.split("-")))
        definition = sts_definition(name, self.namespace, self.nodes or scenario.nodes)
        args = {"definition": definition, "wait": True, "wait_timeout": scenario.wait_timeout,
                "stall_timeout": 0, "kubeconfig": self.kubeconfig}
        before = len(self.proxy.faults_fired())
        first_record = len(self.proxy.records)
        rules = [faultproxy.parse_rule(r) for r in scenario.rules]
        for rule in rules:  # move the fault to a different request of the task on each run (sweep > 1)
            rule.first = 1 + index % scenario.sweep
        self.proxy.set_schedule(faultproxy.Schedule(rules, seed=self.seed + index))
        if self.ansible:
            result, elapsed = run_playbook_task(args, tempfile.mkdtemp(dir=self.tmp))
        else:
            result, elapsed = run_module(args)
        self.proxy.set_schedule(faultproxy.Schedule())
        fired = len(self.proxy.faults_fired()) - before
        outcome = {"scenario": scenario.name, "run": index, "seconds": round(elapsed, 2), "faults": fired,
                   "failed": bool(result.get("failed")), "msg": (result.get("msg") or "")[:300],
                   "watch_resumes": result.get("watch_resumes", 0)}
        live = self.direct.get("apps/v1", "StatefulSet", name, self.namespace)
        half = False
        if not outcome["failed"]:
            ready = (live or {}).get("status", {}).get("readyReplicas")
            if live is None or not matches_definition(live, definition) or ready != 3:
                half = True
                outcome["why_half"] = "live object differs from the definition or not Ready (ready=%s)" % ready
            else:
                again, dummy = run_module(dict(args, kubeconfig=KUBECONFIG, wait=False))
                if again.get("failed") or again.get("changed"):
                    half = True
                    outcome["why_half"] = "a direct re-apply reported changed=%s failed=%s" % (
                        again.get("changed"), again.get("failed"))
        elif live is not None and not matches_definition(live, definition):
            half = True
            outcome["why_half"] = "failed run left an object that differs from the definition"
        outcome["half_applied"] = half
        if scenario.expect == "success":
            ok = not outcome["failed"]
        else:
            ok = (outcome["failed"] and scenario.message.lower() in outcome["msg"].lower()
                  and elapsed <= scenario.bound and not result.get("traceback"))
        ok = ok and not half and fired > 0 and not result.get("hung")
        early = early_retries(self.proxy.records[first_record:], scenario.wait_per_fault)
        if early:
            ok = False
            outcome["note"] = "retried sooner than Retry-After said: %s" % "; ".join(early)
        if scenario.resumes and not outcome["watch_resumes"]:
            ok = False
            outcome["note"] = "the wait never resumed a watch: the fault hit after the wait was over"
        if fired == 0:
            outcome["note"] = "the fault never fired"
        outcome["ok"] = ok
        if live is not None:
            self.direct.delete("apps/v1", "StatefulSet", name, self.namespace, propagation_policy="Background")
        return outcome

    def scenario(self, scenario):
        outcomes = []
        for i in range(self.runs):
            self.check_cluster()
            outcomes.append(self.one(scenario, i))
        return outcomes


class ClusterGone(Exception):
    pass


def early_retries(records, seconds):
    """Requests re-sent sooner than ``seconds`` after a 429 for the same verb and path (from the proxy log)."""
    early = []
    if not seconds:
        return early
    for i, record in enumerate(records):
        if record["status"] != 429:
            continue
        again = next((r for r in records[i + 1:] if (r["verb"], r["path"], r["watch"]) ==
                      (record["verb"], record["path"], record["watch"])), None)
        if again is not None and again["t"] - record["t"] < 0.9 * seconds:
            early.append("%s %s after %.2fs" % (record["verb"], record["path"], again["t"] - record["t"]))
    return early


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def summarize(results):
    """The summary rows again from an earlier run's per-run details (the restarts keep their own rows)."""
    rows = []
    for row in results["summary"]:
        times = [d["seconds"] for d in results["details"] if d["scenario"] == row["scenario"]]
        rows.append(dict(row, p50=statistics.median(times), p95=percentile(times, 0.95)) if times else row)
    return rows


def markdown_table(headers, rows):
    """A Markdown table: one header line, the separator, one line per row of cells (already text)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def table(summary):
    return markdown_table(
        ["scenario", "fault rule", "pods", "criterion", "runs", "succeeded", "p50 s", "p95 s", "half-applied",
         "rows lost"],
        [[row["scenario"], "`%s`" % " ".join(row["rules"]), row["nodes"], row["criterion"], "%d" % row["runs"],
          "%d" % row["succeeded"], "%.1f" % row["p50"], "%.1f" % row["p95"], "%d" % row["half_applied"],
          "%s" % row["rows_lost"]] for row in summary])


def save(args, summary, details):
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    results_io.save(args.results, {"runs": args.runs, "seed": args.seed, "nodes": args.nodes,
                                   "via": "ansible-playbook" if args.ansible else "module",
                                   "summary": summary}, details)


def main(argv=None):
    parser = argparse.ArgumentParser(description="fault-proxy scenarios for the statefulset module")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_RUNS") or 20))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED") or 1))
    parser.add_argument("--only", action="append", help="scenario name (repeatable)")
    parser.add_argument("--ansible", action="store_true", help="run the task through ansible-playbook")
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--nodes", choices=("kwok", "real"), default=os.environ.get("CHAOS_NODES") or None,
                        help="run every scenario on these nodes (default: each scenario's own choice)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--quick", action="store_true", help="the `make test` subset (fewer scenarios)")
    parser.add_argument("--restarts", action="store_true",
                        help="also restart control-plane components (disturbs everyone on the cluster)")
    parser.add_argument("--restarts-only", action="store_true", help="only the component restarts")
    parser.add_argument("--restart-runs", type=int, default=1, help="runs per component restart (default 1)")
    parser.add_argument("--restarts-log", default=os.environ.get("CHAOS_RESTARTS_LOG"),
                        help="also append each stop/start of a component, with its time, to this file")
    parser.add_argument("--table-from", metavar="RESULTS_JSON", help="only print the table of an earlier run")
    args = parser.parse_args(argv)
    if args.table_from:
        print(table(summarize(results_io.load(args.table_from))))
        return 0
    scenarios = [s for s in SCENARIOS if (not args.only or s.name in args.only) and (s.quick or not args.quick)
                 and not args.restarts_only]
    if args.list:
        for s in scenarios:
            print("%-20s %-40s %s" % (s.name, " ".join(s.rules), s.criterion()))
        if args.restarts or args.restarts_only:
            from bench import chaos_restarts

            for title, component, dummy, dummy2, dummy3 in chaos_restarts.SCENARIOS:
                print("%-36s (restart %s)" % (title, component))
        return 0
    chaos = Chaos(args.runs, args.seed, args.ansible, args.nodes)
    summary, details = [], []
    started = time.monotonic()
    try:
        for scenario in scenarios:
            outcomes = chaos.scenario(scenario)
            details += outcomes
            times = [o["seconds"] for o in outcomes]
            row = {"scenario": scenario.name, "rules": scenario.rules, "criterion": scenario.criterion(),
                   "nodes": args.nodes or scenario.nodes,
                   "runs": len(outcomes), "succeeded": sum(o["ok"] for o in outcomes),
                   "p50": statistics.median(times), "p95": percentile(times, 0.95),
                   "half_applied": sum(o["half_applied"] for o in outcomes), "rows_lost": "n/a"}
            summary.append(row)
            print("%-20s %d/%d  p50 %.1fs  p95 %.1fs  half-applied %d" % (
                scenario.name, row["succeeded"], row["runs"], row["p50"], row["p95"], row["half_applied"]),
                flush=True)
            for o in outcomes:
                if not o["ok"]:
                    print("    run %d FAILED its criterion: %s" % (o["run"], json.dumps(o)), flush=True)
            save(args, summary, details)
        if args.restarts or args.restarts_only:
            from bench import chaos_restarts

            restarts = chaos_restarts.Restarts(chaos, KUBECONFIG, log_path=args.restarts_log)
            for title, component, trigger, kill, pause in chaos_restarts.SCENARIOS:
                if args.only and title not in args.only:
                    continue
                outcomes = []
                for index in range(args.restart_runs):
                    outcome = restarts.run(title, component, trigger, kill, pause, index)
                    outcomes.append(outcome)
                    details.append(outcome)
                    print("%-20s %s in %.1fs (outage %ss)%s" % (
                        title, "ok" if outcome["ok"] else "FAILED", outcome["seconds"], outcome.get("outage_seconds"),
                        "" if outcome["ok"] else ": " + json.dumps(outcome)), flush=True)
                    if not outcome.get("cluster_healthy_after"):
                        break  # never disturb an unhealthy cluster again
                times = [o["seconds"] for o in outcomes]
                summary.append({"scenario": title, "rules": ["(restart %s)" % component],
                                "criterion": "task succeeds; cluster healthy after", "nodes": "real",
                                "runs": len(outcomes), "succeeded": sum(o["ok"] for o in outcomes),
                                "p50": statistics.median(times), "p95": percentile(times, 0.95),
                                "half_applied": sum(o["half_applied"] for o in outcomes), "rows_lost": "n/a"})
                save(args, summary, details)
                if not outcomes[-1].get("cluster_healthy_after"):
                    print("STOPPED: the cluster is not healthy after %r: %s" % (title, outcomes[-1].get("status")))
                    break
            if restarts.events:
                print("restart events:\n  " + "\n  ".join(restarts.events), flush=True)
    except ClusterGone as exc:
        print("STOPPED: %s; the scenarios finished so far are in %s" % (exc, args.results), flush=True)
        save(args, summary, details)
        return 2
    finally:
        chaos.close()
    print()
    print(table(summary))
    print("\n%d scenarios x %d runs (%s) in %.0f s; fault log: %s" % (
        len(summary), args.runs, "ansible-playbook" if args.ansible else "module run directly",
        time.monotonic() - started, chaos.log_path))
    save(args, summary, details)
    return 0 if all(r["succeeded"] == r["runs"] for r in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
