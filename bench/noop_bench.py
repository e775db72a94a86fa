"""The mysql_cluster role's no-op re-run, this checkout against a baseline revision, side by side.

Issue 19 asks that recording the primary (topology ConfigMap, role labels, writer and reader Services)
and seeding do not make the healthy re-run slower. One run: the baseline's collection (``git archive``
of BASELINE, default e1d1a88, the last commit before the primary became a role) and this checkout
each deploy a 3-member MariaDB 11.8 cluster in a namespace of its own on the real pods; then the two
re-run alternately (so load drifts hit both alike), five times each, every run changed=0.
Prints a markdown table with the medians and the ratio; writes bench/results/noop.json.

  .venv/bin/python -m bench.noop_bench [--baseline REV] [--runs N]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from bench.mysql_bench import KUBECONFIG, REPO, VENV_BIN, env

DEPLOY = os.path.join("playbooks", "mysql_cluster.yml")
TEARDOWN = os.path.join("playbooks", "mysql_cluster_teardown.yml")
IMAGE = "localhost/statefuldb/mariadb:11.8"


def collection_copy(rev, into):
    """A tree of the collection at ``rev`` laid out for ANSIBLE_COLLECTIONS_PATH; returns (root, collections path)."""
    root = os.path.join(into, "baseline")
    os.makedirs(root)
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", root], input=archive, check=True)
    link = os.path.join(into, "collections", "ansible_collections", "statefuldb")
    os.makedirs(link)
    os.symlink(root, os.path.join(link, "k8s"))
    return root, os.path.join(into, "collections")


def play(root, collections, playbook, extra):
    """ansible-playbook of ``root``'s playbook with ``collections``; (seconds, changed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(extra, f)
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
           os.path.join(root, playbook), "-e", "@" + f.name]
    run_env = dict(env(), ANSIBLE_COLLECTIONS_PATH=collections)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, env=run_env, capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    os.unlink(f.name)
    if proc.returncode != 0:
        sys.exit("benchmark run failed: %s\n%s" % (" ".join(cmd), proc.stdout[-3000:] + proc.stderr[-2000:]))
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost") and "changed=" in line][-1]
    return took, int(recap.split("changed=")[1].split()[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="e1d1a88")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=KUBECONFIG))
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="statefuldb-noop-") as tmp:
        base_root, base_collections = collection_copy(args.baseline, tmp)
        sides = {"baseline %s" % args.baseline: (base_root, base_collections),
                 "this checkout %s" % head: (REPO, os.path.join(REPO, ".collections"))}
        extras, times = {}, {label: [] for label in sides}
        suffix = uuid.uuid4().hex[:6]
        try:
            for index, label in enumerate(sides):
                namespace = "bench-noop-%d-%s" % (index, suffix)
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
                extras[label] = {"mysql_cluster_namespace": namespace, "mysql_cluster_replicas": 3,
                                 "mysql_cluster_flavor": "mariadb", "mysql_cluster_image": IMAGE}
                play(*sides[label], DEPLOY, extras[label])
            for unused in range(args.runs):
                for label in sides:
                    took, changed = play(*sides[label], DEPLOY, extras[label])
                    if changed:
                        sys.exit("%s: a re-run of a healthy cluster changed %d tasks" % (label, changed))
                    times[label].append(round(took, 2))
        finally:
            for label, extra in extras.items():
                play(*sides[label], TEARDOWN, dict(extra, delete_data=True))
                core.delete_namespace(extra["mysql_cluster_namespace"])
    medians = {label: statistics.median(values) for label, values in times.items()}
    before, after = medians.values()
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_avg_1m": os.getloadavg()[0]},
               "flavor": "MariaDB 11.8, 3 members", "runs": times, "medians_s": medians,
               "ratio_after_over_before": round(after / before, 3)}
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "noop.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("| no-op re-run of playbooks/mysql_cluster.yml (MariaDB 11.8, 3 members, changed=0) | median of %d |"
          % args.runs)
    print("|---|---:|")
    for label, value in medians.items():
        print("| %s | %.2f s |" % (label, value))
    print("| ratio this / baseline | %.2f |" % results["ratio_after_over_before"])
    print("\n(runs alternate between the two; load average %.1f on %d cores; each time includes ansible-playbook"
          " start-up)" % (results["machine"]["load_avg_1m"], results["machine"]["cpus"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
