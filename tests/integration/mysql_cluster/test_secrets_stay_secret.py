"""The deploy playbook at -vvv with --diff never shows a generated password: not in its output, not in
the Kubernetes objects' diffs, not in the pods' specs, logs or events (real pods, MariaDB 11.8)."""
import base64
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
NAME = "vault"


def secret_values(core, namespace):
    data = core.read_namespaced_secret("%s-credentials" % NAME, namespace).data
    plain = [base64.b64decode(v).decode() for v in data.values()]
    return [v for v in plain if len(v) >= 8], list(data.values())


def leaks(text, needles):
    return [n[:3] + "…" for n in needles if n in text]


def test_deploy_and_rerun_at_vvv_with_diff_show_no_password(playbook, cluster_namespace, core):
    extra = {"mysql_cluster_namespace": cluster_namespace, "mysql_cluster_name": NAME,
             "mysql_cluster_replicas": 2, "mysql_cluster_image": "localhost/statefuldb/mariadb:11.8",
             "mysql_cluster_wait_timeout": 300}
    runs = [playbook(DEPLOY, extra_vars=extra, verbosity=3, diff=True, json_output=False) for unused in range(2)]
    for run in runs:
        assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]

    passwords, encoded = secret_values(core, cluster_namespace)
    assert len(passwords) >= 2, "the role should have generated the root and replication passwords"
    needles = passwords + encoded
    for number, run in enumerate(runs, 1):
        assert not leaks(run.stdout + run.stderr, needles), "run %d printed a password" % number
    # The first run really created the Secret and showed a diff, so the check above saw that path.
    assert "%s-credentials" % NAME in runs[0].stdout

    checked = []
    for pod in core.list_namespaced_pod(cluster_namespace).items:
        spec = json.dumps(core.api_client.sanitize_for_serialization(pod))
        assert not leaks(spec, needles), "pod %s's spec or status holds a password" % pod.metadata.name
        for container in ("init-datadir", "mysql"):
            log = core.read_namespaced_pod_log(pod.metadata.name, cluster_namespace, container=container)
            assert not leaks(log, needles), "%s/%s logged a password" % (pod.metadata.name, container)
            checked.append(log)
    assert len(checked) == 4 and any("root password set from the Secret" in log for log in checked)
    events = " ".join(e.message or "" for e in core.list_namespaced_event(cluster_namespace).items)
    assert not leaks(events, needles)
