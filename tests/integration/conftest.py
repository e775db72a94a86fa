"""Shared fixtures for integration tests: the local control plane and a real ansible-playbook.

Integration tests need the services CI starts: the local Kubernetes control plane
(tools/localkube, started here if it is not running) and, for database tests, Debian's MariaDB.
"""
import os
import subprocess
import sys
import uuid

import pytest

from statefuldb_dev import KUBECONFIG, REPO
from statefuldb_dev.playbook import run_playbook
from statefuldb_dev.scripts import LOCALKUBE as _LOCALKUBE_DIR, localkube

LOCALKUBE = os.path.join(_LOCALKUBE_DIR, "localkube.py")
KWOK_NAMESPACE_ANNOTATIONS = localkube().KWOK_NAMESPACE_ANNOTATIONS


def pytest_configure(config):
    config.addinivalue_line("markers", "runs_last: run after every other test of the session (the test resets "
                                       "the shared cluster and brings it back up)")
    config.addinivalue_line("markers", "cluster_reset: wipes the local cluster and everything on it; only "
                                       "`make test-reset` runs it (`make test` deselects it: -m 'not cluster_reset')")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)  # stable: order kept otherwise


@pytest.fixture(scope="session")
def kubeconfig():
    """Path of the admin kubeconfig of a running local control plane (started if needed)."""
    subprocess.run([sys.executable, LOCALKUBE, "up"], cwd=REPO, check=True)
    return KUBECONFIG


@pytest.fixture(scope="session")
def k8s_client(kubeconfig):
    """A kubernetes.client.ApiClient for the local control plane."""
    from kubernetes import client, config

    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def core(k8s_client):
    """CoreV1Api of the local control plane."""
    from kubernetes import client

    return client.CoreV1Api(k8s_client)


@pytest.fixture
def apps(k8s_client):
    """AppsV1Api of the local control plane."""
    from kubernetes import client

    return client.AppsV1Api(k8s_client)


def _fresh_namespace(k8s_client, request, annotations):
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    name = "t-%s-%s" % (request.node.name[:30].lower().replace("_", "-").strip("-"), uuid.uuid4().hex[:6])
    name = "".join(c for c in name if c.isalnum() or c == "-")[:63].strip("-")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, annotations=annotations)))
    return name


@pytest.fixture
def namespace(k8s_client, request):
    """A fresh namespace for one test whose pods all land on the KWOK (fake) nodes, deleted
    afterwards.

    Why KWOK: these tests prove the orchestration (API objects, the real controllers and
    scheduler, our waits) with made-up images that no node could run, some with hundreds of pods.
    Tests of real containers use ``real_namespace``."""
    from kubernetes import client

    name = _fresh_namespace(k8s_client, request, dict(KWOK_NAMESPACE_ANNOTATIONS))
    yield name
    client.CoreV1Api(k8s_client).delete_namespace(name)


@pytest.fixture
def real_namespace(k8s_client, request):
    """A fresh namespace whose pods run on the real kubelet nodes, deleted afterwards."""
    from kubernetes import client

    name = _fresh_namespace(k8s_client, request, None)
    yield name
    client.CoreV1Api(k8s_client).delete_namespace(name)


@pytest.fixture
def playbook(kubeconfig):
    """run_playbook with the local control plane's kubeconfig in K8S_AUTH_KUBECONFIG."""

    def _run(tasks, **kwargs):
        kwargs.setdefault("kubeconfig", kubeconfig)
        return run_playbook(tasks, **kwargs)

    return _run


@pytest.fixture
def offline_playbook():
    """run_playbook for plays that never reach a cluster (template rendering): no cluster is started."""
    return run_playbook
