"""Fixtures and helpers for the Kubernetes module tests (need the local control plane, tools/localkube)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def discovery_api(k8s_client):
    from kubernetes import client

    return client.DiscoveryV1Api(k8s_client)
