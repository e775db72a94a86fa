"""Fixtures of the mysql_cluster tests on real pods: the flavors, a namespace per scenario, SQL access.

Needs the local control plane with real kubelet nodes and the local images
(tools/localkube; tests/integration/conftest.py starts it). The database servers run in the
pods, from the same pod spec a real cluster gets; the tests reach them at their pod IPs (the
host has a route to the pods' bridge) and read every claim through the API.
"""
import pytest
from statefuldb_dev.mysql_cluster import delete_namespace, make_namespace


@pytest.fixture(scope="module")
def cluster_namespace(k8s_client, request):
    """One namespace for a module's scenario (the steps build on each other), deleted afterwards."""
    name = make_namespace(k8s_client, "t-%s" % request.module.__name__.split(".")[-1][5:].replace("_", "-")[:20])
    yield name
    delete_namespace(k8s_client, name)


@pytest.fixture(scope="module")
def core(k8s_client):
    from kubernetes import client

    return client.CoreV1Api(k8s_client)
