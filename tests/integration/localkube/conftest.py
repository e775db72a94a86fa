"""Fixtures for the acceptance tests of the local control plane (tools/localkube)."""
import pytest

from localkube_helpers import PodRecorder


@pytest.fixture
def core(k8s_client):
    from kubernetes import client

    return client.CoreV1Api(k8s_client)


@pytest.fixture
def apps(k8s_client):
    from kubernetes import client

    return client.AppsV1Api(k8s_client)


@pytest.fixture
def recorder(core, namespace):
    rec = PodRecorder(core, namespace).start()
    yield rec
    rec.stop()
