#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: statefulset_info
short_description: Discover a StatefulSet's ordinals, pods, readiness, IPs, DNS names and PVCs
description:
  - Read-only; safe in check mode.
  - Fails clearly when the governing Service is not headless, or when O(service) is not the StatefulSet's
    C(spec.serviceName) (the DNS names would not resolve).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.k8s_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.info
  - statefuldb.k8s.k8s_dns
options:
  name:
    description: StatefulSet name.
    type: str
    required: true
  namespace:
    description: Namespace.
    type: str
    required: true
  service:
    description: Headless Service expected to govern the StatefulSet. Defaults to its spec.serviceName.
    type: str
"""

EXAMPLES = r"""
- name: Find the primary
  statefuldb.k8s.statefulset_info:
    name: db
    namespace: data
  register: db

- name: Its DNS name
  ansible.builtin.debug:
    msg: "{{ db.primary.dns_name }}"
"""

RETURN = r"""
statefulset:
  description: The StatefulSet object.
  returned: always
  type: dict
  sample: {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "data"}, "spec": {"replicas": 2}}
service_name:
  description: Governing Service (spec.serviceName).
  returned: always
  type: str
replicas:
  description: Wanted replicas.
  returned: always
  type: int
ready_replicas:
  description: Ready replicas from the StatefulSet status.
  returned: always
  type: int
pods:
  description: Existing pods by ordinal, with ordinal, name, phase, ready, ip, node, dns_name, primary, and pvcs (name, phase, capacity, uid).
  returned: always
  type: list
  elements: dict
  sample: [{"ordinal": 0, "name": "db-0", "phase": "Running", "ready": true, "ip": "10.244.0.5", "node": "node-1",
            "dns_name": "db-0.db.data.svc.cluster.local", "primary": true, "terminating": false,
            "pvcs": [{"name": "data-db-0", "uid": "5b0c...", "phase": "Bound", "capacity": "1Gi"}]}]
primary:
  description:
    - The pod labelled C(statefuldb.io/role=primary) (the C(statefuldb.k8s.mysql_cluster) role records the
      primary so), else the pod at the first ordinal (0 unless spec.ordinals.start says otherwise), or null.
  returned: always
  type: dict
  sample: {"ordinal": 0, "name": "db-0", "ready": true, "dns_name": "db-0.db.data.svc.cluster.local", "primary": true}
pvcs_without_pod:
  description: PVCs of the StatefulSet's templates whose ordinal has no pod (kept after scale-in).
  returned: always
  type: list
  elements: str
  sample: ["data-db-2"]
api_requests:
  description: API requests this task sent.
  returned: always
  type: int
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import result_view
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import fail, k8s_module, make_client
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    DiscoveryError,
    describe_statefulset,
    dns1035_label_error,
    dns1123_label_error,
    dns1123_subdomain_error,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.validation import first_error


def main():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        service=dict(type="str"),
    )
    module = k8s_module(spec, dns=True)
    for field in ("name", "namespace"):
        error = dns1123_label_error(module.params[field], field)
        if error:
            module.fail_json(msg=error)
    error = first_error(
        dns1035_label_error(module.params["service"], "service") if module.params["service"] is not None else None,
        dns1123_subdomain_error(module.params["cluster_domain"], "cluster_domain"))
    if error:
        module.fail_json(msg=error)
    client = make_client(module, timeout=60)
    try:
        info = describe_statefulset(client, module.params["name"], module.params["namespace"],
                                    module.params["service"], module.params["cluster_domain"])
    except DiscoveryError as exc:
        module.fail_json(msg=exc.msg)
    except K8sError as exc:
        fail(module, exc)
    for warning in info.pop("warnings"):
        module.warn(warning)
    info["statefulset"] = result_view(info["statefulset"])
    module.exit_json(changed=False, api_requests=client.request_count, **info)


if __name__ == "__main__":
    main()
