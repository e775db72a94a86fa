# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pod network of the local control plane: a network namespace that owns the pod IPs.

KWOK hands out pod IPs from 10.244.0.0/16 but nothing listens on them. This module gives those
addresses a home that never touches a real network:

* network namespace ``statefuldb-pods`` with a veth pair; the in-namespace end (``sdbpods0``) carries
  its own address 10.244.255.253/32 and one /32 per pod IP that something actually serves
  (``add_pod_ip``); the host end (``sdbpods-host``) carries the gateway address 10.244.255.254/32;
* on the host: ``10.244.0.0/16 via 10.244.255.253 dev sdbpods-host`` (one next hop, so the host
  never ARPs for individual pod IPs and a packet for an unassigned one reaches the namespace,
  which answers "no route to host" at once instead of letting the connect time out) plus a fallback ``blackhole 10.244.0.0/16
  metric 4096`` (if the veth disappears, pod traffic is dropped instead of following the default
  route), and ``blackhole 10.96.0.0/12`` for the service CIDR (there is no kube-proxy);
* inside the namespace: a route back to the gateway, ``unreachable 10.244.0.0/16`` for pod IPs
  nobody holds, ``unreachable default``, and IP forwarding off. A packet for an unassigned pod IP
  therefore ends inside the namespace, never at the default gateway.

Needs root (CAP_NET_ADMIN) and iproute2. Standard library only; used by localkube.py.
"""
from __future__ import annotations

import ipaddress
import subprocess

NETNS = "statefuldb-pods"
HOST_IF = "sdbpods-host"
POD_IF = "sdbpods0"
GATEWAY_IP = "10.244.255.254"
NETNS_IP = "10.244.255.253"
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/12"
FALLBACK_METRIC = "4096"


class PodNetError(RuntimeError):
    """Setting up or changing the pod network failed; the message says which command and why."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise PodNetError("`ip %s` failed: %s" % (" ".join(args), proc.stderr.strip() or proc.stdout.strip()))
    return proc


def _in_pod_cidr(ip: str) -> str:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise PodNetError("%r is not an IP address" % (ip,)) from None
    if addr not in ipaddress.ip_network(POD_CIDR) or str(addr) in (GATEWAY_IP, NETNS_IP):
        raise PodNetError("%s is not a pod IP (pod IPs come from %s; %s and %s are the veth ends)"
                          % (ip, POD_CIDR, GATEWAY_IP, NETNS_IP))
    return str(addr)


def netns_exists() -> bool:
    out = _ip("netns", "list", check=False).stdout
    return any(line.split()[0] == NETNS for line in out.splitlines() if line.strip())


def ensure() -> None:
    """Create (or repair) the namespace, the veth pair, addresses and routes. Idempotent."""
    if not netns_exists():
        _ip("netns", "add", NETNS)
    host_link = _ip("link", "show", HOST_IF, check=False).returncode == 0
    pod_link = _ip("-n", NETNS, "link", "show", POD_IF, check=False).returncode == 0
    if host_link and not pod_link:
        _ip("link", "del", HOST_IF)
        host_link = False
    if not host_link:
        if pod_link:
            _ip("-n", NETNS, "link", "del", POD_IF)
        _ip("link", "add", HOST_IF, "type", "veth", "peer", "name", POD_IF, "netns", NETNS)
    _ip("addr", "replace", GATEWAY_IP + "/32", "dev", HOST_IF)
    _ip("link", "set", HOST_IF, "up")
    _ip("-n", NETNS, "link", "set", "lo", "up")
    _ip("-n", NETNS, "addr", "replace", NETNS_IP + "/32", "dev", POD_IF)
    _ip("-n", NETNS, "link", "set", POD_IF, "up")
    # Inside: reach the gateway, nothing else leaves; unknown pod IPs fail fast.
    _ip("-n", NETNS, "route", "replace", GATEWAY_IP + "/32", "dev", POD_IF, "scope", "link")
    _ip("-n", NETNS, "route", "replace", "unreachable", POD_CIDR)
    _ip("-n", NETNS, "route", "replace", "unreachable", "default")
    subprocess.run(["ip", "netns", "exec", NETNS, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"],
                   capture_output=True, text=True, check=False)
    # Host: pod CIDR into the namespace, a blackhole under it, the service CIDR blackholed.
    _ip("route", "replace", NETNS_IP + "/32", "dev", HOST_IF, "scope", "link", "src", GATEWAY_IP)
    _ip("route", "replace", POD_CIDR, "via", NETNS_IP, "dev", HOST_IF, "src", GATEWAY_IP)
    _ip("route", "replace", "blackhole", POD_CIDR, "metric", FALLBACK_METRIC)
    _ip("route", "replace", "blackhole", SERVICE_CIDR)


def problems() -> list[str]:
    """What is missing from the pod network (empty when it is complete)."""
    found = []
    if not netns_exists():
        return ["network namespace %s is missing" % NETNS]
    if _ip("-n", NETNS, "link", "show", POD_IF, check=False).returncode != 0:
        found.append("veth %s is missing in %s" % (POD_IF, NETNS))
    routes = _ip("route", "show", check=False).stdout
    if not any(line.startswith(POD_CIDR + " via " + NETNS_IP) for line in routes.splitlines()):
        found.append("host route %s via %s is missing" % (POD_CIDR, NETNS_IP))
    if not any(line.startswith("blackhole " + SERVICE_CIDR) for line in routes.splitlines()):
        found.append("blackhole route for the service CIDR %s is missing" % SERVICE_CIDR)
    return found


def teardown() -> None:
    """Remove the namespace, the veth pair and the host routes (pod IPs go with the namespace)."""
    _ip("route", "del", POD_CIDR, "via", NETNS_IP, check=False)
    _ip("link", "del", HOST_IF, check=False)
    if netns_exists():
        _ip("netns", "del", NETNS)
    _ip("route", "del", "blackhole", POD_CIDR, "metric", FALLBACK_METRIC, check=False)
    _ip("route", "del", "blackhole", SERVICE_CIDR, check=False)


def add_pod_ip(ip: str) -> None:
    """Put pod IP ``ip`` on the in-namespace veth so a process in NETNS can bind to it. Idempotent."""
    ip = _in_pod_cidr(ip)
    _ip("-n", NETNS, "addr", "replace", ip + "/32", "dev", POD_IF)


def remove_pod_ip(ip: str) -> None:
    """Take pod IP ``ip`` off the in-namespace veth. Removing an absent IP is not an error."""
    ip = _in_pod_cidr(ip)
    if ip in pod_ips():
        _ip("-n", NETNS, "addr", "del", ip + "/32", "dev", POD_IF)


def pod_ips() -> list[str]:
    """The pod IPs currently held in the namespace."""
    out = _ip("-n", NETNS, "-o", "-4", "addr", "show", "dev", POD_IF, check=False).stdout
    ips = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            ip = parts[parts.index("inet") + 1].split("/")[0]
            if ip != NETNS_IP:
                ips.append(ip)
    return ips


if __name__ == "__main__":
    import sys

    commands = {"ensure": ensure, "teardown": teardown}
    if len(sys.argv) == 2 and sys.argv[1] in commands:
        commands[sys.argv[1]]()
    elif len(sys.argv) == 3 and sys.argv[1] in ("add", "remove"):
        (add_pod_ip if sys.argv[1] == "add" else remove_pod_ip)(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "status":
        print("\n".join(problems()) or "pod network ok; pod IPs held: %s" % (", ".join(pod_ips()) or "none"))
    else:
        sys.exit("usage: podnet.py ensure|teardown|status|add IP|remove IP")
