"""Progress overhead: the same playbooks with and without the statefuldb.k8s.progress callback.

1. No-op: 10 no-op StatefulSet tasks (KWOK pods, already Ready), median of 3 playbook runs.
2. A real wait: a 3-replica OrderedReady StatefulSet on the real nodes (readiness probe after 2 s),
   created from nothing, median of 3; playbook wall time and the module's wait_seconds.

Runs on the running local control plane in its own namespaces; prints a markdown table and writes
bench/results/progress.json.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV_BIN = os.path.dirname(sys.executable)
KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")
TOOLS = "localhost/statefuldb/tools:1"
KWOK_TOLERATION = {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}


def sts(namespace, name, real):
    pod_spec = {"terminationGracePeriodSeconds": 0, "containers": [{"name": "c", "image": TOOLS,
                                                                   "imagePullPolicy": "Never", "command": ["sleep", "600"]}]}
    if real:
        pod_spec["containers"][0]["readinessProbe"] = {"exec": {"command": ["true"]}, "initialDelaySeconds": 2,
                                                       "periodSeconds": 1}
    else:
        pod_spec["tolerations"] = [KWOK_TOLERATION]
        pod_spec["nodeSelector"] = {"type": "kwok"}
    return {"statefuldb.k8s.statefulset": {
        "name": name, "namespace": namespace, "replicas": 3, "wait_timeout": 240,
        "definition": {"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"template": {"spec": pod_spec}}}}}


def playbook(tasks, callback, state=None):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "play.yml")
        with open(path, "w") as f:
            yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], f)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
                   K8S_AUTH_KUBECONFIG=KUBECONFIG, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0",
                   PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        if callback:
            env["ANSIBLE_CALLBACKS_ENABLED"] = "statefuldb.k8s.progress"
        start = time.monotonic()
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", path],
                              cwd=REPO, env=env, capture_output=True, text=True, check=False)
        took = time.monotonic() - start
    # The progress lines go to stdout ahead of the JSON document of the json callback.
    out = proc.stdout[proc.stdout.index("{"):] if "{" in proc.stdout else "{}"
    if proc.returncode != 0:
        raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    data = json.loads(out)
    waits = [h.get("wait_seconds", 0) for p in data["plays"] for t in p["tasks"] for h in t["hosts"].values()]
    return took, sum(waits)


def kubectl(*args):
    kubectl_bin = [p for p in (os.path.join(d, "kubectl") for d in os.environ.get("PATH", "").split(os.pathsep))
                   if os.path.exists(p)]
    cache = os.path.expanduser("~/.cache/statefuldb-localkube")
    for entry in sorted(os.listdir(cache)) if os.path.isdir(cache) else []:
        candidate = os.path.join(cache, entry, "bin", "kubectl")
        if os.path.exists(candidate):
            kubectl_bin.insert(0, candidate)
    subprocess.run([kubectl_bin[0], "--kubeconfig", KUBECONFIG] + list(args), check=True, capture_output=True)


def main():
    ns = "bench-progress-%s" % uuid.uuid4().hex[:6]
    kubectl("create", "namespace", ns)
    results = {}
    try:
        noop = [sts(ns, "noop", real=False)] * 10
        playbook(noop[:1], callback=False)  # create it once
        # Interleaved, so a change in the machine's load hits both columns alike.
        noop_runs, wait_runs = {False: [], True: []}, {False: [], True: []}
        for i in range(3):
            for callback in (False, True):
                noop_runs[callback].append(playbook(noop, callback)[0])
        for i in range(3):
            for callback in (False, True):
                name = "wait-%s-%d" % ("on" if callback else "off", i)
                wait_runs[callback].append(playbook([sts(ns, name, real=True)], callback))
                kubectl("-n", ns, "delete", "statefulset", name, "--wait=false")
        for callback in (False, True):
            results["noop_%s" % callback] = statistics.median(noop_runs[callback])
            results["wait_%s" % callback] = statistics.median(r[0] for r in wait_runs[callback])
            results["wait_seconds_%s" % callback] = statistics.median(r[1] for r in wait_runs[callback])
    finally:
        kubectl("delete", "namespace", ns, "--wait=false")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "progress.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| measure | without the callback | with statefuldb.k8s.progress |")
    print("|---|---|---|")
    print("| playbook of 10 no-op StatefulSet tasks (median of 3) | %.1f s | %.1f s |" % (
        results["noop_False"], results["noop_True"]))
    print("| 3 ordinals on real nodes, create → Ready: playbook (median of 3) | %.1f s | %.1f s |" % (
        results["wait_False"], results["wait_True"]))
    print("| the same, the module's wait_seconds | %.1f s | %.1f s |" % (
        results["wait_seconds_False"], results["wait_seconds_True"]))


if __name__ == "__main__":
    main()
