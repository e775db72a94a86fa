"""Benchmark of the mysql_cluster role on the local cluster's real pods, per flavor, side by side.

For each of MariaDB 10.11, MariaDB 11.8 and MySQL 9.7 (the local images), in fresh namespaces:
  deploy    playbooks/mysql_cluster.yml end to end for 3 members (Secret, ConfigMap, Services,
            StatefulSet wait, SQL wait, replication, verify), one ansible-playbook run;
  floor     the same StatefulSet (the role's own manifest, with its Secret, ConfigMap and headless
            Service already in place) applied with `kubectl apply` and waited with
            `kubectl rollout status` until every pod is Ready: what any tool must wait for, since the
            servers initialise their data directories in that time;
  overhead  deploy - floor: what the role adds (goal <= 5 s);
  re-run    the same playbook again on the healthy cluster, changed=0, median of three (goal <= 6 s).

Prints a markdown table and writes bench/results/mysql.json. Runnable alone:
  .venv/bin/python -m bench.mysql_bench        (the cluster must be up with its real nodes: make cluster)
"""
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid

from statefuldb_dev import use_checkout_collection

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV_BIN = os.path.join(REPO, ".venv", "bin")
KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
TEARDOWN = os.path.join(REPO, "playbooks", "mysql_cluster_teardown.yml")
GOALS = {"overhead": 5.0, "noop_rerun": 6.0}
FLAVORS = [
    ("MariaDB 10.11", "mariadb", "localhost/statefuldb/mariadb:10.11"),
    ("MariaDB 11.8", "mariadb", "localhost/statefuldb/mariadb:11.8"),
    ("MySQL 9.7", "mysql", "localhost/statefuldb/mysql:9.7"),
]
NAME = "mysql"


def env():
    e = dict(os.environ)
    e.update({"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"), "K8S_AUTH_KUBECONFIG": KUBECONFIG,
              "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
              "ANSIBLE_PYTHON_INTERPRETER": os.path.join(VENV_BIN, "python"),
              "PATH": VENV_BIN + os.pathsep + e.get("PATH", "")})
    return e


def kubectl():
    found = sorted(glob.glob(os.path.expanduser("~/.cache/statefuldb-localkube/*/bin/kubectl")))
    return found[-1] if found else "kubectl"


def play(playbook, extra):
    """Run ansible-playbook; return (seconds, changed count)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(extra, f)
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", playbook, "-e", "@" + f.name]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    os.unlink(f.name)
    if proc.returncode != 0:
        sys.exit("benchmark run failed: %s\n%s" % (" ".join(cmd), proc.stdout[-3000:] + proc.stderr[-2000:]))
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost") and "changed=" in line][-1]
    changed = int(recap.split("changed=")[1].split()[0])
    return took, changed


def portable(api_client, obj, namespace):
    """An object read from the API as a manifest for another namespace."""
    data = api_client.sanitize_for_serialization(obj)
    data.pop("status", None)
    meta = data["metadata"]
    data["metadata"] = {"name": meta["name"], "namespace": namespace, "labels": meta.get("labels") or {}}
    if data["kind"] == "Service":
        data["spec"].pop("clusterIPs", None)
    return data


def floor(api_client, source_ns, floor_ns):
    """kubectl apply of the role's StatefulSet (its Secret, ConfigMap, Service in place) -> all Ready."""
    from kubernetes import client

    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    setup = [portable(api_client, core.read_namespaced_secret(NAME + "-credentials", source_ns), floor_ns),
             portable(api_client, core.read_namespaced_config_map(NAME + "-config", source_ns), floor_ns),
             portable(api_client, core.read_namespaced_service(NAME, source_ns), floor_ns)]
    sts = portable(api_client, apps.read_namespaced_stateful_set(NAME, source_ns), floor_ns)
    sts["kind"], sts["apiVersion"] = "StatefulSet", "apps/v1"
    base = [kubectl(), "--kubeconfig", KUBECONFIG, "-n", floor_ns]
    with tempfile.TemporaryDirectory() as tmp:
        for index, (kind, obj) in enumerate([("setup", {"apiVersion": "v1", "kind": "List", "items": setup}),
                                             ("sts", sts)]):
            with open(os.path.join(tmp, "%s.json" % kind), "w") as f:
                json.dump(obj, f)
        subprocess.run(base + ["apply", "-f", os.path.join(tmp, "setup.json")], check=True, capture_output=True)
        start = time.monotonic()
        subprocess.run(base + ["apply", "-f", os.path.join(tmp, "sts.json")], check=True, capture_output=True)
        subprocess.run(base + ["rollout", "status", "statefulset/" + NAME, "--watch", "--timeout=600s"],
                       check=True, capture_output=True)
        took = time.monotonic() - start
    return took


def main():
    use_checkout_collection()
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=KUBECONFIG)
    core = client.CoreV1Api(api_client)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "flavors": {}}
    for label, flavor, image in FLAVORS:
        suffix = uuid.uuid4().hex[:6]
        ns_role, ns_floor = "bench-mysql-" + suffix, "bench-floor-" + suffix
        for ns in (ns_role, ns_floor):
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        try:
            extra = {"mysql_cluster_namespace": ns_role, "mysql_cluster_replicas": 3,
                     "mysql_cluster_flavor": flavor, "mysql_cluster_image": image}
            deploy, deploy_changed = play(DEPLOY, extra)
            reruns = [play(DEPLOY, extra) for unused in range(3)]
            floor_s = floor(api_client, ns_role, ns_floor)
            play(TEARDOWN, dict(extra, delete_data=True))
        finally:
            for ns in (ns_role, ns_floor):
                core.delete_namespace(ns)
        results["flavors"][label] = {
            "image": image, "floor_kubectl_apply_ready_s": round(floor_s, 2),
            "deploy_3_members_s": round(deploy, 2), "deploy_changed": deploy_changed,
            "role_overhead_s": round(deploy - floor_s, 2),
            "noop_rerun_s": round(sorted(t for t, unused in reruns)[1], 2),
            "noop_rerun_all_s": [round(t, 2) for t, unused in reruns],
            "noop_rerun_changed": max(c for unused, c in reruns),
        }
    results["machine"]["load_avg_1m"] = os.getloadavg()[0]
    results["goals_s"] = GOALS
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "mysql.json"), "w") as f:
        json.dump(results, f, indent=1)
    labels = [label for label, unused, unused in FLAVORS]
    rows = [("floor: kubectl apply of the role's StatefulSet -> 3 pods Ready", "floor_kubectl_apply_ready_s", None),
            ("playbooks/mysql_cluster.yml, 3 members, end to end", "deploy_3_members_s", None),
            ("role overhead = deploy - floor", "role_overhead_s", GOALS["overhead"]),
            ("no-op re-run, median of 3", "noop_rerun_s", GOALS["noop_rerun"])]
    print("| step | %s | goal |" % " | ".join(labels))
    print("|---|%s---|" % ("---:|" * len(labels)))
    for text, key, goal in rows:
        values = [results["flavors"][label][key] for label in labels]
        verdict = "" if goal is None else "<= %d s: %s" % (goal, "met" if all(v <= goal for v in values) else "NOT met")
        print("| %s | %s | %s |" % (text, " | ".join("%.1f" % v for v in values), verdict))
    changed = [results["flavors"][label]["noop_rerun_changed"] for label in labels]
    print("\n(no-op re-runs changed=%s; load average %.1f on %d cores; every time includes ansible-playbook start-up)"
          % ("/".join(str(c) for c in changed), results["machine"]["load_avg_1m"], results["machine"]["cpus"]))
    return 0 if not any(changed) else 1


if __name__ == "__main__":
    sys.exit(main())
