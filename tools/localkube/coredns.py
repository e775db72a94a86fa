# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster DNS for the real nodes: CoreDNS (built by build.sh with only the plugins below) as a
host process answering on the bridge's host address, port 53 (the kubelets' `clusterDNS`).

Why a host process and not a pod: DNS must answer before any pod can start (the first pods of a
test already look names up), it needs no image, and its kubeconfig is a plain file here; a pod
would also need the `kubernetes` Service's ClusterIP, which nothing routes (no kube-proxy).

Zone `cluster.local` (and the reverse zones) come from the API server through the `kubernetes`
plugin: Services, and for headless Services one record per ready endpoint, including
`{hostname}.{service}.{namespace}.svc.cluster.local` for pods with `hostname`/`subdomain`
(StatefulSet pods). Every other name gets REFUSED at once: there is no upstream on purpose,
nothing is forwarded off the machine.
"""
from __future__ import annotations

from nodes import write_if_changed


def corefile(listen_ip: str, health_port: int, ready_port: int, kubeconfig: str) -> str:
    return """cluster.local in-addr.arpa ip6.arpa {
    bind %(ip)s
    errors
    health 127.0.0.1:%(health)d
    ready 127.0.0.1:%(ready)d
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %(kubeconfig)s localkube
        pods verified
        ttl 5
        fallthrough in-addr.arpa ip6.arpa
    }
}
""" % {"ip": listen_ip, "health": health_port, "ready": ready_port, "kubeconfig": kubeconfig}


def write_corefile(path: str, listen_ip: str, health_port: int, ready_port: int, kubeconfig: str) -> bool:
    """Write the Corefile; True when it changed (CoreDNS is then restarted)."""
    return write_if_changed(path, corefile(listen_ip, health_port, ready_port, kubeconfig))


def command_line(binary: str, corefile_path: str) -> list[str]:
    return [binary, "-conf", corefile_path]


# What the plugin reads (the same rules as CoreDNS's own manifests).
CLUSTER_ROLE_RULES = [
    {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
]
