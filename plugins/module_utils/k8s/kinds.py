# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a kind lives in the API: the plural and scope of the kinds we manage, and resource paths."""
from __future__ import annotations

from urllib.parse import quote

# (group/version, kind) -> (plural, namespaced). Covers what the collection manages; anything else
# goes through discovery once.
KNOWN_KINDS = {
    ("v1", "Pod"): ("pods", True),
    ("v1", "Service"): ("services", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "PersistentVolume"): ("persistentvolumes", False),
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Event"): ("events", True),
    ("v1", "Endpoints"): ("endpoints", True),
    ("v1", "Node"): ("nodes", False),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "ControllerRevision"): ("controllerrevisions", True),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("endpointslices", True),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", False),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("batch/v1", "Job"): ("jobs", True),
}


def group_path(api_version):
    """The API group's root: /api/v1 for the core group, /apis/{group}/{version} for the others."""
    return "/api/v1" if api_version == "v1" else "/apis/" + api_version


def resource_path(api_version, plural, namespace=None, name=None, subresource=None):
    parts = [group_path(api_version)]
    if namespace:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(plural)
    if name:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)
