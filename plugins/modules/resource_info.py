#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: resource_info
short_description: Read Kubernetes objects
description:
  - Gets one object by name or lists objects, optionally filtered by labels. Read-only.
  - "For Secrets the C(data) values are returned as the API gives them (base64); tasks that read them
    should set C(no_log: true)."
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.k8s_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.info
options:
  api_version:
    description: API version, for example C(v1) or C(apps/v1).
    type: str
    default: v1
  kind:
    description: Kind, for example C(Secret).
    type: str
    required: true
  name:
    description: Object name; without it all matching objects are listed.
    type: str
  namespace:
    description: Namespace; without it namespaced kinds are listed across all namespaces.
    type: str
  label_selectors:
    description: Label selectors such as C(app=db) or C(tier!=cache), all of which must match.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Read the database credentials
  statefuldb.k8s.resource_info:
    kind: Secret
    namespace: data
    name: db-credentials
  register: creds
  no_log: true
"""

RETURN = r"""
resources:
  description: The objects found (empty when none).
  returned: always
  type: list
  elements: dict
  sample: [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}, "status": {"addresses": [{"type": "ExternalIP", "address": "203.0.113.5"}]}}]
api_requests:
  description: API requests this task sent.
  returned: always
  type: int
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import fail, k8s_module, make_client
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.validation import api_version_error, kind_error
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import (
    dns1123_label_error,
    dns1123_subdomain_error,
)


def main():
    spec = dict(
        api_version=dict(type="str", default="v1"),
        kind=dict(type="str", required=True),
        name=dict(type="str"),
        namespace=dict(type="str"),
        label_selectors=dict(type="list", elements="str", default=[]),
    )
    module = k8s_module(spec)
    params = module.params
    for field, check in (("name", dns1123_subdomain_error), ("namespace", dns1123_label_error),
                         ("api_version", api_version_error), ("kind", kind_error)):
        if params[field] is not None:
            error = check(params[field], field)
            if error:
                module.fail_json(msg=error)
    client = make_client(module, timeout=60)
    try:
        if params["name"]:
            found = client.get(params["api_version"], params["kind"], params["name"], params["namespace"])
            resources = [found] if found else []
        else:
            listing = client.list(params["api_version"], params["kind"], params["namespace"],
                                  label_selector=",".join(params["label_selectors"]) or None)
            resources = listing.get("items") or []
            for item in resources:
                item.setdefault("apiVersion", params["api_version"])
                item.setdefault("kind", params["kind"])
    except K8sError as exc:
        fail(module, exc)
    for item in resources:
        (item.get("metadata") or {}).pop("managedFields", None)
    module.exit_json(changed=False, resources=resources, api_requests=client.request_count)


if __name__ == "__main__":
    main()
