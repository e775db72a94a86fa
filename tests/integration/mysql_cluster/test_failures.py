"""Container-level failures on real pods: each makes the role fail, within stall_timeout, naming the
stuck ordinal and the cause as a DBA would say it. Bad input is refused before anything is written.

The failure cases are independent StatefulSets in one namespace and run at the same time (each
waits for its stall_timeout); MariaDB 11.8's image stands for every flavor (the diagnostics read
pod status and events, not SQL).
"""
import concurrent.futures
import os
import time

from statefuldb_dev.mysql_cluster import failure_message

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
IMAGE = "localhost/statefuldb/mariadb:11.8"
STALL = 40

# (StatefulSet name, variables, fragments the failure message must hold)
CASES = [
    ("no-image", {"mysql_cluster_image": "localhost/statefuldb/mariadb:absent"},
     ["stuck at ordinal 0", "image localhost/statefuldb/mariadb:absent cannot be pulled"]),
    ("bad-option", {"mysql_cluster_extra_config": "no_such_option = 1"},
     ["stuck at ordinal 0", "container mysql", "unknown variable 'no_such_option=1'"]),
    ("not-ready", {"mysql_cluster_extra_config": "port = 3307"},
     ["stuck at ordinal 0", "readiness probe failing", "Can't connect to server on '127.0.0.1'"]),
    ("oom", {"mysql_cluster_resources": {"requests": {"memory": "20Mi"}, "limits": {"memory": "20Mi"}}},
     ["stuck at ordinal 0", "ran out of memory and was killed (OOMKilled", "memory limit 20Mi"]),
    ("other-flavor", {"mysql_cluster_flavor": "mysql"},
     ["stuck at ordinal 0", "container init-datadir", "the image runs mariadb",
      "set mysql_cluster_flavor=mariadb or use a mysql image in mysql_cluster_image"]),
]


def test_invalid_input_is_refused_before_anything_is_written(playbook, cluster_namespace, core):
    from kubernetes import client

    apps = client.AppsV1Api(core.api_client)
    run = playbook(DEPLOY, extra_vars={"mysql_cluster_namespace": cluster_namespace,
                                       "mysql_cluster_replicas": "three"})
    assert run.rc != 0 and "mysql_cluster_replicas" in run.stdout
    run = playbook(DEPLOY, extra_vars={"mysql_cluster_namespace": cluster_namespace,
                                       "mysql_cluster_connect": "carrier-pigeon"})
    assert run.rc != 0 and "mysql_cluster_connect" in run.stdout
    assert apps.list_namespaced_stateful_set(cluster_namespace).items == []
    assert core.list_namespaced_config_map(cluster_namespace, label_selector="app.kubernetes.io/name=mysql-cluster").items == []


def test_container_failures_name_the_ordinal_and_the_cause(playbook, cluster_namespace):
    def deploy(case):
        name, extra, unused = case
        started = time.monotonic()
        run = playbook(DEPLOY, extra_vars=dict({
            "mysql_cluster_namespace": cluster_namespace, "mysql_cluster_name": name,
            "mysql_cluster_replicas": 1, "mysql_cluster_image": IMAGE, "mysql_cluster_flavor": "mariadb",
            "mysql_cluster_stall_timeout": STALL, "mysql_cluster_wait_timeout": 600}, **extra))
        return run, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(len(CASES)) as pool:
        outcomes = list(pool.map(deploy, CASES))
    problems = []
    for (name, unused, fragments), (run, seconds) in zip(CASES, outcomes):
        if run.rc == 0:
            problems.append("%s: the deploy succeeded" % name)
            continue
        message = failure_message(run)
        print("%s (%.0f s): %s" % (name, seconds, message))
        missing = [f for f in fragments if f not in message]
        if missing:
            problems.append("%s: message lacks %s:\n  %s" % (name, missing, message))
        # Within stall_timeout of the last progress, never the whole wait_timeout.
        if seconds > STALL + 90:
            problems.append("%s: took %.0f s" % (name, seconds))
    assert not problems, "\n".join(problems)
