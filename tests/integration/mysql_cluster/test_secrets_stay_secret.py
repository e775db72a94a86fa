"""The deploy playbook at -vvv with --diff never shows a generated password: not in its output,
not in the Kubernetes objects' diffs, not in the sandbox runner's or the servers' logs."""
import base64
import glob
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEPLOY = os.path.join(REPO, "playbooks", "mysql_cluster.yml")
NAME = "vault"


def secret_values(k8s_client, namespace):
    from kubernetes import client

    data = client.CoreV1Api(k8s_client).read_namespaced_secret("%s-credentials" % NAME, namespace).data
    plain = [base64.b64decode(v).decode() for v in data.values()]
    return [v for v in plain if len(v) >= 8], list(data.values())


def leaks(text, needles):
    return [n[:3] + "…" for n in needles if n in text]


def test_deploy_and_rerun_at_vvv_with_diff_show_no_password(playbook, cluster_namespace, k8s_client):
    extra = {"mysql_cluster_namespace": cluster_namespace, "mysql_cluster_name": NAME,
             "mysql_cluster_replicas": 2, "mysql_cluster_sandbox_db": True,
             "mysql_cluster_wait_timeout": 180}
    runs = [playbook(DEPLOY, extra_vars=extra, verbosity=3, diff=True, json_output=False) for unused in range(2)]
    for run in runs:
        assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]

    passwords, encoded = secret_values(k8s_client, cluster_namespace)
    assert len(passwords) >= 2, "the role should have generated the root and replication passwords"
    needles = passwords + encoded
    for number, run in enumerate(runs, 1):
        assert not leaks(run.stdout + run.stderr, needles), "run %d printed a password" % number
    # The first run really created the Secret and showed a diff, so the check above saw that path.
    assert "%s-credentials" % NAME in runs[0].stdout

    logs = [os.path.join(REPO, ".localkube", "dbrunner.log")]
    logs += glob.glob(os.path.join(REPO, ".localkube", "dbrunner", "pods", "*", "**", "*.log"), recursive=True)
    logs += glob.glob(os.path.join(REPO, ".localkube", "dbrunner", "pods", "*", "**", "*.err"), recursive=True)
    checked = 0
    for path in logs:
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                assert not leaks(f.read(), needles), "%s contains a password" % path
            checked += 1
    assert checked >= 1
