#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: headless_service
short_description: Apply a headless Service and return the stable DNS names of its pods
description:
  - "Server-side applies a Service with C(clusterIP: None) that governs a StatefulSet, so each pod is
    reachable as C({pod}.{service}.{namespace}.svc.{cluster_domain})."
  - Returns the pods behind it, read from its EndpointSlices, with their DNS names.
  - An existing Service with a cluster IP cannot become headless in place; that fails naming
    C(spec.clusterIP) unless O(recreate=orphan) (delete and create again).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.k8s_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
  - statefuldb.k8s.k8s_apply
  - statefuldb.k8s.k8s_dns
options:
  state:
    description: V(present) applies the Service, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Service name (DNS-1035 label); the StatefulSet's serviceName.
    type: str
  namespace:
    description: Namespace. Required unless O(definition) has metadata.namespace.
    type: str
  selector:
    description: Pod labels the Service selects (the StatefulSet's selector labels).
    type: dict
  ports:
    description: Ports, each a number or a dict with C(port), C(name), C(target_port), C(protocol).
    type: list
    elements: raw
  labels:
    description: Labels of the Service.
    type: dict
  publish_not_ready_addresses:
    description:
      - Publish DNS records for pods before they are Ready, which peers need to find each other while
        starting (replication bootstrap).
    type: bool
    default: true
  definition:
    description: A full Service manifest (dict or YAML string); the other options are applied on top.
    type: raw
  recreate:
    description: V(orphan) deletes and re-creates the Service when an immutable field (clusterIP) changes.
    type: str
    choices: [never, orphan]
    default: never
"""

EXAMPLES = r"""
- name: Headless Service for the db StatefulSet
  statefuldb.k8s.headless_service:
    name: db
    namespace: data
    selector:
      app.kubernetes.io/name: db
    ports:
      - {name: mysql, port: 3306}
  register: svc

- name: Show the pods' names
  ansible.builtin.debug:
    var: svc.dns_names
"""

RETURN = r"""
service:
  description: The Service as the API returned it.
  returned: always
  type: dict
  sample: {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "data"},
           "spec": {"clusterIP": "None", "publishNotReadyAddresses": true, "selector": {"app": "db"}}}
result:
  description:
    - The same object as RV(service), under the key kubernetes.core.k8s returns it under. Empty for
      O(state=absent).
  returned: always
  type: dict
  sample: {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "data"}}
pods:
  description: Pods behind the Service (from EndpointSlices), sorted by ordinal.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "db-0", "ordinal": 0, "ip": "10.244.0.5", "ready": true,
            "dns_name": "db-0.db.data.svc.cluster.local"}]
dns_names:
  description: DNS names of the pods, by ordinal.
  returned: always
  type: list
  elements: str
  sample: ["db-0.db.data.svc.cluster.local", "db-1.db.data.svc.cluster.local"]
api_requests:
  description: API requests this task sent.
  returned: always
  type: int
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import exit_with, fail, k8s_module, make_client
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import result_view
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    DefinitionError,
    build_headless_service,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    dns1123_label_error,
    dns1123_subdomain_error,
    service_pods,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.service import (
    ApplyOptions,
    ensure_absent,
    ensure_present,
)


def endpoint_pods(client, name, namespace, cluster_domain):
    slices = client.list("discovery.k8s.io/v1", "EndpointSlice", namespace,
                         label_selector="kubernetes.io/service-name=%s" % name).get("items") or []
    return service_pods(slices, name, namespace, cluster_domain)


def main():
    spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str"),
        namespace=dict(type="str"),
        selector=dict(type="dict"),
        ports=dict(type="list", elements="raw"),
        labels=dict(type="dict"),
        publish_not_ready_addresses=dict(type="bool", default=True),
        definition=dict(type="raw"),
        recreate=dict(type="str", choices=["never", "orphan"], default="never"),
    )
    module = k8s_module(spec, apply=True, dns=True)
    params = module.params
    try:
        error = dns1123_subdomain_error(params["cluster_domain"], "cluster_domain")
        if error:
            raise DefinitionError(error)
        if params["state"] == "present":
            desired = build_headless_service(params)
        else:
            for field in ("name", "namespace"):
                error = dns1123_label_error(params[field], field)
                if error:
                    raise DefinitionError(error)
    except DefinitionError as exc:
        module.fail_json(msg=str(exc))
    client = make_client(module, timeout=120)
    result = {"changed": False, "service": {}, "pods": [], "dns_names": []}
    try:
        if params["state"] == "absent":
            outcome = ensure_absent(client, "v1", "Service", params["name"], params["namespace"], module.check_mode)
        else:
            name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
            outcome = ensure_present(client, desired, ApplyOptions.from_params(params), module.check_mode)
            result["service"] = result_view(outcome.after)
            if outcome.recreated:
                result["recreated"] = True
        result["changed"] = outcome.changed
        if params["state"] == "present":
            result["pods"] = endpoint_pods(client, name, namespace, params["cluster_domain"])
            result["dns_names"] = [p["dns_name"] for p in result["pods"]]
    except K8sError as exc:
        fail(module, exc, fields=getattr(exc, "fields", None) or [])
    exit_with(module, client, result, outcome.diff, object_key="service")


if __name__ == "__main__":
    main()
