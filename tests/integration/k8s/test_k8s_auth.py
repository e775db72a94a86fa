"""Authentication the way AWX's Kubernetes credential sets it: K8S_AUTH_* environment variables only."""
import json
import os

from k8s_helpers import only_result

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PKI = os.path.join(REPO, ".localkube", "pki")


def server(kubeconfig):
    with open(kubeconfig) as f:
        return json.load(f)["clusters"][0]["cluster"]["server"]


def configmap_task(namespace, name):
    return {"statefuldb.k8s.resource": {"namespace": namespace, "definition": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}}}


def test_host_and_client_certificate_from_env(playbook, namespace, kubeconfig, core):
    env = {"K8S_AUTH_KUBECONFIG": "", "K8S_AUTH_HOST": server(kubeconfig),
           "K8S_AUTH_SSL_CA_CERT": os.path.join(PKI, "ca.crt"), "K8S_AUTH_CERT_FILE": os.path.join(PKI, "admin.crt"),
           "K8S_AUTH_KEY_FILE": os.path.join(PKI, "admin.key")}
    run = playbook([configmap_task(namespace, "by-cert")], env=env)
    assert run.rc == 0, only_result(run).get("msg")
    assert core.read_namespaced_config_map("by-cert", namespace).data == {"k": "v"}


def test_bearer_token_from_env_and_tls_verification(playbook, namespace, kubeconfig, core, k8s_client):
    from kubernetes import client

    core.create_namespaced_service_account(namespace, {"metadata": {"name": "deployer"}})
    client.RbacAuthorizationV1Api(k8s_client).create_namespaced_role_binding(namespace, {
        "metadata": {"name": "deployer-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": namespace}]})
    token = core.create_namespaced_service_account_token(
        "deployer", namespace, {"spec": {"expirationSeconds": 3600}}).status.token
    base = {"K8S_AUTH_KUBECONFIG": "", "K8S_AUTH_HOST": server(kubeconfig), "K8S_AUTH_API_KEY": token}

    run = playbook([configmap_task(namespace, "by-token")], env=dict(base, K8S_AUTH_SSL_CA_CERT=os.path.join(PKI, "ca.crt")))
    assert run.rc == 0, only_result(run).get("msg")
    assert core.read_namespaced_config_map("by-token", namespace).data == {"k": "v"}
    assert token not in run.stdout

    run = playbook([configmap_task(namespace, "no-verify")], env=dict(base, K8S_AUTH_VERIFY_SSL="false"))
    assert run.rc == 0, only_result(run).get("msg")

    run = playbook([configmap_task(namespace, "untrusted")], env=base)  # system CAs do not know localkube's CA
    result = only_result(run)
    assert run.rc != 0 and "TLS verification of the API server" in result["msg"] and "ca_cert" in result["msg"]

    forbidden = playbook([{"statefuldb.k8s.resource_info": {"kind": "Secret", "namespace": "kube-system"}}],
                         env=dict(base, K8S_AUTH_SSL_CA_CERT=os.path.join(PKI, "ca.crt")))
    assert forbidden.rc != 0 and "forbidden (403)" in only_result(forbidden)["msg"]


def test_wrong_context_from_env(playbook, namespace):
    run = playbook([configmap_task(namespace, "never")], env={"K8S_AUTH_CONTEXT": "staging"})
    result = only_result(run)
    assert run.rc != 0
    assert "context: 'staging' is not in kubeconfig" in result["msg"] and "localkube" in result["msg"]
    assert "Traceback" not in run.stdout
