# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny external provisioner (and resizer) for hostPath volumes of the local control plane, and
the port-forward wiring of its pods.

Why this and not KWOK's volume stages or a pool of static PVs:
* KWOK v0.8's volume stages do bind claims, but by patching PVC/PV status themselves (the real PV
  controller is bypassed) and their hostPath directories never exist on disk.
* Static PVs kept topped up would bind through the real PV binder, but a claim gets whichever PV
  is big enough (capacity and size differ), and expansion cannot be shown.
* This provisioner behaves like a real external one (e.g. local-path-provisioner): the real PV
  controller marks a claim of StorageClass `standard` with `volume.kubernetes.io/storage-provisioner`,
  we create `.localkube/volumes/pvc-<claim uid>/` and a PV pre-bound to the claim, and the real PV
  controller binds them. When a claim is deleted the PV controller releases the PV and we delete
  it and its directory (reclaimPolicy Delete; Retain keeps both). Claim expansion: the real expand
  controller hands hostPath volumes to "an external controller"; we grow the PV's capacity and the
  claim's status (bookkeeping only: a directory has no size).

Port-forward: KWOK serves the kubelet's port-forward endpoint but needs to be told where each
pod's ports are. For every pod with a pod IP this process server-side-applies a KWOK `PortForward`
(same name and namespace as the pod, owned by it so the garbage collector removes it) that sends
each declared TCP containerPort to <pod IP>:<port>. `kubectl port-forward pod/x 3306` then reaches
whatever serves that pod IP in the network namespace statefuldb-pods (declare the port in the pod).

The `kubernetes` Service: the apiserver listens on 127.0.0.1 only but must advertise a
non-loopback address (Endpoints refuse loopback), the pod-network gateway 10.244.255.254. With
--relay, this process forwards TCP from that address (reachable only from this host and the pod
namespace) to the apiserver, so the Service's endpoint really answers.

Standard library only. Run by localkube.py; logs to .localkube/logs/provisioner.log.
"""
from __future__ import annotations

import argparse
import base64
import decimal
import http.client
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

ANN_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"

_SUFFIXES = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
             "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
             "m": decimal.Decimal("0.001"), "": 1}


def quantity(text: str | None) -> decimal.Decimal:
    """Bytes in a Kubernetes quantity string ('10Gi', '500M', '1e3'); 0 for None."""
    if not text:
        return decimal.Decimal(0)
    text = str(text).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return decimal.Decimal(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return decimal.Decimal(text)


def log(msg: str) -> None:
    print("%s %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg), flush=True)


class ApiError(RuntimeError):
    def __init__(self, status: int, body: str):
        super().__init__("HTTP %d: %s" % (status, body[:300]))
        self.status = status


class Api:
    """Just enough of a Kubernetes client: JSON requests and watches with client certificates."""

    def __init__(self, kubeconfig: str):
        with open(kubeconfig) as f:
            config = json.load(f)  # localkube writes its kubeconfigs as JSON
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        url = urllib.parse.urlsplit(cluster["server"])
        self.host, self.port = url.hostname, url.port or 443
        self.ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, "c"), os.path.join(tmp, "k")
            for path, field in ((cert, "client-certificate-data"), (key, "client-key-data")):
                with open(path, "wb") as f:
                    f.write(base64.b64decode(user[field]))
            self.ctx.load_cert_chain(cert, key)

    def _conn(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def request(self, method: str, path: str, body=None, content_type: str = "application/json"):
        conn = self._conn(30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
            if resp.status >= 300:
                raise ApiError(resp.status, text)
            return json.loads(text) if text else {}
        finally:
            conn.close()

    def watch(self, path: str, resource_version: str):
        """Yield watch events until the server ends the watch (or the connection drops)."""
        query = urllib.parse.urlencode({"watch": "1", "resourceVersion": resource_version,
                                        "allowWatchBookmarks": "true", "timeoutSeconds": "300"})
        conn = self._conn(330)
        try:
            conn.request("GET", "%s?%s" % (path, query), headers={"Accept": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(resp.status, resp.read().decode())
            while True:
                line = resp.readline()
                if not line:
                    return
                yield json.loads(line)
        finally:
            conn.close()


class Provisioner:
    def __init__(self, api: Api, volumes: str, storage_class: str, name: str):
        self.api = api
        self.volumes = os.path.abspath(volumes)
        self.storage_class = storage_class
        self.name = name
        self.lock = threading.Lock()
        self.forwarded = {}  # (namespace, pod) -> (uid, ip, ports) last applied

    # -- claims
    def on_claim(self, pvc: dict) -> None:
        meta, spec, status = pvc["metadata"], pvc.get("spec", {}), pvc.get("status", {})
        if meta.get("deletionTimestamp"):
            return
        if not spec.get("volumeName"):
            if meta.get("annotations", {}).get(ANN_PROVISIONER) == self.name:
                self.provision(pvc)
            return
        if status.get("phase") == "Bound":
            self.maybe_expand(pvc)

    def provision(self, pvc: dict) -> None:
        meta, spec = pvc["metadata"], pvc["spec"]
        try:
            sc = self.api.request("GET", "/apis/storage.k8s.io/v1/storageclasses/" + spec.get("storageClassName", ""))
        except ApiError as err:
            log("claim %s/%s: storage class %r not readable (%s)"
                % (meta["namespace"], meta["name"], spec.get("storageClassName"), err))
            return
        pv_name = "pvc-" + meta["uid"]
        path = os.path.join(self.volumes, pv_name)
        os.makedirs(path, exist_ok=True)
        # Real containers run as their image's user (the database images: mysql); hostPath gets no
        # fsGroup ownership change, so the directory is open to every user, as local-path does.
        os.chmod(path, 0o777)
        size = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        pv = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {ANN_PROVISIONED_BY: self.name}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
                "mountOptions": sc.get("mountOptions") or None,
                "hostPath": {"path": path, "type": "Directory"},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                             "name": meta["name"], "uid": meta["uid"],
                             "resourceVersion": meta["resourceVersion"]},
            },
        }
        if pv["spec"]["mountOptions"] is None:
            del pv["spec"]["mountOptions"]
        try:
            self.api.request("POST", "/api/v1/persistentvolumes", pv)
        except ApiError as err:
            if err.status == 409:
                return
            raise
        log("provisioned %s (%s) for claim %s/%s at %s" % (pv_name, size, meta["namespace"], meta["name"], path))
        self.event(pvc, "ProvisioningSucceeded", "Successfully provisioned volume %s (hostPath %s)" % (pv_name, path))

    def maybe_expand(self, pvc: dict) -> None:
        meta, spec, status = pvc["metadata"], pvc["spec"], pvc.get("status", {})
        wanted = spec.get("resources", {}).get("requests", {}).get("storage")
        if quantity(wanted) <= quantity(status.get("capacity", {}).get("storage")):
            return
        try:
            pv = self.api.request("GET", "/api/v1/persistentvolumes/" + spec["volumeName"])
        except ApiError:
            return
        if pv["metadata"].get("annotations", {}).get(ANN_PROVISIONED_BY) != self.name:
            return
        if quantity(pv["spec"]["capacity"]["storage"]) < quantity(wanted):
            self.api.request("PATCH", "/api/v1/persistentvolumes/" + pv["metadata"]["name"],
                             {"spec": {"capacity": {"storage": wanted}}}, "application/merge-patch+json")
        self.api.request("PATCH", "/api/v1/namespaces/%s/persistentvolumeclaims/%s/status" % (meta["namespace"], meta["name"]),
                         {"status": {"capacity": {"storage": wanted}, "allocatedResources": {"storage": wanted},
                                     "allocatedResourceStatuses": None, "conditions": None}},
                         "application/merge-patch+json")
        log("expanded %s for claim %s/%s to %s" % (pv["metadata"]["name"], meta["namespace"], meta["name"], wanted))
        self.event(pvc, "VolumeResizeSuccessful", "hostPath volume %s resized to %s (a directory has no size limit)"
                   % (pv["metadata"]["name"], wanted))

    # -- port-forward
    def on_pod(self, pod: dict) -> None:
        meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
        ip = status.get("podIP")
        if meta.get("deletionTimestamp") or spec.get("hostNetwork") or not ip:
            return
        ports = sorted({p["containerPort"] for c in spec.get("containers", []) + spec.get("initContainers", [])
                        for p in c.get("ports", []) if p.get("protocol", "TCP") == "TCP"})
        key = (meta["namespace"], meta["name"])
        wanted = (meta["uid"], ip, tuple(ports))
        if not ports or self.forwarded.get(key) == wanted:
            return
        body = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "labels": {"app.kubernetes.io/managed-by": "localkube"},
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                                  "uid": meta["uid"]}]},
                "spec": {"forwards": [{"ports": [port], "target": {"address": ip, "port": port}} for port in ports]}}
        self.api.request("PATCH", "/apis/kwok.x-k8s.io/v1alpha1/namespaces/%s/portforwards/%s?fieldManager=localkube"
                         "&force=true" % key, body, "application/apply-patch+yaml")
        self.forwarded[key] = wanted

    # -- volumes
    def on_volume(self, pv: dict) -> None:
        meta, spec, status = pv["metadata"], pv.get("spec", {}), pv.get("status", {})
        if meta.get("annotations", {}).get(ANN_PROVISIONED_BY) != self.name or meta.get("deletionTimestamp"):
            return
        if status.get("phase") != "Released" or spec.get("persistentVolumeReclaimPolicy") != "Delete":
            return
        path = spec.get("hostPath", {}).get("path", "")
        if os.path.dirname(os.path.abspath(path)) == self.volumes and os.path.isdir(path):
            shutil.rmtree(path)
        try:
            self.api.request("DELETE", "/api/v1/persistentvolumes/" + meta["name"])
        except ApiError as err:
            if err.status != 404:
                raise
        log("deleted released volume %s and %s" % (meta["name"], path))

    def event(self, obj: dict, reason: str, message: str) -> None:
        meta = obj["metadata"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"generateName": meta["name"] + ".", "namespace": meta["namespace"]},
                "involvedObject": {"apiVersion": "v1", "kind": obj.get("kind", "PersistentVolumeClaim"),
                                   "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                                   "resourceVersion": meta.get("resourceVersion")},
                "reason": reason, "message": message, "type": "Normal", "count": 1,
                "firstTimestamp": now, "lastTimestamp": now, "source": {"component": self.name}}
        try:
            self.api.request("POST", "/api/v1/namespaces/%s/events" % meta["namespace"], body)
        except (ApiError, OSError) as err:
            log("could not record event %s: %s" % (reason, err))

    def handle(self, handler, obj: dict) -> None:
        with self.lock:
            try:
                handler(obj)
            except (ApiError, OSError) as err:
                log("%s %s: %s" % (handler.__name__, obj["metadata"].get("name"), err))


def run_loop(prov: Provisioner, path: str, kind: str, handler, listed: threading.Event) -> None:
    """List, handle every item, watch from there; relist after any error (apiserver restarts)."""
    while True:
        try:
            items = prov.api.request("GET", path)
            for item in items.get("items", []):
                item.setdefault("kind", kind)
                prov.handle(handler, item)
            listed.set()
            rv = items["metadata"]["resourceVersion"]
            for event in prov.api.watch(path, rv):
                if event.get("type") == "ERROR":
                    break  # e.g. 410 Gone: relist
                if event.get("type") in ("ADDED", "MODIFIED"):
                    prov.handle(handler, event["object"])
        except (ApiError, OSError, ValueError, http.client.HTTPException) as err:
            log("%s watch interrupted (%s); relisting" % (kind, err))
            time.sleep(1)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass  # the other side closed; closing both below ends the pair
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed
            sock.close()


def relay(listen: tuple[str, int], target: tuple[str, int]) -> socket.socket:
    """Accept on `listen` and forward every connection to `target` (threads, no TLS termination)."""
    server = socket.create_server(listen, reuse_port=False)

    def accept_loop() -> None:
        while True:
            conn, _peer = server.accept()
            try:
                upstream = socket.create_connection(target, timeout=5)
                upstream.settimeout(None)
            except OSError as err:
                log("relay %s:%d -> %s:%d: %s" % (*listen, *target, err))
                conn.close()
                continue
            threading.Thread(target=_pump, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, conn), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--volumes", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--storage-class", default="standard")
    parser.add_argument("--provisioner-name", required=True)
    parser.add_argument("--code-version", help="ignored; lets localkube.py notice a changed provisioner.py")
    parser.add_argument("--relay", nargs=2, metavar=("LISTEN", "TARGET"),
                        help="forward TCP from LISTEN (ip:port) to TARGET (ip:port)")
    args = parser.parse_args()
    os.makedirs(args.volumes, exist_ok=True)
    if args.relay:
        listen, target = ((a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in args.relay)
        relay(listen, target)
    prov = Provisioner(Api(args.kubeconfig), args.volumes, args.storage_class, args.provisioner_name)
    loops = [("/api/v1/persistentvolumeclaims", "PersistentVolumeClaim", prov.on_claim),
             ("/api/v1/persistentvolumes", "PersistentVolume", prov.on_volume),
             ("/api/v1/pods", "Pod", prov.on_pod)]
    listed = []
    for path, kind, handler in loops:
        done = threading.Event()
        listed.append(done)
        threading.Thread(target=run_loop, args=(prov, path, kind, handler, done), daemon=True).start()
    for done in listed:
        done.wait()
    with open(args.ready_file, "w") as f:
        f.write("%d\n" % os.getpid())
    log("ready: provisioning claims of class %s into %s" % (args.storage_class, args.volumes))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
