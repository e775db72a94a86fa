# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the AWX-style jobs: the Cloud SQL Admin API fake (statefuldb_dev.cloudsql_fixtures, shared with the Cloud SQL integration
tests) and a namespace with the README's RBAC (awx/rbac.yml) and a TokenRequest token for it."""

import os
import tempfile
import uuid

import pytest
import yaml

from statefuldb_dev import REPO, cloudsql_fixtures
from statefuldb_dev.cluster_answers import api_client_or_fail

# The Cloud SQL fixtures, under their own names (pytest finds a fixture by its name in conftest.py).
fake_api = cloudsql_fixtures.fake_api
service_account = cloudsql_fixtures.service_account
tls_material = cloudsql_fixtures.tls_material
KUBECONFIG = os.environ.get("STATEFULDB_AWX_KUBECONFIG") or os.path.join(REPO, ".localkube", "kubeconfig")


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch):
    """A job sees only what its credentials inject, as in an AWX execution environment."""
    for key in list(os.environ):
        if key.startswith(("K8S_AUTH_", "GCP_", "GCE_")) or key == "KUBECONFIG":
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def admin_api():
    """An admin client for setup only; a cluster that does not answer fails (never skips) the gate."""
    return api_client_or_fail(KUBECONFIG, "make cluster")


def _rbac_documents(namespace):
    with open(os.path.join(REPO, "awx", "rbac.yml")) as handle:
        documents = yaml.safe_load(handle)["items"]
    for doc in documents:
        doc["metadata"]["namespace"] = namespace
        for subject in doc.get("subjects", []):
            subject["namespace"] = namespace
    return documents


@pytest.fixture(scope="session")
def k8s_credential(admin_api):
    """Inputs of an AWX "OpenShift or Kubernetes API Bearer Token" credential for awx/rbac.yml's
    ServiceAccount in a fresh namespace (token from the TokenRequest API), and the namespace."""
    from kubernetes import client
    core = client.CoreV1Api(admin_api)
    rbac = client.RbacAuthorizationV1Api(admin_api)
    namespace = "awx-%s" % uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        create = {"ServiceAccount": core.create_namespaced_service_account,
                  "Role": rbac.create_namespaced_role, "RoleBinding": rbac.create_namespaced_role_binding}
        documents = _rbac_documents(namespace)
        for doc in documents:
            create[doc["kind"]](namespace, doc)
        account = [d for d in documents if d["kind"] == "ServiceAccount"][0]["metadata"]["name"]
        token = core.create_namespaced_service_account_token(
            account, namespace, {"spec": {"expirationSeconds": 3600}}).status.token
        conf = admin_api.configuration
        with open(conf.ssl_ca_cert) as handle:
            ca_pem = handle.read()
        yield {"namespace": namespace, "account": account,
               "inputs": {"host": conf.host, "bearer_token": token, "verify_ssl": True, "ssl_ca_cert": ca_pem}}
    finally:
        core.delete_namespace(namespace)


@pytest.fixture(scope="session")
def gce_credential(service_account):
    """Inputs of an AWX "Google Compute Engine" credential for the fake's service account."""
    info = service_account["info"]
    return {"inputs": {"username": info["client_email"], "project": info["project_id"],
                       "ssh_key_data": info["private_key"]},
            # AWX writes Google's token endpoint into the key file; Google is unreachable here, so
            # the test's key file names the fake's (the only difference from AWX's injector).
            "token_uri": info["token_uri"]}


@pytest.fixture
def private_data_dir():
    path = tempfile.mkdtemp(prefix="awx-job-")
    yield path
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "role_real: needs the mysql_cluster role on real containers (branch role-real)")
