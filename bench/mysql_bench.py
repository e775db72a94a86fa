"""Benchmark of the mysql_cluster role on the local control plane (with the sandbox DB runner).

  floor     a 3-replica StatefulSet of the same shape (OrderedReady, one PVC each) applied with
            statefuldb.k8s.statefulset and waited Ready, in its own ansible-playbook run;
  deploy    playbooks/mysql_cluster.yml end to end (Secret, ConfigMap, Services, StatefulSet,
            SQL wait, replication, verify) for 3 members;
  overhead  deploy - floor: what the role adds on top of the StatefulSet becoming Ready
            (goal < 10 s). In the sandbox it includes initialising three MariaDB data directories;
  re-run    the same playbook again on the healthy cluster, changed=0, median of three runs
            (goal < 15 s).

Prints a markdown table and writes bench/results/mysql.json. Runnable alone:
  .venv/bin/python bench/mysql_bench.py        (the control plane must be up: make cluster)
"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV_BIN = os.path.join(REPO, ".venv", "bin")
KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
TEARDOWN = os.path.join(REPO, "playbooks", "mysql_cluster_teardown.yml")
GOALS = {"overhead": 10.0, "noop_rerun": 15.0}


def env():
    e = dict(os.environ)
    e.update({"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".collections"), "K8S_AUTH_KUBECONFIG": KUBECONFIG,
              "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
              "ANSIBLE_PYTHON_INTERPRETER": os.path.join(VENV_BIN, "python"),
              "PATH": VENV_BIN + os.pathsep + e.get("PATH", "")})
    return e


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


def floor_playbook(path, namespace):
    manifest = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "floor", "namespace": namespace},
        "spec": {
            "serviceName": "floor", "replicas": 3, "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app": "floor"}},
            "template": {"metadata": {"labels": {"app": "floor"}},
                         "spec": {"containers": [{"name": "mysql", "image": "mariadb:10.11",
                                                  "ports": [{"name": "mysql", "containerPort": 3306}],
                                                  "volumeMounts": [{"name": "data", "mountPath": "/var/lib/mysql"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }
    import yaml

    with open(path, "w") as f:
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "StatefulSet alone, waited Ready", "statefuldb.k8s.statefulset": {
                "definition": manifest, "wait": True, "wait_timeout": 300}},
            {"name": "Remove it with its claims", "statefuldb.k8s.statefulset": {
                "name": "floor", "namespace": namespace, "state": "absent", "delete_pvcs": True, "wait": True},
             "tags": ["cleanup"]},
        ]}], f)


def main():
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from kubernetes import client, config

    subprocess.run([sys.executable, os.path.join(REPO, "tools", "localkube", "dbrunner.py"), "start"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    core = client.CoreV1Api(config.new_client_from_config(config_file=KUBECONFIG))
    suffix = uuid.uuid4().hex[:6]
    ns_floor, ns_role = "bench-floor-" + suffix, "bench-mysql-" + suffix
    sys.path.insert(0, os.path.join(REPO, "tools", "localkube"))
    from localkube import KWOK_NAMESPACE_ANNOTATIONS  # pylint: disable=import-outside-toplevel
    for ns in (ns_floor, ns_role):  # KWOK nodes: the stand-in runner plays the database container
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=ns, annotations=dict(KWOK_NAMESPACE_ANNOTATIONS))))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            floor_pb = os.path.join(tmp, "floor.yml")
            floor_playbook(floor_pb, ns_floor)
            # Timed: apply + wait only (one ansible-playbook start-up, like the role's run).
            start = time.monotonic()
            subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                            floor_pb, "--skip-tags", "cleanup"], cwd=REPO, env=env(), check=True,
                           capture_output=True)
            floor = time.monotonic() - start
            subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                            floor_pb, "--tags", "cleanup"], cwd=REPO, env=env(), check=True, capture_output=True)
        extra = {"mysql_cluster_namespace": ns_role, "mysql_cluster_sandbox_db": True, "mysql_cluster_replicas": 3}
        deploy, deploy_changed = play(DEPLOY, extra)
        reruns = [play(DEPLOY, extra) for unused in range(3)]
        rerun = sorted(t for t, unused in reruns)[1]  # median of three
        rerun_changed = max(c for unused, c in reruns)
        play(TEARDOWN, dict(extra, delete_data=True))
    finally:
        for ns in (ns_floor, ns_role):
            core.delete_namespace(ns)
    overhead = deploy - floor
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": os.getloadavg()[0]},
        "floor_statefulset_ready_s": round(floor, 2),
        "deploy_3_members_s": round(deploy, 2), "deploy_changed": deploy_changed,
        "role_overhead_s": round(overhead, 2), "overhead_goal_s": GOALS["overhead"],
        "noop_rerun_s": round(rerun, 2), "noop_rerun_all_s": [round(t, 2) for t, unused in reruns],
        "noop_rerun_changed": rerun_changed, "noop_goal_s": GOALS["noop_rerun"],
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "mysql.json"), "w") as f:
        json.dump(results, f, indent=1)
    rows = [
        ("StatefulSet alone Ready (floor, statefuldb.k8s.statefulset wait)", floor, None),
        ("playbooks/mysql_cluster.yml, 3 members, end to end", deploy, None),
        ("role overhead = deploy - floor", overhead, GOALS["overhead"]),
        ("no-op re-run, median of 3 (changed=%d)" % rerun_changed, rerun, GOALS["noop_rerun"]),
    ]
    print("| step | seconds | goal |")
    print("|---|---:|---|")
    for label, secs, goal in rows:
        verdict = "" if goal is None else ("< %d s: %s" % (goal, "met" if secs < goal else "NOT met"))
        print("| %s | %.1f | %s |" % (label, secs, verdict))
    print("\n(load average %.1f on %d cores while measuring; every time includes ansible-playbook start-up)"
          % (results["machine"]["load_avg_1m"], results["machine"]["cpus"]))
    return 0 if rerun_changed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
