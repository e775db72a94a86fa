"""Fixtures of the mysql_cluster end-to-end tests: the sandbox database runner and SQL access.

Needs the local control plane (tests/integration/conftest.py starts it) and Debian's
mariadb-server: in the sandbox the harness (tools/localkube/dbrunner.py), not a container, runs a
real mariadbd behind each Ready pod labelled statefuldb.io/sandbox-db=mariadb.
"""
import os
import subprocess
import sys
import uuid

import pytest
from localkube import KWOK_NAMESPACE_ANNOTATIONS  # tools/localkube, on sys.path via ../conftest.py

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DBRUNNER = os.path.join(REPO, "tools", "localkube", "dbrunner.py")


@pytest.fixture(scope="session")
def dbrunner(kubeconfig):
    """The sandbox database runner, started for the session unless it already runs."""
    running = subprocess.run([sys.executable, DBRUNNER, "status"], cwd=REPO, capture_output=True,
                             check=False).returncode == 0
    if not running:
        subprocess.run([sys.executable, DBRUNNER, "start"], cwd=REPO, check=True)
    yield DBRUNNER
    if not running:
        subprocess.run([sys.executable, DBRUNNER, "stop"], cwd=REPO, check=True)


@pytest.fixture(scope="module")
def cluster_namespace(k8s_client, dbrunner):
    """One namespace for a module's scenario (the steps build on each other), deleted afterwards."""
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    name = "t-mysql-e2e-%s" % uuid.uuid4().hex[:6]
    # KWOK nodes: the stand-in runner plays the container until the role runs on real nodes.
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=name, annotations=dict(KWOK_NAMESPACE_ANNOTATIONS))))
    yield name
    core.delete_namespace(name)
