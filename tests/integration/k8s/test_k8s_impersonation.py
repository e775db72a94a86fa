"""Impersonation (like kubectl --as / --as-group) against the real API server's RBAC."""
import json

from k8s_helpers import only_result


def configmap_task(namespace, name, **auth):
    return {"statefuldb.k8s.resource": dict({"namespace": namespace, "definition": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}}, **auth)}


def test_impersonated_reader_can_read_and_is_refused_writes(playbook, namespace, kubeconfig, core, k8s_client):
    from kubernetes import client

    reader = "reader-" + namespace[-6:]
    client.RbacAuthorizationV1Api(k8s_client).create_namespaced_role_binding(namespace, {
        "metadata": {"name": "reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": reader}]})

    read = playbook([{"statefuldb.k8s.resource_info": {
        "kind": "ConfigMap", "namespace": namespace, "impersonate_user": reader}}])
    assert read.rc == 0, only_result(read).get("msg")

    write = playbook([configmap_task(namespace, "refused", impersonate_user=reader)])
    result = only_result(write)
    assert write.rc != 0 and "forbidden (403)" in result["msg"] and 'User "%s"' % reader in result["msg"]
    assert "Traceback" not in write.stdout

    # A group binding reaches the user only through impersonate_groups.
    writers = "writers-" + namespace[-6:]
    client.RbacAuthorizationV1Api(k8s_client).create_namespaced_role_binding(namespace, {
        "metadata": {"name": "writers-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": writers}]})
    grouped = playbook([configmap_task(namespace, "by-group", impersonate_user=reader, impersonate_groups=[writers])])
    assert grouped.rc == 0, only_result(grouped).get("msg")
    assert core.read_namespaced_config_map("by-group", namespace).data == {"k": "v"}


def test_kubeconfig_as_field_is_honoured(playbook, namespace, kubeconfig, tmp_path):
    with open(kubeconfig) as f:
        config = json.load(f)
    for user in config["users"]:
        user["user"]["as"] = "nobody-" + namespace[-6:]
    impersonating = tmp_path / "kubeconfig"
    impersonating.write_text(json.dumps(config))
    run = playbook([configmap_task(namespace, "nobody")], env={"K8S_AUTH_KUBECONFIG": str(impersonating)})
    assert run.rc != 0 and 'User "nobody-%s"' % namespace[-6:] in only_result(run)["msg"]
