# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bridge of the real kubelet nodes: one Linux bridge that every node's pods sit on.

* bridge ``sdbbr0`` carries, as /32s, the host's address for the pods (10.244.255.1: CoreDNS
  listens there) and one address per node (10.244.255.11, .12, ...: each kubelet serves its API
  on its own node address, which is the Node's InternalIP);
* a host route per real node, ``<node podCIDR> dev sdbbr0 src 10.244.255.1``: more specific than
  the /16 that podnet.py sends into the KWOK namespace, so the host reaches real pods directly;
* the bridge CNI plugin (one config per node, written by nodes.py) puts each pod on the bridge
  with ``isGateway: false`` and ``ipMasq: false``: it never sets an address on the bridge, never
  turns on IP forwarding and never adds NAT rules. Pods get their address as a /16 out of the
  node's /24 (host-local IPAM), so every other pod and the host addresses above are on-link:
  pod-to-pod and pod-to-host traffic stays on this one bridge, and pods have no default route,
  so nothing they send can leave the machine.

Needs root (CAP_NET_ADMIN) and iproute2. Standard library only.
"""
from __future__ import annotations

import subprocess

BRIDGE = "sdbbr0"
HOST_IP = "10.244.255.1"
NODE_IP_BASE = 11  # node i has 10.244.255.(11 + i)
POD_CIDR = "10.244.0.0/16"


class BridgeError(RuntimeError):
    """Setting up the bridge failed; the message says which command and why."""


def node_ip(index: int) -> str:
    return "10.244.255.%d" % (NODE_IP_BASE + index)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise BridgeError("`ip %s` failed: %s" % (" ".join(args), proc.stderr.strip() or proc.stdout.strip()))
    return proc


def exists() -> bool:
    return _ip("link", "show", BRIDGE, check=False).returncode == 0


def ensure(node_count: int, pod_cidrs: dict[int, str] | None = None) -> None:
    """Create (or repair) the bridge, its host and node addresses and the per-node pod routes.
    Idempotent; `pod_cidrs` maps node index to that node's podCIDR (routes for known ones only)."""
    if not exists():
        _ip("link", "add", BRIDGE, "type", "bridge")
    # No IPv6 on the bridge: no link-local chatter, no router solicitations.
    try:
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % BRIDGE, "w") as f:
            f.write("1\n")
    except OSError:
        pass  # a kernel without IPv6
    _ip("addr", "replace", HOST_IP + "/32", "dev", BRIDGE)
    for i in range(node_count):
        _ip("addr", "replace", node_ip(i) + "/32", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    for cidr in (pod_cidrs or {}).values():
        _ip("route", "replace", cidr, "dev", BRIDGE, "src", HOST_IP)


def problems(node_count: int, pod_cidrs: dict[int, str] | None = None) -> list[str]:
    """What is missing (empty when complete)."""
    if not exists():
        return ["bridge %s is missing" % BRIDGE]
    found = []
    addrs = _ip("-o", "-4", "addr", "show", "dev", BRIDGE, check=False).stdout
    for ip in [HOST_IP] + [node_ip(i) for i in range(node_count)]:
        if " %s/32 " % ip not in addrs:
            found.append("address %s is missing on %s" % (ip, BRIDGE))
    # Administratively up (a bridge without pods has no carrier: its state reads DOWN then).
    flags = _ip("link", "show", BRIDGE, check=False).stdout.split("<", 1)[-1].split(">", 1)[0].split(",")
    if "UP" not in flags:
        found.append("bridge %s is down" % BRIDGE)
    routes = _ip("route", "show", "dev", BRIDGE, check=False).stdout
    for cidr in (pod_cidrs or {}).values():
        if not any(line.startswith(cidr + " ") for line in routes.splitlines()):
            found.append("route %s dev %s is missing" % (cidr, BRIDGE))
    return found


def teardown() -> None:
    """Delete the bridge; its addresses and routes go with it. Pod veths are gone by then (the
    pods' network namespaces are removed with their sandboxes)."""
    if exists():
        _ip("link", "del", BRIDGE)
