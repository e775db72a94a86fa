# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real kubelet nodes: per node one containerd (Debian's containerd 1.6 + runc + CNI plugins) and
one kubelet (built by build.sh), all on the bridge of bridge.py.

Everything a node owns lives under <state>/nodes/<name>/ (containerd state and socket, CNI
config and host-local IPAM data, kubelet root dir, pod logs, certificates, configs). The image
store (containerd's root: content + unpacked snapshots) lives in the cache,
~/.cache/statefuldb-localkube/containerd/<name>/, so that `reset` does not throw away gigabytes
of imported images; see images_to_import().

The settings below are the ones these machines need (see shared/REAL-NODES.md): cgroup v1 with
the cgroupfs driver, `restrict_oom_score_adj` (no CAP_SYS_RESOURCE), no AppArmor, a per-node
cgroupRoot that exists in every v1 hierarchy, no iptables chains, no swap check.

Nothing is pulled: containerd gets an unreachable proxy (127.0.0.1:9) for every registry, so a
pod whose image was not imported fails with ErrImagePull at once instead of reaching out.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading

import bridge

CGROUP_ROOT = "/sys/fs/cgroup"
CTR = "ctr"
UNREACHABLE_PROXY = "http://127.0.0.1:9"
CNI_BIN_DIR = "/usr/lib/cni"
NODE_PREFIX = "node-"


class NodeError(RuntimeError):
    """A node could not be prepared; the message says which and why."""


class Layout:
    """Paths and ports of one real node (index i, name node-i)."""

    def __init__(self, state: str, cache: str, index: int, port_offset: int = 0):
        self.index = index
        self.name = "%s%d" % (NODE_PREFIX, index)
        self.dir = os.path.join(state, "nodes", self.name)
        self.ip = bridge.node_ip(index)
        self.kubelet_port = 10250  # on the node's own address
        self.healthz_port = 16270 + index + port_offset  # on 127.0.0.1
        self.cgroup = "/localkube-" + self.name
        self.containerd_root = os.path.join(cache, "containerd", self.name)
        self.containerd_state = os.path.join(self.dir, "containerd")
        self.socket = os.path.join(self.dir, "containerd.sock")
        self.containerd_config = os.path.join(self.dir, "containerd.toml")
        self.cni_conf_dir = os.path.join(self.dir, "cni", "net.d")
        self.cni_data_dir = os.path.join(self.dir, "cni", "ipam")
        self.kubelet_root = os.path.join(self.dir, "kubelet")
        self.kubelet_config = os.path.join(self.dir, "kubelet.yaml")
        self.kubeconfig = os.path.join(self.dir, "kubelet.kubeconfig")
        self.pod_logs = os.path.join(self.dir, "pod-logs")
        self.volume_plugins = os.path.join(self.dir, "volume-plugins")
        self.resolv_conf = os.path.join(self.dir, "resolv.conf")
        self.imported = os.path.join(self.dir, "imported-images.json")

    def component(self, kind: str) -> str:
        """Component names as localkube.py knows them: containerd-node-0, kubelet-node-0."""
        return "%s-%s" % (kind, self.name)


def write_if_changed(path: str, text: str, dry_run: bool = False) -> bool:
    """Write if different; True when the file changed (or would change, with dry_run)."""
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    if dry_run:
        return True
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


# ----------------------------------------------------------------------------------------------
# containerd


def containerd_config(node: Layout, sandbox_image: str) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "\n".join([
        "version = 2",
        'root = "%s"' % node.containerd_root,
        'state = "%s"' % node.containerd_state,
        # The plugins this node does not use stay off (no /var/lib/containerd, /opt/containerd).
        'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", '
        '"io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", '
        '"io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]',
        "[grpc]",
        '  address = "%s"' % node.socket,
        "[ttrpc]",
        '  address = "%s.ttrpc"' % node.socket,
        "[debug]",
        '  address = ""',
        '  level = "warn"',
        "[metrics]",
        '  address = ""',
        "[%s]" % cri,
        '  sandbox_image = "%s"' % sandbox_image,
        # The machine lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc.
        "  restrict_oom_score_adj = true",
        "  disable_apparmor = true",
        "  netns_mounts_under_state_dir = true",
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        "  enable_selinux = false",
        "[%s.containerd]" % cri,
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        "[%s.containerd.runtimes.runc]" % cri,
        '  runtime_type = "io.containerd.runc.v2"',
        "[%s.containerd.runtimes.runc.options]" % cri,
        "  SystemdCgroup = false",
        "[%s.cni]" % cri,
        '  bin_dir = "%s"' % CNI_BIN_DIR,
        '  conf_dir = "%s"' % node.cni_conf_dir,
        "  max_conf_num = 1",
        "",
    ])


def containerd_command(node: Layout) -> list[str]:
    return ["containerd", "--config", node.containerd_config]


def containerd_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env.update({"HTTP_PROXY": UNREACHABLE_PROXY, "HTTPS_PROXY": UNREACHABLE_PROXY, "NO_PROXY": ""})
    return env


def cni_config(node: Layout, pod_cidr: str) -> str:
    """Bridge CNI, host-local IPAM: addresses from the node's /24, with the /16 as prefix so all
    pods and the host's bridge addresses are on-link (no gateway, no forwarding, no NAT)."""
    first, _slash, _bits = pod_cidr.partition("/")
    base = first.rsplit(".", 1)[0]
    return json.dumps({
        "cniVersion": "0.4.0", "name": "localkube-" + node.name,
        "plugins": [
            {"type": "bridge", "bridge": bridge.BRIDGE, "isGateway": False, "isDefaultGateway": False,
             "ipMasq": False, "hairpinMode": True, "promiscMode": False,
             "ipam": {"type": "host-local", "dataDir": node.cni_data_dir,
                      "ranges": [[{"subnet": bridge.POD_CIDR, "rangeStart": base + ".2",
                                   "rangeEnd": base + ".254", "gateway": bridge.HOST_IP}]]}},
            {"type": "loopback"},
        ]}, indent=1) + "\n"


# ----------------------------------------------------------------------------------------------
# kubelet


def kubelet_config(node: Layout, ca_file: str, cert: str, key: str) -> str:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "address": node.ip, "port": node.kubelet_port, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": node.healthz_port,
        "tlsCertFile": cert, "tlsPrivateKeyFile": key,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": ca_file}},
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": "unix://" + node.socket,
        # cgroup v1 hybrid host, no systemd as init: cgroupfs, and 1.35 must be told v1 is fine.
        "cgroupDriver": "cgroupfs", "failCgroupV1": False, "cgroupRoot": node.cgroup,
        "cgroupsPerQOS": True, "failSwapOn": False, "makeIPTablesUtilChains": False,
        "clusterDomain": "cluster.local", "clusterDNS": [bridge.HOST_IP], "resolvConf": node.resolv_conf,
        "podLogsDir": node.pod_logs, "volumePluginDir": node.volume_plugins,
        "registerNode": True, "maxPods": 110, "serializeImagePulls": False,
        # The disk is big but shared: absolute thresholds, never the default percentages.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1Gi",
                         "imagefs.available": "1Gi", "nodefs.inodesFree": "1%"},
        # Imported images cannot be pulled again: never garbage-collect them.
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "nodeStatusUpdateFrequency": "5s", "syncFrequency": "10s",
        "fileCheckFrequency": "20s", "httpCheckFrequency": "20s",
        "shutdownGracePeriod": "0s", "rotateCertificates": False, "serverTLSBootstrap": False,
        "containerLogMaxSize": "10Mi", "containerLogMaxFiles": 2,
    }
    return json.dumps(config, indent=1) + "\n"


def kubelet_command(binaries: str, node: Layout, zone: str) -> list[str]:
    return [os.path.join(binaries, "kubelet"), "--config", node.kubelet_config, "--kubeconfig", node.kubeconfig,
            "--root-dir", node.kubelet_root, "--cert-dir", os.path.join(node.dir, "pki"),
            "--hostname-override", node.name, "--node-ip", node.ip,
            "--node-labels", "topology.kubernetes.io/zone=%s,type=kubelet" % zone, "--v", "1"]


# ----------------------------------------------------------------------------------------------
# Preparing a node before its processes start


def v1_hierarchies() -> list[str]:
    """Mount points of the cgroup v1 hierarchies (and the v2 one of a hybrid host)."""
    found = []
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2] in ("cgroup", "cgroup2") and parts[1].startswith(CGROUP_ROOT + "/"):
                found.append(parts[1])
    return found


def ensure_cgroup(node: Layout) -> None:
    """The kubelet's cgroupRoot must exist in every hierarchy ("cgroup [...] has some missing
    paths"); a new cpuset starts empty, so it gets its parent's CPUs and memory nodes."""
    for mount in v1_hierarchies():
        path = mount + node.cgroup
        if os.path.isdir(path):
            continue
        os.mkdir(path)
        if os.path.basename(mount) == "cpuset":
            for name in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(mount, name)) as f:
                    value = f.read().strip()
                with open(os.path.join(path, name), "w") as f:
                    f.write(value)


def prepare(node: Layout, pki: dict[str, str], sandbox_image: str, pod_cidr: str,
            dry_run: bool = False) -> list[str]:
    """Directories, configs and the cgroup of one node. Returns what changed: "containerd",
    "kubelet" (the caller restarts that process if it runs), "cni" (containerd reloads it by
    itself), "cgroup". With dry_run, only says what would change."""
    changed = []
    if dry_run:
        missing_cgroup = any(not os.path.isdir(m + node.cgroup) for m in v1_hierarchies())
        for name, path, text in node_files(node, pki, sandbox_image, pod_cidr):
            if write_if_changed(path, text, dry_run=True):
                changed.append(name)
        return changed + (["cgroup"] if missing_cgroup else [])
    for d in (node.dir, node.containerd_root, node.containerd_state, node.cni_conf_dir, node.cni_data_dir,
              node.kubelet_root, node.pod_logs, node.volume_plugins, os.path.join(node.dir, "pki")):
        os.makedirs(d, exist_ok=True)
    ensure_cgroup(node)
    for name, path, text in node_files(node, pki, sandbox_image, pod_cidr):
        if write_if_changed(path, text):
            changed.append(name)
    return changed


def node_files(node: Layout, pki: dict[str, str], sandbox_image: str, pod_cidr: str) -> list[tuple[str, str, str]]:
    """(what, path, content) of the files a node's processes read."""
    return [
        ("containerd", node.containerd_config, containerd_config(node, sandbox_image)),
        # containerd watches conf_dir and picks up a changed CNI config without a restart.
        ("cni", os.path.join(node.cni_conf_dir, "10-localkube.conflist"), cni_config(node, pod_cidr)),
        ("kubelet", node.kubelet_config, kubelet_config(node, pki["ca"], pki["cert"], pki["key"])),
        ("kubelet", node.resolv_conf, "nameserver %s\noptions ndots:5\n" % bridge.HOST_IP),
    ]


# ----------------------------------------------------------------------------------------------
# Images


def ctr(node: Layout, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([CTR, "--address", node.socket, "--namespace", "k8s.io", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def images_to_import(images_py: str) -> list[tuple[str, str]]:
    """(ref, tar path) of every image the image builder has cached (`images.py list`)."""
    if not os.path.exists(images_py):
        return []
    proc = subprocess.run(["python3", images_py, "list"], capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise NodeError("`%s list` failed: %s" % (images_py, proc.stderr.strip()[-500:]))
    out = []
    for line in proc.stdout.splitlines():
        if "\t" in line:
            ref, tar = line.split("\t", 1)
            out.append((ref.strip(), tar.strip()))
    return out


def pending_images(node: Layout, images: list[tuple[str, str]]) -> list[str]:
    """Refs whose tar changed since this node imported them (or that it never imported)."""
    try:
        with open(node.imported) as f:
            done = json.load(f)
    except (OSError, ValueError):
        done = {}
    pending = []
    for ref, tar in images:
        try:
            st = os.stat(tar)
        except OSError:
            continue
        if done.get(ref) != "%d:%d" % (st.st_size, int(st.st_mtime)):
            pending.append(ref)
    return pending


def import_images(node: Layout, images: list[tuple[str, str]]) -> list[str]:
    """Import every cached image this node's containerd does not have yet (or whose tar changed
    since it was imported). Returns the refs imported. Quick when nothing changed."""
    try:
        with open(node.imported) as f:
            done = json.load(f)
    except (OSError, ValueError):
        done = {}
    have = None
    imported = []
    for ref, tar in images:
        try:
            st = os.stat(tar)
        except OSError:
            continue
        stamp = "%d:%d" % (st.st_size, int(st.st_mtime))
        if done.get(ref) == stamp:
            if have is None:
                have = set(ctr(node, "images", "ls", "-q").stdout.split())
            if ref in have:
                continue
        proc = ctr(node, "images", "import", tar)
        if proc.returncode != 0:
            raise NodeError("importing %s (%s) into %s failed: %s" % (ref, tar, node.name, proc.stderr.strip()[-500:]))
        done[ref] = stamp
        imported.append(ref)
        write_if_changed(node.imported, json.dumps(done, indent=1, sort_keys=True) + "\n")
    return imported


def import_images_everywhere(nodes: list[Layout], images: list[tuple[str, str]]) -> dict[str, list[str]]:
    """import_images on all nodes at once (one thread per node). Raises the first failure."""
    results: dict[str, list[str]] = {}
    errors: list[Exception] = []

    def run(node: Layout) -> None:
        try:
            results[node.name] = import_images(node, images)
        except (NodeError, subprocess.TimeoutExpired) as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise NodeError(str(errors[0]))
    return results


# ----------------------------------------------------------------------------------------------
# Stopping


def remove_all_pods(node: Layout, crictl: str) -> str:
    """Stop and remove every pod sandbox of this node through CRI, so CNI releases the pod IPs
    and deletes the veths, and containerd unmounts the rootfs. containerd must be running."""
    if not os.path.exists(node.socket):
        return "no socket"
    proc = subprocess.run([crictl, "--runtime-endpoint", "unix://" + node.socket, "--timeout", "30s",
                           "rmp", "--all", "--force"], capture_output=True, text=True, timeout=180, check=False)
    # crictl warns that /etc/crictl.yaml does not exist: we pass the endpoint instead.
    return "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                     if line.strip() and "crictl.yaml" not in line)
