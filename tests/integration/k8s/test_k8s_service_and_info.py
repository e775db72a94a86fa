"""headless_service, statefulset_info, resource and resource_info against the local control plane."""
import base64

from k8s_helpers import only_result, sts_task

STS = {"image": "registry.example/mariadb:11.4", "replicas": 2, "labels": {"app": "db"},
       "volume_claim_templates": [{"name": "data", "size": "1Gi"}]}


def svc_task(namespace, **options):
    args = {"name": "db", "namespace": namespace, "selector": {"app": "db"}, "ports": [{"name": "mysql", "port": 3306}]}
    args.update(options)
    return {"name": "headless service", "statefuldb.k8s.headless_service": args, "register": "out"}


def test_headless_service_four_times_and_dns_names(playbook, namespace, core):
    assert playbook([sts_task(namespace, **STS)]).rc == 0
    outcomes = [only_result(playbook([svc_task(namespace)], check=check)) for check in (True, False, True, False)]
    assert [o["changed"] for o in outcomes] == [True, True, False, False]
    svc = core.read_namespaced_service("db", namespace)
    assert svc.spec.cluster_ip == "None" and svc.spec.publish_not_ready_addresses is True
    # EndpointSlices may lag the Service by a moment; the idempotent run reads them
    names = outcomes[3]["dns_names"]
    assert names == ["db-0.db.%s.svc.cluster.local" % namespace, "db-1.db.%s.svc.cluster.local" % namespace]
    pod_ips = {p.metadata.name: p.status.pod_ip for p in core.list_namespaced_pod(namespace).items}
    assert {p["name"]: p["ip"] for p in outcomes[3]["pods"]} == pod_ips


def test_cluster_ip_service_to_headless_needs_recreate(playbook, namespace, core):
    core.create_namespaced_service(namespace, {"metadata": {"name": "db"}, "spec": {
        "selector": {"app": "db"}, "ports": [{"name": "mysql", "port": 3306}]}})
    cluster_ip = core.read_namespaced_service("db", namespace).spec.cluster_ip
    run = playbook([svc_task(namespace)])
    refused = only_result(run)
    assert run.rc != 0 and "spec.clusterIP" in refused["msg"] and "recreate: orphan" in refused["msg"]
    assert core.read_namespaced_service("db", namespace).spec.cluster_ip == cluster_ip
    check = only_result(playbook([svc_task(namespace, recreate="orphan")], check=True))
    assert check["changed"] is True
    assert core.read_namespaced_service("db", namespace).spec.cluster_ip == cluster_ip
    real = only_result(playbook([svc_task(namespace, recreate="orphan")]))
    assert real["changed"] is True and real["recreated"] is True
    assert core.read_namespaced_service("db", namespace).spec.cluster_ip == "None"
    again = only_result(playbook([svc_task(namespace, recreate="orphan")]))
    assert again["changed"] is False


def test_statefulset_info(playbook, namespace, core):
    assert playbook([sts_task(namespace, **STS), svc_task(namespace)]).rc == 0
    info = only_result(playbook([{"statefuldb.k8s.statefulset_info": {"name": "db", "namespace": namespace}}],
                                check=True))
    assert info["changed"] is False and info["service_name"] == "db"
    assert info["replicas"] == 2 and info["ready_replicas"] == 2
    assert [p["ordinal"] for p in info["pods"]] == [0, 1]
    assert info["primary"]["name"] == "db-0" and info["primary"]["dns_name"] == "db-0.db.%s.svc.cluster.local" % namespace
    claim = core.read_namespaced_persistent_volume_claim("data-db-1", namespace)
    assert info["pods"][1]["pvcs"][0]["uid"] == claim.metadata.uid
    assert info["pods"][1]["pvcs"][0]["phase"] == "Bound"
    assert info["pods"][1]["ip"] == core.read_namespaced_pod("db-1", namespace).status.pod_ip

    wrong_service = {"name": "db", "namespace": namespace, "service": "other"}
    wrong = only_result(playbook([{"statefuldb.k8s.statefulset_info": wrong_service}]))
    assert "governed by Service 'db'" in wrong["msg"]


def test_statefulset_info_fails_when_service_not_headless(playbook, namespace, core):
    assert playbook([sts_task(namespace, **STS)]).rc == 0
    core.create_namespaced_service(namespace, {"metadata": {"name": "db"}, "spec": {"selector": {"app": "db"},
                                                                                    "ports": [{"port": 3306}]}})
    run = playbook([{"statefuldb.k8s.statefulset_info": {"name": "db", "namespace": namespace}}])
    assert run.rc != 0 and "is not headless" in only_result(run)["msg"]


def test_resource_secret_masked_four_times_and_info(playbook, namespace, core):
    task = {"statefuldb.k8s.resource": {"namespace": namespace, "definition": [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
         "stringData": {"password": "s3cr3t-value-xyz"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"my.cnf": "[mysqld]\n"}}]}}
    runs = [playbook([task], check=check, diff=True) for check in (True, False, True, False)]
    results = [only_result(r) for r in runs]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert core.list_namespaced_secret(namespace, field_selector="metadata.name=creds").items
    for run in runs:
        assert "s3cr3t-value-xyz" not in run.stdout
        assert base64.b64encode(b"s3cr3t-value-xyz").decode() not in run.stdout
    secret = core.read_namespaced_secret("creds", namespace)
    assert base64.b64decode(secret.data["password"]) == b"s3cr3t-value-xyz"

    changed = dict(task["statefuldb.k8s.resource"])
    changed["definition"] = [dict(task["statefuldb.k8s.resource"]["definition"][0],
                                  stringData={"password": "n3w-value-abc"})]
    run = playbook([{"statefuldb.k8s.resource": changed}], diff=True)
    result = only_result(run)
    assert result["changed"] is True
    assert result["diff"]["after"]["data"]["password"] == "******** (changed)"
    assert "n3w-value-abc" not in run.stdout and base64.b64encode(b"n3w-value-abc").decode() not in run.stdout

    read = {"kind": "Secret", "namespace": namespace, "name": "creds"}
    info = only_result(playbook([{"statefuldb.k8s.resource_info": read, "no_log": False}]))
    assert base64.b64decode(info["resources"][0]["data"]["password"]) == b"n3w-value-abc"

    absent = [only_result(playbook([{"statefuldb.k8s.resource": dict(changed, state="absent")}], check=check))
              for check in (True, False, True, False)]
    assert [r["changed"] for r in absent] == [True, True, False, False]
    assert not core.list_namespaced_secret(namespace, field_selector="metadata.name=creds").items
