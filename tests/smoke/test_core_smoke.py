"""Integration smoke for the ansible-core matrix (tools/core-matrix.sh): one real ansible-playbook
run of headless_service + statefulset (apply, wait for ordered readiness) + statefulset_info
against a running cluster, with the ansible-core of the Python running this test.

The pods go to the local control plane's KWOK nodes (nodeSelector type=kwok and their taint
tolerated), whose pods become Ready without an image, so the smoke needs no image and costs the
shared machine almost nothing. A cluster that cannot be reached fails the test with the reason
(statefuldb_dev/cluster_answers.py). It never starts a cluster itself.

Kubeconfig: $STATEFULDB_SMOKE_KUBECONFIG, else the checkout's .localkube/kubeconfig.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml

from statefuldb_dev.cluster_answers import api_client_or_fail

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBECONFIG = os.environ.get("STATEFULDB_SMOKE_KUBECONFIG") or os.path.join(REPO, ".localkube", "kubeconfig")
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def namespace():
    from kubernetes import client

    api = api_client_or_fail(KUBECONFIG)
    core = client.CoreV1Api(api)
    name = "smoke-%s" % uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def test_statefulset_apply_wait_info(namespace, tmp_path):
    import ansible.release

    out = tmp_path / "results.json"
    sts_args = {"name": "db", "namespace": namespace, "replicas": 2, "image": "registry.example/db:1",
                "labels": {"app": "db"}, "wait": True, "wait_timeout": 120,
                "template": {"spec": {
                    "nodeSelector": {"type": "kwok"},
                    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]}}}
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/statefuldb.k8s.k8s": {"kubeconfig": KUBECONFIG}},
             "tasks": [
                 {"name": "headless service", "register": "svc", "statefuldb.k8s.headless_service": {
                     "name": "db", "namespace": namespace, "selector": {"app": "db"},
                     "ports": [{"name": "mysql", "port": 3306}]}},
                 {"name": "statefulset", "register": "sts", "statefuldb.k8s.statefulset": sts_args},
                 {"name": "statefulset again (no change)", "register": "again", "statefuldb.k8s.statefulset": sts_args},
                 {"name": "info", "register": "info", "statefuldb.k8s.statefulset_info": {
                     "name": "db", "namespace": namespace}},
                 {"name": "write results", "ansible.builtin.copy": {
                     "dest": str(out),
                     "content": "{{ {'svc': svc, 'sts': sts, 'again': again, 'info': info} | to_json }}"}},
             ]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PYTHONPATH", None)
    for key in [k for k in env if k.startswith("K8S_AUTH_")]:
        del env[key]
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # The playbook ran with this venv's ansible-core (the matrix's point), not another one on PATH.
    version = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--version"], env=env,
                             capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert "core %s]" % ansible.release.__version__ in version, version
    results = json.loads(out.read_text())
    sts, again, info = results["sts"], results["again"], results["info"]
    assert sts["changed"] is True
    assert [t["ordinal"] for t in sts["timeline"]] == [0, 1]
    assert all(t["ready"] for t in sts["timeline"])
    assert again["changed"] is False
    assert info["ready_replicas"] == 2
    assert [p["name"] for p in info["pods"]] == ["db-0", "db-1"]
    assert info["pods"][1]["dns_name"] == "db-1.db.%s.svc.cluster.local" % namespace
    assert info["primary"]["name"] == "db-0"
