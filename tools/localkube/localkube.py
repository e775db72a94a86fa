# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Kubernetes cluster on one machine, without Docker: `up`, `down`, `reset`, `status`,
`bench`.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real binaries (built by
build.sh from their Go modules at pinned versions). Three real nodes (nodes.py: one containerd and
one kubelet each, pods on the bridge of bridge.py) run the pods; CoreDNS (coredns.py) serves
cluster.local on the bridge. KWOK stands in for the kubelets of 3 more, fake, nodes (tainted: only
pods that tolerate `kwok.x-k8s.io/node=fake:NoSchedule` land there): it marks their pods
Running/Ready and gives them IPs, but runs no containers; their IPs live in the network namespace
`statefuldb-pods` (podnet.py). A small hostPath provisioner (provisioner.py) creates a PV with a
real directory under .localkube/volumes/ for every claim of the default StorageClass `standard`.

State lives in <repo>/.localkube: pki/, logs/, run/ (pid files), etcd/, volumes/, nodes/,
kubeconfig. Standard library only; the openssl CLI makes the certificates; needs root.
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bridge  # noqa: E402
import coredns  # noqa: E402
import hoststate  # noqa: E402
import nodes  # noqa: E402
import podnet  # noqa: E402

# LOCALKUBE_STATE and LOCALKUBE_PORT_OFFSET exist only to try a second, throw-away instance next to
# the shared one (e.g. a cold first start); it shares the pod network, so never `reset` it.
# realpath: worktrees link .localkube to one shared folder; every path derived from it (command
# lines, configs) must read the same from each of them, or each `up` would see drift and restart.
STATE = os.path.realpath(os.environ.get("LOCALKUBE_STATE") or os.path.join(REPO, ".localkube"))
PORT_OFFSET = int(os.environ.get("LOCALKUBE_PORT_OFFSET") or 0)
PKI = os.path.join(STATE, "pki")
LOGS = os.path.join(STATE, "logs")
RUN = os.path.join(STATE, "run")
VOLUMES = os.path.join(STATE, "volumes")
KUBECONFIG = os.path.join(STATE, "kubeconfig")
BUILD_SH = os.path.join(HERE, "build.sh")
IMAGES_PY = os.path.join(HERE, "images.py")
HOST_BEFORE = os.path.join(STATE, "host-before.json")
CACHE = os.environ.get("LOCALKUBE_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "statefuldb-localkube")

# Fixed ports, all on 127.0.0.1 except KWOK's kubelet endpoint and the relay of the apiserver's
# advertised endpoint (both on the pod-network gateway address, which only this host and the pod
# namespace can reach).
ETCD_PORT = 12379 + PORT_OFFSET
ETCD_PEER_PORT = 12380 + PORT_OFFSET
APISERVER_PORT = 16443 + PORT_OFFSET
CONTROLLER_MANAGER_PORT = 16257 + PORT_OFFSET
SCHEDULER_PORT = 16259 + PORT_OFFSET
KWOK_PORT = 16250 + PORT_OFFSET

# Kubernetes refuses loopback addresses as endpoints, so the apiserver advertises the gateway
# address of the pod network (a real address of this host) while it listens on 127.0.0.1 only.
ADVERTISE_ADDRESS = podnet.GATEWAY_IP
SERVICE_CIDR = podnet.SERVICE_CIDR
CLUSTER_CIDR = podnet.POD_CIDR
# KWOK takes pod IPs from each node's podCIDR (a /24 per node from the node IPAM controller);
# this range is only its fallback for a node that has none yet.
KWOK_FALLBACK_CIDR = "10.244.254.0/24"
NODES = ["kwok-node-0", "kwok-node-1", "kwok-node-2"]
ZONES = ["zone-a", "zone-b", "zone-c"]
# KWOK's nodes carry this taint: pods go to the real nodes unless they ask for a fake one.
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
# A namespace with these annotations puts all its pods on KWOK's nodes (the apiserver's
# PodNodeSelector and PodTolerationRestriction admission plugins add the selector and toleration).
KWOK_NAMESPACE_ANNOTATIONS = {
    "scheduler.alpha.kubernetes.io/node-selector": "type=kwok",
    "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([dict(KWOK_TAINT, operator="Equal")]),
}
# One set of real nodes per machine (the bridge, node addresses, cgroups are fixed): a second,
# throw-away instance (LOCALKUBE_PORT_OFFSET) has KWOK nodes only.
REAL_NODE_COUNT = 0 if PORT_OFFSET else 3
# The image store of each node's containerd is a cache (it survives `reset`); one per state folder.
REAL_NODES = [nodes.Layout(STATE, os.path.join(CACHE, "nodes-" + hashlib.sha256(STATE.encode()).hexdigest()[:8]),
                           i, PORT_OFFSET) for i in range(REAL_NODE_COUNT)]
SANDBOX_IMAGE = "localhost/statefuldb/pause:3.10"
# Images every node gets (built by images.py, imported by `up`).
IMAGES = ["pause", "tools", "mariadb-10.11", "mariadb-11.8", "mysql-9.7"]
DNS_HEALTH_PORT = 16281 + PORT_OFFSET
DNS_READY_PORT = 16282 + PORT_OFFSET
STORAGE_CLASS = "standard"
PROVISIONER_NAME = "localkube.statefuldb.io/hostpath"

HEALTH_TIMEOUT = {"etcd": 30, "kube-apiserver": 90, "kube-controller-manager": 60,
                  "kube-scheduler": 60, "kwok": 60, "provisioner": 30, "coredns": 30, "containerd": 30, "kubelet": 60}
# Start order of the control plane; `down` stops in reverse.
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "provisioner"]
# Then the real nodes' processes (up_nodes()): DNS first, each node's containerd, then kubelets.
CONTAINERDS = [n.component("containerd") for n in REAL_NODES]
KUBELETS = [n.component("kubelet") for n in REAL_NODES]
NODE_COMPONENTS = (["coredns"] if REAL_NODES else []) + CONTAINERDS + KUBELETS
ALL_COMPONENTS = COMPONENTS + NODE_COMPONENTS
PORTS = {
    "etcd": [("127.0.0.1", ETCD_PORT), ("127.0.0.1", ETCD_PEER_PORT)],
    "kube-apiserver": [("127.0.0.1", APISERVER_PORT)],
    "kube-controller-manager": [("127.0.0.1", CONTROLLER_MANAGER_PORT)],
    "kube-scheduler": [("127.0.0.1", SCHEDULER_PORT)],
    "kwok": [(ADVERTISE_ADDRESS, KWOK_PORT)],
    # relays the `kubernetes` Service endpoint (advertise address) to the apiserver
    "provisioner": [(ADVERTISE_ADDRESS, APISERVER_PORT)],
    "coredns": [(bridge.HOST_IP, 53), ("127.0.0.1", DNS_HEALTH_PORT), ("127.0.0.1", DNS_READY_PORT)],
}
for _n in REAL_NODES:
    PORTS[_n.component("containerd")] = []
    PORTS[_n.component("kubelet")] = [(_n.ip, _n.kubelet_port), ("127.0.0.1", _n.healthz_port)]


def real_node(name: str) -> nodes.Layout | None:
    """The node of a per-node component name (containerd-node-0, kubelet-node-0), else None."""
    return next((n for n in REAL_NODES if name.endswith("-" + n.name)), None)


def kind(name: str) -> str:
    """containerd-node-0 -> containerd; other names stay as they are."""
    node = real_node(name)
    return name[: -len(node.name) - 1] if node else name


class LocalkubeError(RuntimeError):
    """A failure the user can act on; printed without a traceback."""


def log(msg: str) -> None:
    print("localkube: " + msg, flush=True)


# ----------------------------------------------------------------------------------------------
# Binaries


def bin_dir(build: bool = True) -> str:
    """The folder with the pinned binaries; builds them first when `build` (a no-op once built)."""
    if build:
        proc = subprocess.run(["bash", BUILD_SH], stdout=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise LocalkubeError("build.sh failed (exit %d); see the messages above" % proc.returncode)
        return proc.stdout.strip().splitlines()[-1]
    proc = subprocess.run(["bash", BUILD_SH, "--print-dir"], stdout=subprocess.PIPE, text=True, check=False)
    return proc.stdout.strip()


# ----------------------------------------------------------------------------------------------
# Certificates and kubeconfigs (openssl CLI, EC P-256 keys: fast to generate)

CLIENT_CERTS = {
    # name: (CN, O)
    "admin": ("localkube-admin", "system:masters"),
    "kube-controller-manager": ("system:kube-controller-manager", None),
    "kube-scheduler": ("system:kube-scheduler", None),
    "kwok": ("kwok-controller", None),
    "provisioner": ("localkube-provisioner", None),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    "coredns": ("localkube-coredns", None),
}
# Real node credentials: the Node authorizer and NodeRestriction know them by this name and group.
for _n in REAL_NODES:
    CLIENT_CERTS[_n.name] = ("system:node:" + _n.name, "system:nodes")


def _openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LocalkubeError("openssl %s failed: %s" % (args[0], proc.stderr.strip()))


def _new_key(path: str) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    os.chmod(path, 0o600)


def _sign(name: str, subject: str, extensions: str, ca: str | None = "ca") -> None:
    """Key + certificate pki/<name>.{key,crt}, signed by pki/<ca>.crt (self-signed when ca is None)."""
    key, csr, crt = (os.path.join(PKI, name + ext) for ext in (".key", ".csr", ".crt"))
    _new_key(key)
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", delete=False) as cnf:
        cnf.write("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n[ext]\n" + extensions + "\n")
    try:
        _openssl("req", "-new", "-config", cnf.name, "-key", key, "-subj", subject, "-out", csr)
        serial = "0x" + os.urandom(8).hex()
        common = ["x509", "-req", "-in", csr, "-days", "3650", "-set_serial", serial,
                  "-extfile", cnf.name, "-extensions", "ext", "-out", crt + ".tmp"]
        if ca is None:
            _openssl(*common, "-signkey", key)
        else:
            _openssl(*common, "-CA", os.path.join(PKI, ca + ".crt"), "-CAkey", os.path.join(PKI, ca + ".key"))
        os.replace(crt + ".tmp", crt)  # the .crt appears last: its presence means "done"
    finally:
        os.unlink(cnf.name)
        if os.path.exists(csr):
            os.unlink(csr)


CA_EXT = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign, digitalSignature"
SERVER_EXT = ("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
              "extendedKeyUsage = serverAuth\nsubjectAltName = ")
CLIENT_EXT = ("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
              "extendedKeyUsage = clientAuth")


def ensure_pki() -> None:
    """Generate whatever is missing of: the cluster CA, the front-proxy CA (delegated
    authentication of the controller-manager and scheduler), serving and client certificates,
    the service-account key, and the kubeconfigs."""
    os.makedirs(PKI, exist_ok=True)

    def have(name: str) -> bool:
        return os.path.exists(os.path.join(PKI, name))

    wanted = [
        ("ca", "/CN=localkube-ca", CA_EXT, None),
        ("front-proxy-ca", "/CN=localkube-front-proxy-ca", CA_EXT, None),
        ("front-proxy-client", "/CN=front-proxy-client", CLIENT_EXT, "front-proxy-ca"),
        ("apiserver", "/CN=kube-apiserver", SERVER_EXT + ", ".join(
            ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
             "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", "IP:10.96.0.1", "IP:" + ADVERTISE_ADDRESS]),
         "ca"),
        ("kwok-serving", "/CN=kwok", SERVER_EXT + ", ".join(
            ["IP:" + ADVERTISE_ADDRESS, "IP:127.0.0.1", "DNS:localhost"] + ["DNS:" + n for n in NODES]), "ca"),
    ]
    for node in REAL_NODES:  # each kubelet's serving certificate (logs, exec through the apiserver)
        wanted.append((node.name + "-serving", "/O=system:nodes/CN=system:node:" + node.name,
                       SERVER_EXT + "IP:%s, DNS:%s" % (node.ip, node.name), "ca"))
    for name, (cn, org) in CLIENT_CERTS.items():
        wanted.append((name, ("/O=%s/CN=%s" % (org, cn)) if org else "/CN=" + cn, CLIENT_EXT, "ca"))
    missing = [w for w in wanted if not have(w[0] + ".crt")]
    if missing:
        log("generating certificates in %s: %s" % (PKI, ", ".join(w[0] for w in missing)))
    for name, subject, ext, ca in missing:
        _sign(name, subject, ext, ca)
    if not have("sa.pub"):
        _new_key(os.path.join(PKI, "sa.key"))
        _openssl("pkey", "-in", os.path.join(PKI, "sa.key"), "-pubout", "-out", os.path.join(PKI, "sa.pub"))
    for name in CLIENT_CERTS:
        path = KUBECONFIG if name == "admin" else os.path.join(PKI, name + ".kubeconfig")
        node = next((n for n in REAL_NODES if n.name == name), None)
        if node is not None:
            os.makedirs(node.dir, exist_ok=True)
            path = node.kubeconfig
        if not os.path.exists(path) or any(w[0] in (name, "ca") for w in missing):
            write_kubeconfig(name, path)


def _b64(path: str) -> str:
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfig(name: str, path: str) -> None:
    """A kubeconfig with embedded certificates (JSON is valid YAML), so it can be copied anywhere."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "localkube", "preferences": {},
        "clusters": [{"name": "localkube", "cluster": {
            "server": "https://127.0.0.1:%d" % APISERVER_PORT,
            "certificate-authority-data": _b64(os.path.join(PKI, "ca.crt"))}}],
        "users": [{"name": name, "user": {
            "client-certificate-data": _b64(os.path.join(PKI, name + ".crt")),
            "client-key-data": _b64(os.path.join(PKI, name + ".key"))}}],
        "contexts": [{"name": "localkube",
                      "context": {"cluster": "localkube", "user": name, "namespace": "default"}}],
    }
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(config, f, indent=1)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------
# Component command lines


def pki(name: str) -> str:
    return os.path.join(PKI, name)


def kwok_config(binaries: str) -> str:
    """KWOK v0.8 has no built-in stages: concatenate the pinned ones from the module (build.sh
    copies them next to bin/). Fast pod stages (Ready at once, delete at once) keep tests quick;
    node heartbeats go through Leases."""
    stage_root = os.path.join(os.path.dirname(binaries), "kustomize", "stage")
    files = ["node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
             "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"]
    docs = []
    for rel in files:
        path = os.path.join(stage_root, rel)
        if not os.path.exists(path):
            raise LocalkubeError("KWOK stage file %s is missing; rerun tools/localkube/build.sh" % path)
        with open(path) as f:
            docs.append(f.read().strip())
    out = os.path.join(STATE, "kwok.yaml")
    with open(out, "w") as f:
        f.write("\n---\n".join(docs) + "\n")
    return out


def command_line(name: str, binaries: str) -> list[str]:

    def b(exe: str) -> str:
        return os.path.join(binaries, exe)

    if name == "etcd":
        return [b("etcd"), "--name", "localkube", "--data-dir", os.path.join(STATE, "etcd"),
                "--listen-client-urls", "http://127.0.0.1:%d" % ETCD_PORT,
                "--advertise-client-urls", "http://127.0.0.1:%d" % ETCD_PORT,
                "--listen-peer-urls", "http://127.0.0.1:%d" % ETCD_PEER_PORT,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % ETCD_PEER_PORT,
                "--initial-cluster", "localkube=http://127.0.0.1:%d" % ETCD_PEER_PORT,
                # A throw-away test cluster: skip fsync (much faster on slow disks).
                "--unsafe-no-fsync", "--log-level", "warn"]
    if name == "kube-apiserver":
        return [b("kube-apiserver"),
                "--etcd-servers", "http://127.0.0.1:%d" % ETCD_PORT,
                "--bind-address", "127.0.0.1", "--secure-port", str(APISERVER_PORT),
                "--advertise-address", ADVERTISE_ADDRESS,
                "--tls-cert-file", pki("apiserver.crt"), "--tls-private-key-file", pki("apiserver.key"),
                "--client-ca-file", pki("ca.crt"),
                "--requestheader-client-ca-file", pki("front-proxy-ca.crt"),
                "--requestheader-allowed-names", "front-proxy-client",
                "--requestheader-username-headers", "X-Remote-User",
                "--requestheader-group-headers", "X-Remote-Group",
                "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
                "--proxy-client-cert-file", pki("front-proxy-client.crt"),
                "--proxy-client-key-file", pki("front-proxy-client.key"),
                "--authorization-mode", "Node,RBAC",
                # NodeRestriction: a kubelet changes only its own Node and its pods. The other two
                # let a namespace send all its pods to the KWOK nodes (KWOK_NAMESPACE_ANNOTATIONS).
                "--enable-admission-plugins", "NodeRestriction,PodNodeSelector,PodTolerationRestriction",
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", pki("sa.pub"),
                "--service-account-signing-key-file", pki("sa.key"),
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--kubelet-client-certificate", pki("apiserver-kubelet-client.crt"),
                "--kubelet-client-key", pki("apiserver-kubelet-client.key"),
                "--kubelet-preferred-address-types", "InternalIP",
                "--kubelet-certificate-authority", pki("ca.crt"),
                "--allow-privileged=true", "--profiling=false"]
    if name == "kube-controller-manager":
        kc = pki("kube-controller-manager.kubeconfig")
        return [b("kube-controller-manager"),
                "--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
                "--bind-address", "127.0.0.1", "--secure-port", str(CONTROLLER_MANAGER_PORT),
                # One instance: no leader election, so a restart does not wait for an old lease.
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                "--root-ca-file", pki("ca.crt"), "--service-account-private-key-file", pki("sa.key"),
                "--cluster-signing-cert-file", pki("ca.crt"), "--cluster-signing-key-file", pki("ca.key"),
                "--allocate-node-cidrs=true", "--cluster-cidr", CLUSTER_CIDR, "--node-cidr-mask-size", "24",
                "--service-cluster-ip-range", SERVICE_CIDR,
                "--pvclaimbinder-sync-period", "5s", "--profiling=false",
                # not /usr/libexec/kubernetes/kubelet-plugins (it creates the folder at start)
                "--flex-volume-plugin-dir", os.path.join(STATE, "flexvolume")]
    if name == "kube-scheduler":
        kc = pki("kube-scheduler.kubeconfig")
        return [b("kube-scheduler"),
                "--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
                "--bind-address", "127.0.0.1", "--secure-port", str(SCHEDULER_PORT),
                "--leader-elect=false", "--profiling=false"]
    if name == "kwok":
        return [b("kwok"), "--kubeconfig", pki("kwok.kubeconfig"), "--config", kwok_config(binaries),
                # Only the fake nodes: the real ones have kubelets.
                "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
                "--node-ip", ADVERTISE_ADDRESS, "--node-port", str(KWOK_PORT),
                "--server-address", "%s:%d" % (ADVERTISE_ADDRESS, KWOK_PORT),
                "--tls-cert-file", pki("kwok-serving.crt"), "--tls-private-key-file", pki("kwok-serving.key"),
                "--cidr", KWOK_FALLBACK_CIDR, "--node-lease-duration-seconds", "40",
                # PortForward objects (written by provisioner.py for every pod with a pod IP) let
                # `kubectl port-forward` reach the pod IP in the pod network namespace.
                "--enable-crds", "PortForward"]
    if name == "provisioner":
        with open(os.path.join(HERE, "provisioner.py"), "rb") as f:
            code = hashlib.sha256(f.read()).hexdigest()[:12]  # a new version restarts it
        return [sys.executable, os.path.join(HERE, "provisioner.py"), "--code-version", code,
                "--kubeconfig", pki("provisioner.kubeconfig"), "--volumes", VOLUMES,
                "--ready-file", os.path.join(RUN, "provisioner.ready"),
                "--storage-class", STORAGE_CLASS, "--provisioner-name", PROVISIONER_NAME,
                "--relay", "%s:%d" % (ADVERTISE_ADDRESS, APISERVER_PORT), "127.0.0.1:%d" % APISERVER_PORT]
    if name == "coredns":
        return coredns.command_line(b("coredns"), os.path.join(STATE, "Corefile"))
    node = real_node(name)
    if node is not None and kind(name) == "containerd":
        return nodes.containerd_command(node)
    if node is not None and kind(name) == "kubelet":
        return nodes.kubelet_command(binaries, node, ZONES[node.index % len(ZONES)])
    raise KeyError(name)


# ----------------------------------------------------------------------------------------------
# Processes


def pid_file(name: str) -> str:
    return os.path.join(RUN, name + ".pid")


def log_file(name: str) -> str:
    return os.path.join(LOGS, name + ".log")


def running_pid(name: str) -> int | None:
    """The pid from the component's pid file if that process is alive and is ours (command line
    still names the component), else None. Never trusts a recycled pid."""
    try:
        with open(pid_file(name)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().split(b"\0")
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
    if state == "Z":
        return None
    marker = ("provisioner.py" if name == "provisioner" else kind(name)).encode()
    if not any(os.path.basename(arg) == marker for arg in cmdline):
        return None
    return pid


def drifted(name: str, binaries: str) -> bool:
    """True when a running component was started with another command line than today's (new
    flags or new binaries after a version bump): `up` then restarts it."""
    pid = running_pid(name)
    if pid is None:
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            current = [a.decode() for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return False
    wanted = command_line(name, binaries)
    if name == "provisioner":  # any python3 will do
        return current[1:] != wanted[1:]
    return current != wanted


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def tail(path: str, lines: int = 25) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log at %s)" % path
    return "\n".join(text.splitlines()[-lines:])


_children: dict[str, subprocess.Popen] = {}


def release_node_leases() -> None:
    """KWOK only drives pods of nodes whose Lease it holds, under a random identity per process:
    a restarted KWOK would wait for the old Leases to expire (40 s). Delete them first."""
    for node in NODES:
        req = urllib.request.Request("https://127.0.0.1:%d/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
                                     "leases/%s" % (APISERVER_PORT, node), method="DELETE")
        try:
            urllib.request.urlopen(req, context=_ssl_context(), timeout=5).close()
        except urllib.error.HTTPError as err:
            if err.code != 404:
                raise LocalkubeError("could not delete the Lease of node %s: HTTP %d" % (node, err.code)) from None


def check_ports(names: list[str]) -> None:
    """Fail before starting anything if a port of a component we are about to start is taken."""
    for name in names:
        for host, port in PORTS[name]:
            if port_in_use(host, port):
                raise LocalkubeError("cannot start %s: %s:%d is already in use by another process (not started "
                                     "by localkube; `ss -ltnp 'sport = :%d'` shows which)" % (name, host, port, port))


def start(name: str, binaries: str) -> None:
    check_ports([name])
    argv = command_line(name, binaries)
    if name == "kwok":
        release_node_leases()
    with open(log_file(name), "ab") as out:
        out.write(("\n==== %s localkube starting %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                          " ".join(argv))).encode())
        out.flush()
        env = nodes.containerd_env() if kind(name) == "containerd" else None
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=STATE, start_new_session=True, env=env)
    _children[name] = proc
    with open(pid_file(name), "w") as f:
        f.write("%d\n" % proc.pid)


# Seconds between SIGTERM and SIGKILL. The apiserver drains for a long time and holds no state;
# etcd gets time to close its database cleanly.
STOP_GRACE = {"etcd": 15, "kube-apiserver": 3, "containerd": 10, "kubelet": 10}


def stop(*names: str) -> list[str]:
    """SIGTERM the named components (if running and ours), wait, SIGKILL stragglers."""
    pids = {}
    for name in names:
        pid = running_pid(name)
        if pid is None:
            _remove(pid_file(name))
        else:
            os.kill(pid, signal.SIGTERM)
            pids[name] = pid
    deadline = {name: time.monotonic() + STOP_GRACE.get(kind(name), 5) for name in pids}
    while pids:
        for name, pid in list(pids.items()):
            _reap(name)
            if running_pid(name) != pid:
                del pids[name]
            elif time.monotonic() > deadline[name]:
                os.kill(pid, signal.SIGKILL)
                deadline[name] = time.monotonic() + 5
        time.sleep(0.05)
    for name in names:
        _remove(pid_file(name))
    return [name for name in names if name in deadline]


def _reap(name: str) -> None:
    proc = _children.get(name)
    if proc is not None and proc.poll() is not None:
        _children.pop(name, None)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ----------------------------------------------------------------------------------------------
# Health


def _ssl_context(client: str | None = "admin", verify: bool = True) -> ssl.SSLContext:
    if verify:
        ctx = ssl.create_default_context(cafile=pki("ca.crt"))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(pki(client + ".crt"), pki(client + ".key"))
    return ctx


def _get(url: str, ctx: ssl.SSLContext | None = None, timeout: float = 2) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (OSError, ssl.SSLError) as err:
        return 0, str(err)


def healthy(name: str) -> tuple[bool, str]:
    """(ok, detail) for one component, asked over its health endpoint."""
    if running_pid(name) is None:
        return False, "not running"
    if name == "etcd":
        code, body = _get("http://127.0.0.1:%d/health" % ETCD_PORT)
        return code == 200 and '"true"' in body, body.strip()[:200]
    if name == "kube-apiserver":
        code, body = _get("https://127.0.0.1:%d/readyz" % APISERVER_PORT, _ssl_context())
        return code == 200, body.strip()[:300]
    if name in ("kube-controller-manager", "kube-scheduler"):
        port = CONTROLLER_MANAGER_PORT if name == "kube-controller-manager" else SCHEDULER_PORT
        code, body = _get("https://127.0.0.1:%d/healthz" % port, _ssl_context(None, verify=False))
        return code == 200, body.strip()[:200]
    if name == "kwok":
        code, body = _get("https://%s:%d/healthz" % (ADVERTISE_ADDRESS, KWOK_PORT), _ssl_context(None, verify=False))
        return code == 200, body.strip()[:200]
    if name == "provisioner":
        try:
            with open(os.path.join(RUN, "provisioner.ready")) as f:
                ok = f.read().strip() == str(running_pid(name))
        except OSError:
            ok = False
        return ok, "ready" if ok else "has not listed claims yet"
    if name == "coredns":  # ready: the kubernetes plugin has synced with the apiserver
        code, body = _get("http://127.0.0.1:%d/ready" % DNS_READY_PORT)
        return code == 200, body.strip()[:200]
    node = real_node(name)
    if node is not None and kind(name) == "containerd":
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            ok = s.connect_ex(node.socket) == 0
        return ok, "listening on " + node.socket if ok else "not answering on " + node.socket
    if node is not None and kind(name) == "kubelet":
        code, body = _get("http://127.0.0.1:%d/healthz" % node.healthz_port)
        return code == 200, body.strip()[:200]
    raise KeyError(name)


def wait_healthy(name: str) -> float:
    started = time.monotonic()
    deadline = started + HEALTH_TIMEOUT[kind(name)]
    detail = ""
    while time.monotonic() < deadline:
        ok, detail = healthy(name)
        if ok:
            return time.monotonic() - started
        proc = _children.get(name)
        if proc is not None and proc.poll() is not None:
            raise LocalkubeError("%s exited with code %s while starting; last lines of %s:\n%s"
                                 % (name, proc.returncode, log_file(name), tail(log_file(name))))
        time.sleep(0.2)
    raise LocalkubeError("%s did not become healthy within %ds (%s); last lines of %s:\n%s"
                         % (name, HEALTH_TIMEOUT[kind(name)], detail, log_file(name), tail(log_file(name))))


# ----------------------------------------------------------------------------------------------
# Cluster objects created once the apiserver answers


def bootstrap_manifest(binaries: str) -> str:
    kustomize = os.path.join(os.path.dirname(binaries), "kustomize")
    docs = []
    for rel in ("rbac/role.yaml", "crd/bases/kwok.x-k8s.io_portforwards.yaml"):
        with open(os.path.join(kustomize, rel)) as f:
            docs.append(f.read().strip().lstrip("-").strip())
    docs.append(json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "localkube:kwok-controller"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kwok-controller"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "kwok-controller"}]}))
    docs.append(json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "localkube:provisioner"},
        "rules": [
            {"apiGroups": [""], "resources": ["persistentvolumes"],
             "verbs": ["get", "list", "watch", "create", "delete", "patch", "update"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims/status"], "verbs": ["patch", "update"]},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["kwok.x-k8s.io"], "resources": ["portforwards"],
             "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
        ]}))
    docs.append(json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "localkube:provisioner"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "localkube:provisioner"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "localkube-provisioner"}]}))
    docs.append(json.dumps({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER_NAME, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True}))
    for i, node in enumerate(NODES):
        docs.append(json.dumps({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node,
                         "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                         "labels": {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "type": "kwok",
                                    "node-role.kubernetes.io/agent": "",
                                    "topology.kubernetes.io/zone": ZONES[i]}},
            "spec": {"taints": [KWOK_TAINT]}}))
    for node in REAL_NODES:
        # Created here (the kubelet then adopts it) so the node IPAM controller gives it a podCIDR
        # before its kubelet starts: the CNI config is written with it.
        docs.append(json.dumps({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node.name,
                         "labels": {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "type": "kubelet",
                                    "topology.kubernetes.io/zone": ZONES[node.index % len(ZONES)]}}}))
    docs.append(json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "localkube:coredns"}, "rules": coredns.CLUSTER_ROLE_RULES}))
    docs.append(json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "localkube:coredns"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "localkube:coredns"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "localkube-coredns"}]}))
    return "\n---\n".join(docs) + "\n"


def kubectl(binaries: str, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([os.path.join(binaries, "kubectl"), "--kubeconfig", KUBECONFIG, *args],
                          input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise LocalkubeError("kubectl %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


def bootstrap(binaries: str) -> None:
    """RBAC for KWOK and the provisioner, KWOK's PortForward CRD, the default StorageClass and the
    3 fake nodes."""
    deadline = time.monotonic() + 30
    while True:
        # Right after a first start the RBAC bootstrap policy may still be settling.
        proc = kubectl(binaries, "apply", "--server-side", "--force-conflicts", "--field-manager", "localkube",
                       "-f", "-", stdin=bootstrap_manifest(binaries), check=False)
        if proc.returncode == 0:
            kubectl(binaries, "wait", "--for=condition=Established", "--timeout=30s",
                    "crd/portforwards.kwok.x-k8s.io")
            return
        if time.monotonic() > deadline:
            raise LocalkubeError("could not create the cluster's base objects: " + proc.stderr.strip())
        time.sleep(0.5)


# ----------------------------------------------------------------------------------------------
# Commands


def cmd_up(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    binaries = bin_dir(build=True)
    states = {name: healthy(name) for name in COMPONENTS}
    net_problems = podnet.problems()
    changed = [name for name in COMPONENTS if states[name][0] and drifted(name, binaries)]
    if all(ok for ok, _detail in states.values()) and not net_problems and not changed:
        pending = nodes_pending(binaries)
        if not pending:
            log("already up and healthy (nothing to do)")
            print_usage(binaries)
            return 0
        log("real nodes: %s" % "; ".join(pending))
    for d in (STATE, LOGS, RUN, VOLUMES):
        os.makedirs(d, exist_ok=True)
    if REAL_NODES and not os.path.exists(HOST_BEFORE):
        clean_stale_nodes()
        # Before anything of ours touches the host: what `reset` must put back.
        hoststate.save(HOST_BEFORE)
    ensure_pki()
    if net_problems:
        podnet.ensure()
    check_ports([name for name in COMPONENTS if running_pid(name) is None])
    started = []
    if changed:
        log("restarting %s: command line changed" % ", ".join(changed))
        stop(*changed)
        for name in changed:
            states[name] = (False, "restarting")
    bootstrapped = False
    for name in COMPONENTS:
        if name not in ("etcd", "kube-apiserver") and not bootstrapped:
            bootstrap(binaries)  # KWOK needs its CRD and RBAC before it starts
            bootstrapped = True
        ok = states[name][0]
        if ok:
            continue
        if not start_unless_recovering(name, binaries):
            continue
        started.append(name)
        # etcd and the apiserver gate everything else; the rest start together.
        if name in ("etcd", "kube-apiserver"):
            took = wait_healthy(name)
            log("%s healthy after %.1fs" % (name, took))
        if name == "kube-apiserver":
            wait_authorizer()
            # A new apiserver answers 403 for its first moments (RBAC caches still cold); clients
            # that were running meanwhile back off for up to 30 s before they list again. Restart
            # them so the cluster is fully usable as soon as `up` returns.
            clients = [c for c in COMPONENTS[COMPONENTS.index(name) + 1:] if running_pid(c) is not None]
            if clients:
                log("restarting the apiserver's clients: %s" % ", ".join(clients))
                stop(*clients)
                for c in clients:
                    states[c] = (False, "restarting")
    for name in started:
        if name not in ("etcd", "kube-apiserver"):
            took = wait_healthy(name)
            log("%s healthy after %.1fs" % (name, took))
    if not bootstrapped:
        bootstrap(binaries)
    started += up_nodes(binaries)
    wait_nodes_ready(binaries)
    log("up in %.1fs (started: %s)" % (time.monotonic() - t0, ", ".join(started) or "nothing"))
    print_usage(binaries)
    return 0


# ----------------------------------------------------------------------------------------------
# Real nodes


def clean_stale_nodes() -> None:
    """Before the first `up` of a state folder: remove what real nodes left behind when their
    processes were killed without `down` (another checkout's cluster, or this one's after its
    folder was deleted): their containers (by cgroup) and the bridge. Refuses while another
    checkout's kubelets run."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0")]
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == "kubelet" and "--root-dir" in argv:
            root = argv[argv.index("--root-dir") + 1]
            if not root.startswith(STATE + os.sep):
                raise LocalkubeError("the real nodes of another checkout run (kubelet pid %s, root dir %s): run "
                                     "`localkube.py down` (or reset) there first" % (pid, root))
    stale = sorted({e for m in hoststate.cgroup_mounts() for e in os.listdir(m) if e.startswith("localkube-node-")})
    for entry in stale:
        hoststate.kill_cgroup("/" + entry)
    if stale or bridge.exists():
        log("removed what earlier real nodes left: %s" % ", ".join(stale + ([bridge.BRIDGE] if bridge.exists() else [])))
    bridge.teardown()


def node_pki(node: nodes.Layout) -> dict[str, str]:
    return {"ca": pki("ca.crt"), "cert": pki(node.name + "-serving.crt"), "key": pki(node.name + "-serving.key")}


def pod_cidrs() -> dict[int, str]:
    """podCIDR of each real node that has one (node index -> CIDR)."""
    found = {}
    for item in _api("GET", "/api/v1/nodes").get("items", []):
        for node in REAL_NODES:
            if item["metadata"]["name"] == node.name and item.get("spec", {}).get("podCIDR"):
                found[node.index] = item["spec"]["podCIDR"]
    return found


def wait_pod_cidrs(timeout: float = 30) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        found = pod_cidrs()
        if len(found) == len(REAL_NODES):
            return found
        if time.monotonic() > deadline:
            raise LocalkubeError("the node IPAM controller gave no podCIDR to %s within %ds; see %s"
                                 % ([n.name for n in REAL_NODES if n.index not in found], timeout,
                                    log_file("kube-controller-manager")))
        time.sleep(0.2)


IMAGE_REFS = {"pause": SANDBOX_IMAGE, "tools": "localhost/statefuldb/tools:1",
              "mariadb-10.11": "localhost/statefuldb/mariadb:10.11", "mariadb-11.8": "localhost/statefuldb/mariadb:11.8",
              "mysql-9.7": "localhost/statefuldb/mysql:9.7"}


def cached_images(build: bool) -> list[tuple[str, str]]:
    """(ref, tar) of the cached images; with `build`, builds the missing ones first (images.py,
    once; a failed build keeps what is cached and only fails `up` without a pause image)."""
    if not os.path.exists(IMAGES_PY):
        log("warning: %s is missing: no images to import (pods cannot start)" % IMAGES_PY)
        return []
    listed = nodes.images_to_import(IMAGES_PY)
    missing = [name for name in IMAGES if IMAGE_REFS[name] not in {ref for ref, _tar in listed}]
    if build and missing:
        log("building images (once, cached): %s" % ", ".join(missing))
        proc = subprocess.run([sys.executable, IMAGES_PY, "build", *missing], check=False)
        listed = nodes.images_to_import(IMAGES_PY)
        if proc.returncode != 0:
            if SANDBOX_IMAGE not in {ref for ref, _tar in listed}:
                raise LocalkubeError("images.py build failed and there is no pause image; see its messages above")
            log("warning: images.py build failed (see above); going on with the cached images")
    return listed


def nodes_pending(binaries: str) -> list[str]:
    """Why the real nodes are not complete (empty when nothing is to do); asked when the
    control plane is healthy."""
    if not REAL_NODES:
        return []
    reasons = [name + " not healthy" for name in NODE_COMPONENTS if not healthy(name)[0]]
    reasons += [name + " command line changed" for name in NODE_COMPONENTS if drifted(name, binaries)]
    if reasons:
        return reasons
    cidrs = pod_cidrs()
    if len(cidrs) != len(REAL_NODES):
        return ["a real node has no podCIDR"]
    reasons += bridge.problems(len(REAL_NODES), cidrs)
    for node in REAL_NODES:
        reasons += ["%s: %s changed" % (node.name, what) for what in
                    nodes.prepare(node, node_pki(node), SANDBOX_IMAGE, cidrs[node.index], dry_run=True)]
    # Images missing from the cache are built by a full `up` (a fresh machine's first); a failed
    # build is not retried by every `up` of a healthy cluster.
    images = cached_images(build=False)
    for node in REAL_NODES:
        if nodes.pending_images(node, images):
            reasons.append("%s: images to import" % node.name)
    return reasons


def start_unless_recovering(name: str, binaries: str) -> bool:
    """Start an unhealthy component; True when it was (re)started, False when it recovered by itself.

    A process that is alive but not answering gets its full start-up time before it is replaced."""
    pid = running_pid(name)
    if pid is not None:
        try:
            wait_healthy(name)
            return False
        except LocalkubeError:
            log("%s (pid %d) is not healthy; restarting it" % (name, pid))
            stop(name)
    log("starting %s" % name)
    start(name, binaries)
    return True


def ensure_started(names: list[str], binaries: str) -> list[str]:
    """Start the named components that are not healthy (waiting out a live but slow one first),
    then wait until all are healthy. Returns those started."""
    started = []
    for name in names:
        if healthy(name)[0]:
            continue
        if not start_unless_recovering(name, binaries):
            continue
        started.append(name)
    for name in started:
        took = wait_healthy(name)
        log("%s healthy after %.1fs" % (name, took))
    return started


def up_nodes(binaries: str) -> list[str]:
    """CoreDNS, the bridge and the 3 real nodes: configs, cgroups, images, processes."""
    if not REAL_NODES:
        return []
    cidrs = wait_pod_cidrs()
    bridge.ensure(len(REAL_NODES), cidrs)
    restart = []
    if coredns.write_corefile(os.path.join(STATE, "Corefile"), bridge.HOST_IP, DNS_HEALTH_PORT, DNS_READY_PORT,
                              pki("coredns.kubeconfig")):
        restart.append("coredns")
    images = cached_images(build=True)
    for node in REAL_NODES:
        for what in nodes.prepare(node, node_pki(node), SANDBOX_IMAGE, cidrs[node.index]):
            if what in ("containerd", "kubelet"):
                restart.append(node.component(what))
    restart += [name for name in NODE_COMPONENTS if drifted(name, binaries)]
    restart = [name for name in dict.fromkeys(restart) if running_pid(name) is not None]
    if restart:
        log("restarting %s: configuration changed" % ", ".join(restart))
        stop(*restart)
    started = ensure_started(["coredns"] + CONTAINERDS, binaries)
    t0 = time.monotonic()
    imported = nodes.import_images_everywhere(REAL_NODES, images)
    if any(imported.values()):
        log("imported images in %.1fs: %s" % (time.monotonic() - t0, "; ".join(
            "%s: %s" % (n, ", ".join(refs)) for n, refs in sorted(imported.items()) if refs)))
    # One kubelet at a time: every kubelet binds the same device-plugin socket
    # (/var/lib/kubelet/device-plugins/kubelet.sock, fixed in the kubelet whatever its --root-dir),
    # and two starting together can both remove the file and then one fails to bind it and exits.
    for kubelet in KUBELETS:
        for attempt in range(KUBELET_RACE_RESTARTS + 1):
            try:
                started += ensure_started([kubelet], binaries)
                break
            except LocalkubeError:
                if not lost_socket_race(kubelet) or attempt == KUBELET_RACE_RESTARTS:
                    raise
                log("%s lost the device-plugin socket to another kubelet; starting it again" % kubelet)
    return started


# The kubelet's container manager starts after its health endpoint answers, so a kubelet that lost
# the device-plugin socket race can exit after `ensure_started`; wait_nodes_ready starts it again.
SOCKET_RACE = "device-plugins/kubelet.sock: bind: address already in use"
KUBELET_RACE_RESTARTS = 3


def lost_socket_race(name: str) -> bool:
    """The kubelet is not running and its last start ended on the device-plugin socket."""
    last_run = tail(log_file(name), 60).rsplit("==== ", 1)[-1]
    return running_pid(name) is None and SOCKET_RACE in last_run


def restart_kubelet_lost_socket_race(binaries: str, restarts: dict[str, int]) -> None:
    for name in KUBELETS:
        if lost_socket_race(name) and restarts.get(name, 0) < KUBELET_RACE_RESTARTS:
            restarts[name] = restarts.get(name, 0) + 1
            log("%s lost the device-plugin socket to another kubelet; starting it again" % name)
            start(name, binaries)


def wait_authorizer(timeout: float = 30) -> None:
    """Wait until RBAC answers for a non-admin user (the scheduler, whose role is bootstrap
    policy): only then are the RBAC caches warm."""
    deadline = time.monotonic() + timeout
    url = "https://127.0.0.1:%d/api/v1/pods?limit=1" % APISERVER_PORT
    while True:
        code, body = _get(url, _ssl_context("kube-scheduler"))
        if code == 200:
            return
        if time.monotonic() > deadline:
            raise LocalkubeError("kube-apiserver does not authorize requests (%s %s); last lines of %s:\n%s"
                                 % (code, body[:200], log_file("kube-apiserver"), tail(log_file("kube-apiserver"))))
        time.sleep(0.1)


def wait_nodes_ready(binaries: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    restarts: dict[str, int] = {}
    while True:
        restart_kubelet_lost_socket_race(binaries, restarts)
        proc = kubectl(binaries, "get", "nodes", "-o", "json", check=False)
        ready = []
        if proc.returncode == 0:
            for item in json.loads(proc.stdout).get("items", []):
                conds = {c["type"]: c["status"] for c in item.get("status", {}).get("conditions", [])}
                if conds.get("Ready") == "True" and item.get("spec", {}).get("podCIDR"):
                    ready.append(item["metadata"]["name"])
        if all(n in ready for n in NODES + [r.name for r in REAL_NODES]):
            return
        if time.monotonic() > deadline:
            late = next((r for r in REAL_NODES if r.name not in ready), None)
            which = late.component("kubelet") if late else "kwok"
            raise LocalkubeError("nodes not Ready with a podCIDR within %ds (ready: %s); last lines of %s:\n%s"
                                 % (timeout, ready, log_file(which), tail(log_file(which))))
        time.sleep(0.3)


def print_usage(binaries: str) -> None:
    print("""
The local cluster is running.
  export KUBECONFIG=%(kubeconfig)s
  export PATH=%(bin)s:$PATH      # the pinned kubectl (and crictl)
  real nodes: %(real)s (containerd + kubelet; images localhost/statefuldb/*, nothing is pulled)
  KWOK nodes: %(nodes)s (no containers run; tainted %(taint)s)
  cluster DNS: %(dns)s:53 (CoreDNS, cluster.local)   no kube-proxy: use pod IPs / headless Services
  default StorageClass: %(sc)s (hostPath volumes in %(volumes)s/<pv-name>/, expandable)
  pod IPs: %(cidr)s, a /24 per node; real pods on bridge %(bridge)s
  apiserver https://127.0.0.1:%(port)d   logs: %(logs)s/
  stop: make cluster-down   wipe: make cluster-reset
""" % {"kubeconfig": KUBECONFIG, "bin": binaries, "nodes": ", ".join(NODES), "sc": STORAGE_CLASS,
       "real": ", ".join(n.name for n in REAL_NODES), "taint": "%(key)s=%(value)s:%(effect)s" % KWOK_TAINT,
       "dns": bridge.HOST_IP, "bridge": bridge.BRIDGE,
       "volumes": VOLUMES, "cidr": CLUSTER_CIDR, "port": APISERVER_PORT, "logs": LOGS},
        flush=True)


def cmd_down(args: argparse.Namespace) -> int:
    # Kubelets first (else they recreate what we remove), then every pod through CRI (CNI gives
    # the IPs back, containerd unmounts), then the runtimes and DNS, then the control plane.
    stopped = stop(*KUBELETS)
    crictl = os.path.join(bin_dir(build=False), "crictl")
    for node in REAL_NODES:
        if running_pid(node.component("containerd")) is not None and os.path.exists(crictl):
            out = nodes.remove_all_pods(node, crictl)
            if out:
                log("%s: %s" % (node.name, out.replace("\n", "; ")[:300]))
    stopped += stop(*CONTAINERDS) + stop("coredns")
    stopped += stop("provisioner", "kwok", "kube-scheduler", "kube-controller-manager")
    stopped += stop("kube-apiserver") + stop("etcd")
    log("stopped: %s" % (", ".join(stopped) or "nothing was running"))
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    cmd_down(args)
    for node in REAL_NODES:
        hoststate.kill_cgroup(node.cgroup)  # containers whose containerd was gone
    unmounted = hoststate.unmount_under(STATE, *{os.path.dirname(n.containerd_root) for n in REAL_NODES})
    if unmounted:
        log("unmounted %d mounts under %s" % (len(unmounted), STATE))
    if REAL_NODES:  # a second, KWOK-only instance touches none of this
        bridge.teardown()
        undone = hoststate.restore(hoststate.load(HOST_BEFORE))
        if undone:
            log("host restored: %s" % "; ".join(undone))
    podnet.teardown()
    if os.path.isdir(STATE):
        shutil.rmtree(STATE)
    log("removed %s, the bridge, the nodes' cgroups and the pod network (the nodes' image stores under %s are a "
        "cache and stay)" % (STATE, CACHE))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    binaries = bin_dir(build=False)
    all_ok = True
    for name in ALL_COMPONENTS:
        ok, detail = healthy(name)
        all_ok &= ok
        pid = running_pid(name)
        print("%-24s %-9s %s" % (name, "healthy" if ok else "DOWN", ("pid %d" % pid) if pid else detail))
    net = podnet.problems()
    all_ok &= not net
    print("%-24s %-9s %s" % ("pod network", "healthy" if not net else "DOWN", "; ".join(net) or podnet.NETNS))
    br = bridge.problems(len(REAL_NODES)) if REAL_NODES else []
    all_ok &= not br
    print("%-24s %-9s %s" % ("bridge", "healthy" if not br else "DOWN", "; ".join(br) or bridge.BRIDGE))
    if healthy("kube-apiserver")[0]:
        items = _api("GET", "/api/v1/nodes").get("items", [])
        for item in sorted(items, key=lambda i: i["metadata"]["name"]):
            conds = {c["type"]: c["status"] for c in item.get("status", {}).get("conditions", [])}
            ready = conds.get("Ready") == "True"
            real = item["metadata"]["name"] in [n.name for n in REAL_NODES]
            all_ok &= ready or not real
            print("node %-19s %-9s %s, podCIDR %s" % (
                item["metadata"]["name"], "Ready" if ready else "NotReady", "kubelet" if real else "KWOK (fake)",
                item.get("spec", {}).get("podCIDR")))
    print("bin dir: %s" % binaries)
    print("kubeconfig: %s" % KUBECONFIG)
    print("cluster: %s" % ("healthy" if all_ok else "NOT healthy (run: python3 tools/localkube/localkube.py up)"))
    return 0 if all_ok else 1


def _api(method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (APISERVER_PORT, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=_ssl_context(), timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


BENCH_MANIFEST = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
     "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
     "spec": {"serviceName": "web", "replicas": 3, "podManagementPolicy": "OrderedReady",
              "selector": {"matchLabels": {"app": "web"}},
              "template": {"metadata": {"labels": {"app": "web"}},
                           "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/nginx-slim:0.27",
                                                    "volumeMounts": [{"name": "www", "mountPath": "/www"}]}]}},
              "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                        "spec": {"accessModes": ["ReadWriteOnce"],
                                                 "resources": {"requests": {"storage": "1Gi"}}}}]}},
]


def statefulset_floor(run: int) -> float:
    """Seconds from creating the headless Service + 3-replica OrderedReady StatefulSet (with claim
    templates) to readyReplicas == 3, in a fresh namespace (deleted afterwards)."""
    ns = "localkube-bench-%d-%d" % (os.getpid(), run)
    _api("POST", "/api/v1/namespaces", {"metadata": {"name": ns, "annotations": KWOK_NAMESPACE_ANNOTATIONS}})
    try:
        started = time.monotonic()
        _api("POST", "/api/v1/namespaces/%s/services" % ns, BENCH_MANIFEST[0])
        _api("POST", "/apis/apps/v1/namespaces/%s/statefulsets" % ns, BENCH_MANIFEST[1])
        while True:
            sts = _api("GET", "/apis/apps/v1/namespaces/%s/statefulsets/web" % ns)
            if sts.get("status", {}).get("readyReplicas") == 3:
                return time.monotonic() - started
            if time.monotonic() - started > 120:
                raise LocalkubeError("the bench StatefulSet did not become Ready within 120s (namespace %s)" % ns)
            time.sleep(0.02)
    finally:
        _api("DELETE", "/api/v1/namespaces/" + ns)


# Each database image as a one-container pod: initialise an empty data directory, start the
# server, Ready when `ping` answers (the same exec probe a database pod has).
# The images run as their mysql user (no root, no chown); /run/mysqld is open to it.
MARIADB_START = ("mariadb-install-db --datadir=/data --auth-root-authentication-method=normal --skip-test-db "
                 ">/dev/null && exec mariadbd --datadir=/data")
BENCH_DB = {
    "mariadb:10.11": (MARIADB_START, "mariadb-admin ping"),
    "mariadb:11.8": (MARIADB_START, "mariadb-admin ping"),
    "mysql:9.7": ("mysqld --initialize-insecure --datadir=/data && exec mysqld --datadir=/data --mysqlx=OFF",
                  "mysqladmin ping"),
}


def db_container(tag: str) -> dict:
    script, probe = BENCH_DB[tag]
    return {"name": "db", "image": "localhost/statefuldb/" + tag, "imagePullPolicy": "Never",
            "command": ["sh", "-c", script],
            "readinessProbe": {"exec": {"command": probe.split()}, "periodSeconds": 1},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}


def _wait(path: str, done, what: str, timeout: float = 300) -> float:
    started = time.monotonic()
    while True:
        if done(_api("GET", path)):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise LocalkubeError("%s not done within %ds (%s)" % (what, timeout, path))
        time.sleep(0.05)


def real_pod_floor(tag: str) -> float:
    """Seconds from creating a pod of a database image (empty data) to Ready, on a real node."""
    ns = "localkube-bench-real-%s" % os.urandom(4).hex()
    _api("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    try:
        started = time.monotonic()
        _api("POST", "/api/v1/namespaces/%s/pods" % ns, {"metadata": {"name": "db"}, "spec": {
            "terminationGracePeriodSeconds": 1, "containers": [db_container(tag)],
            "volumes": [{"name": "data", "emptyDir": {}}]}})
        _wait("/api/v1/namespaces/%s/pods/db" % ns, lambda p: any(
            c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", [])),
            "pod of %s Ready" % tag)
        return time.monotonic() - started
    finally:
        _api("DELETE", "/api/v1/namespaces/" + ns)


def real_statefulset_floor() -> float:
    """Seconds from `apply` of a headless Service + 3-replica OrderedReady StatefulSet of MariaDB
    11.8 (claims from the default StorageClass) to all 3 Ready, on the real nodes."""
    ns = "localkube-bench-sts-%s" % os.urandom(4).hex()
    _api("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    try:
        started = time.monotonic()
        _api("POST", "/api/v1/namespaces/%s/services" % ns, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"name": "mysql", "port": 3306}]}})
        _api("POST", "/apis/apps/v1/namespaces/%s/statefulsets" % ns, {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"serviceName": "db", "replicas": 3, "podManagementPolicy": "OrderedReady",
                     "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"terminationGracePeriodSeconds": 1,
                                           "containers": [db_container("mariadb:11.8")]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
        _wait("/apis/apps/v1/namespaces/%s/statefulsets/db" % ns,
              lambda s: s.get("status", {}).get("readyReplicas") == 3, "MariaDB StatefulSet Ready")
        return time.monotonic() - started
    finally:
        _api("DELETE", "/api/v1/namespaces/" + ns)


def node_restart_seconds(node: nodes.Layout, binaries: str) -> float:
    """Seconds from starting a stopped node (its containerd and kubelet, state kept) to the
    kubelet reporting Ready again with a fresh heartbeat."""
    stop(node.component("kubelet"), node.component("containerd"))
    started = time.monotonic()
    start(node.component("containerd"), binaries)
    wait_healthy(node.component("containerd"))
    start(node.component("kubelet"), binaries)
    since = time.time() - 1

    def ready(item: dict) -> bool:
        for cond in item.get("status", {}).get("conditions", []):
            if cond["type"] == "Ready" and cond["status"] == "True":
                beat = time.mktime(time.strptime(cond["lastHeartbeatTime"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
                return beat >= since
        return False

    _wait("/api/v1/nodes/" + node.name, ready, "node %s Ready" % node.name, timeout=120)
    return time.monotonic() - started


def cmd_bench(args: argparse.Namespace) -> int:
    binaries = bin_dir(build=True)
    seconds_file = os.path.join(os.path.dirname(binaries), "logs", "build-seconds")
    try:
        with open(seconds_file) as f:
            cold = "%ss (recorded %s)" % (f.read().strip(), time.strftime(
                "%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(seconds_file))))
    except OSError:
        cold = "not recorded (built before build.sh kept timings)"
    print("cold build (go mod download + compile, empty caches): %s" % cold, flush=True)
    log("bench: stopping the cluster to time a warm start (other users see a short outage)")
    cmd_down(args)
    started = time.monotonic()
    with open(os.devnull, "w") as quiet:
        saved, sys.stdout = sys.stdout, quiet
        try:
            cmd_up(args)
        finally:
            sys.stdout = saved
    warm = time.monotonic() - started
    floors = [statefulset_floor(i) for i in range(3)]
    print("warm start (down, then up until all components healthy and nodes Ready): %.1fs" % warm)
    print("KWOK: 3-replica OrderedReady StatefulSet with claims, create -> all 3 Ready: %s (min %.2fs)"
          % (", ".join("%.2fs" % f for f in floors), min(floors)), flush=True)
    print("real node restart (containerd + kubelet started -> node Ready): %.1fs"
          % node_restart_seconds(REAL_NODES[-1], binaries), flush=True)
    for tag in BENCH_DB:
        print("real node: pod of %s (empty data dir) create -> Ready: %.1fs" % (tag, real_pod_floor(tag)), flush=True)
    print("real nodes: 3-replica OrderedReady StatefulSet of MariaDB 11.8 with claims, apply -> all 3 Ready: %.1fs"
          % real_statefulset_floor(), flush=True)
    return 0


_lock_file = None


def _lock() -> None:
    """One localkube.py at a time changes the cluster (test sessions of several helpers may call
    `up` together); the others wait here, then usually find it healthy."""
    global _lock_file  # pylint: disable=global-statement
    os.makedirs(STATE, exist_ok=True)
    _lock_file = open(os.path.join(STATE, ".lock"), "w")  # pylint: disable=consider-using-with
    try:
        fcntl.flock(_lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("waiting for another localkube.py to finish")
        fcntl.flock(_lock_file, fcntl.LOCK_EX)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localkube.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
            ("up", cmd_up, "build once, start what is not running, wait for health"),
            ("down", cmd_down, "stop the processes localkube started (state kept)"),
            ("reset", cmd_reset, "down, then delete .localkube and the pod network"),
            ("status", cmd_status, "health of each component (exit 1 if any is down)"),
            ("bench", cmd_bench, "cold build time, warm start time, StatefulSet floor")):
        sub.add_parser(name, help=help_text).set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        if args.command != "status":
            _lock()
        return args.func(args)
    except (LocalkubeError, nodes.NodeError) as err:
        print("localkube: ERROR: %s" % err, file=sys.stderr, flush=True)
        return 1
    except bridge.BridgeError as err:
        print("localkube: ERROR: the bridge %s of the real nodes could not be set up: %s" % (bridge.BRIDGE, err),
              file=sys.stderr, flush=True)
        return 1
    except podnet.PodNetError as err:
        print("localkube: ERROR: the pod network (network namespace %s) could not be set up: %s\n"
              "It needs root (CAP_NET_ADMIN) and iproute2 (`ip`)." % (podnet.NETNS, err), file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
