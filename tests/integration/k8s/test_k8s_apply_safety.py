"""Issue 11 against the real API server: force, changed behind a Date-skewing proxy, the selector, claims.

The proxy is a loopback HTTP server in this test that forwards every request to the API server (with
the kubeconfig's credentials) and rewrites the response's Date header, as nginx in front of an API
server with a skewed clock would. It also counts the requests.
"""
import email.utils
import http.server
import os
import threading
import time

import pytest
import urllib3
import yaml
from k8s_helpers import only_result, sts_task

HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "date", "keep-alive"}


class DateSkewProxy:
    def __init__(self, k8s_client, skew):
        cfg = k8s_client.configuration
        self.upstream = cfg.host.rstrip("/")
        self.headers = {}
        token = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
        if token:
            self.headers["Authorization"] = token if token.startswith("Bearer") else "Bearer " + token
        self.pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=cfg.ssl_ca_cert,
                                        cert_file=cfg.cert_file, key_file=cfg.key_file)
        self.skew = skew
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                headers.update(proxy.headers)
                proxy.requests.append((self.command, self.path.split("?")[0]))
                answer = proxy.pool.request(self.command, proxy.upstream + self.path, body=body, headers=headers,
                                            preload_content=True, redirect=False, retries=False)
                data = answer.data
                self.send_response_only(answer.status)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Date", email.utils.formatdate(time.time() + proxy.skew, usegmt=True))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def kubeconfig(self, directory):
        path = os.path.join(directory, "proxy-kubeconfig")
        with open(path, "w") as f:
            yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "proxy",
                            "clusters": [{"name": "proxy", "cluster": {
                                "server": "http://127.0.0.1:%d" % self.server.server_address[1]}}],
                            "users": [{"name": "proxy", "user": {}}],
                            "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}]}, f)
        return path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def with_options(base, **changes):
    """A copy of the task options ``base`` with ``changes`` applied."""
    options = dict(base)
    options.update(changes)
    return options


def cm_task(namespace, value):
    return {"name": "configmap", "register": "out", "statefuldb.k8s.resource": {
        "namespace": namespace,
        "definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "skew"}, "data": {"a": value}}}}


@pytest.mark.parametrize("skew", [10, -10])
def test_every_change_applied_behind_a_proxy_with_a_skewed_date(playbook, namespace, core, k8s_client, tmp_path,
                                                                skew):
    proxy = DateSkewProxy(k8s_client, skew)
    try:
        config = proxy.kubeconfig(str(tmp_path))
        steps = [("1", True), ("2", True), ("2", False), ("3", True), ("3", False), ("1", True)]
        for value, expected in steps:
            result = only_result(playbook([cm_task(namespace, value)], kubeconfig=config))
            assert result.get("failed") is not True, result.get("msg")
            assert result["changed"] is expected, (value, result)
            live = core.read_namespaced_config_map("skew", namespace).data
            assert live == {"a": value}, "the change to %s was not applied (Date skewed %+d s)" % (value, skew)
            assert result["api_requests"] == 2
        sts = sts_task(namespace, image="registry.example/mariadb:11.4", replicas=1, wait=False)
        assert only_result(playbook([sts], kubeconfig=config))["changed"] is True
        for replicas, expected in ((2, True), (2, False)):
            step = sts_task(namespace, image="registry.example/mariadb:11.4", replicas=replicas, wait=False)
            assert only_result(playbook([step], kubeconfig=config))["changed"] is expected
    finally:
        proxy.close()


def test_another_managers_replicas_fail_without_force_and_are_taken_with_it(playbook, namespace, apps, kubeconfig):
    from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sClient

    base = {"image": "registry.example/mariadb:11.4", "replicas": 1, "wait": False}
    assert only_result(playbook([sts_task(namespace, **base)]))["changed"] is True
    other = K8sClient.from_auth({"kubeconfig": kubeconfig})
    other.patch("apps/v1", "StatefulSet", "db", namespace,
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": namespace},
                 "spec": {"replicas": 2}}, patch_type="apply", field_manager="hpa-like-autoscaler", force=True)
    refused = only_result(playbook([sts_task(namespace, **with_options(base, replicas=3))]))
    assert refused.get("failed") is True
    assert "hpa-like-autoscaler" in refused["msg"] and ".spec.replicas" in refused["msg"]
    assert "force: true" in refused["msg"]
    assert apps.read_namespaced_stateful_set("db", namespace).spec.replicas == 2
    forced = only_result(playbook([sts_task(namespace, force=True, **with_options(base, replicas=3))]))
    assert forced["changed"] is True
    assert apps.read_namespaced_stateful_set("db", namespace).spec.replicas == 3


def test_adding_a_label_keeps_the_selector(playbook, namespace, apps):
    base = {"image": "registry.example/mariadb:11.4", "replicas": 1, "wait": False, "labels": {"app": "db"}}
    assert only_result(playbook([sts_task(namespace, **base)]))["changed"] is True
    more = only_result(playbook([sts_task(namespace, **with_options(base, labels={"app": "db", "team": "data"}))]))
    assert more.get("failed") is not True, more.get("msg")
    live = apps.read_namespaced_stateful_set("db", namespace)
    assert live.spec.selector.match_labels == {"app": "db"}
    assert live.metadata.labels == {"app": "db", "team": "data"}


def test_delete_pvcs_after_a_teardown_that_kept_them(playbook, namespace, core):
    from kubernetes import client

    for ordinal in (0, 1):
        core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="data-db-%d" % ordinal, labels={"app": "db"}),
            spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="none",
                                                    resources=client.V1VolumeResourceRequirements(
                                                        requests={"storage": "1Gi"}))))
    kept = only_result(playbook([sts_task(namespace, state="absent")]))
    assert (kept["changed"], kept["pvcs_kept"]) == (False, ["data-db-0", "data-db-1"])
    gone = only_result(playbook([sts_task(namespace, state="absent", delete_pvcs=True, labels={"app": "db"})]))
    assert gone["changed"] is True and gone["pvcs_deleted"] == ["data-db-0", "data-db-1"]
    assert [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(namespace).items] == []
