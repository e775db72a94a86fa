"""The HTTP verbs of K8sClient: paths, queries, bodies, 404 as None, discovery, watch decoding (no network)."""
import json

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import (
    K8sApiError,
    K8sClient,
    K8sError,
    RetryPolicy,
    api_error,
    resource_path,
)


class Response:
    def __init__(self, status=200, body=None, chunks=()):
        self.status = status
        self.data = json.dumps(body if body is not None else {}).encode()
        self.headers = {}
        self.chunks = list(chunks)
        self.released = False

    def stream(self, size, decode_content=True):
        return iter(self.chunks)

    def read(self):
        return self.data

    def release_conn(self):
        self.released = True


class Pool:
    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def request(self, method, url, body=None, headers=None, **kwargs):
        self.sent.append({"method": method, "url": url, "body": json.loads(body) if body else None,
                          "content_type": (headers or {}).get("Content-Type")})
        return self.answers.pop(0)


def client(*answers):
    from kubernetes.client import Configuration

    config = Configuration()
    config.host = "https://127.0.0.1:6443"
    api = K8sClient(config, pool=Pool(answers), policy=RetryPolicy(5, sleep=lambda s: None))
    api.contacted = True
    return api


def test_resource_paths_for_core_and_group_kinds():
    assert resource_path("v1", "pods", "ns", "db-0") == "/api/v1/namespaces/ns/pods/db-0"
    assert resource_path("apps/v1", "statefulsets", "ns", "db", "scale") == \
        "/apis/apps/v1/namespaces/ns/statefulsets/db/scale"
    assert resource_path("storage.k8s.io/v1", "storageclasses") == "/apis/storage.k8s.io/v1/storageclasses"


def test_get_returns_none_for_404_and_raises_other_errors():
    api = client(Response(404, {"reason": "NotFound"}), Response(403, {"message": "no"}))
    assert api.get("v1", "Pod", "db-0", "ns") is None
    with pytest.raises(K8sApiError, match=r"forbidden \(403\): no"):
        api.get("v1", "Pod", "db-0", "ns")


def test_list_sends_the_selectors():
    api = client(Response(200, {"items": []}))
    api.list("v1", "Pod", "ns", label_selector="app=db", field_selector="metadata.name=db-0")
    assert "labelSelector=app%3Ddb" in api.pool.sent[0]["url"]
    assert "fieldSelector=metadata.name%3Ddb-0" in api.pool.sent[0]["url"]


def test_delete_puts_dry_run_and_propagation_in_the_body_and_404_is_none():
    api = client(Response(200, {"kind": "StatefulSet"}), Response(404))
    api.delete("apps/v1", "StatefulSet", "db", "ns", propagation_policy="Orphan", dry_run=True)
    sent = api.pool.sent[0]
    assert sent["method"] == "DELETE" and "?" not in sent["url"]
    assert sent["body"] == {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan",
                            "dryRun": ["All"]}
    assert api.delete("apps/v1", "StatefulSet", "db", "ns") is None


def test_apply_patch_content_type_and_query():
    api = client(Response(200, {}))
    api.patch("v1", "Service", "db", "ns", {"kind": "Service"}, patch_type="apply", dry_run=True,
              field_manager="statefuldb", force=False)
    sent = api.pool.sent[0]
    assert sent["content_type"] == "application/apply-patch+yaml"
    assert "fieldManager=statefuldb" in sent["url"] and "dryRun=All" in sent["url"] and "force=false" in sent["url"]


def test_create_posts_to_the_collection():
    api = client(Response(201, {"metadata": {"name": "cfg"}}))
    assert api.create("v1", "ConfigMap", "ns", {"kind": "ConfigMap"}) == {"metadata": {"name": "cfg"}}
    assert api.pool.sent[0]["method"] == "POST" and api.pool.sent[0]["url"].endswith("/namespaces/ns/configmaps")


def test_unknown_kinds_are_discovered_once_and_unserved_ones_named():
    discovery = {"resources": [{"name": "widgets", "kind": "Widget", "namespaced": False},
                               {"name": "widgets/status", "kind": "Widget"}]}
    api = client(Response(200, discovery), Response(200, {}), Response(200, {}))
    assert api.plural("example.com/v1", "Widget") == ("widgets", False)
    api.get("example.com/v1", "Widget", "w", "ns")
    assert api.pool.sent[1]["url"].endswith("/apis/example.com/v1/widgets/w")  # cluster-scoped: no namespace
    with pytest.raises(K8sError, match="kind: Gadget is not served by apiVersion example.com/v1"):
        api.plural("example.com/v1", "Gadget")


def test_watch_decodes_lines_split_across_chunks_and_raises_error_events():
    added = json.dumps({"type": "ADDED", "object": {"metadata": {"name": "db-0"}}}).encode()
    gone = json.dumps({"type": "ERROR", "object": {"code": 410, "reason": "Expired", "message": "too old"}}).encode()
    stream = Response(200, chunks=[added[:10], added[10:] + b"\n\n", gone + b"\n"])
    api = client(stream)
    events = api.watch("v1", "Pod", "ns", resource_version="5")
    assert next(events)["object"]["metadata"]["name"] == "db-0"
    with pytest.raises(K8sApiError) as caught:
        next(events)
    assert caught.value.status == 410 and stream.released
    assert "watch=1" in api.pool.sent[0]["url"] and "resourceVersion=5" in api.pool.sent[0]["url"]


def test_a_refused_watch_is_read_and_released():
    refused = Response(403, {"message": "cannot watch pods"})
    api = client(refused)
    with pytest.raises(K8sApiError, match="cannot watch pods"):
        api.watch("v1", "Pod", "ns")
    assert refused.released


def test_api_error_wording():
    assert "rejected the credentials" in api_error("GET", "/api/v1/pods", 401, {}).msg
    error = api_error("PATCH", "/apis/apps/v1/x?dryRun=All", 422, {"reason": "Invalid", "message": "bad"})
    assert error.msg == "PATCH /apis/apps/v1/x failed (422 Invalid): bad" and error.status == 422
