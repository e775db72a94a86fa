#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: resource
short_description: Server-side apply (or delete) any Kubernetes manifests
description:
  - Applies each object with server-side apply (field manager O(field_manager)). C(changed) is exact (what
    this field manager owns, before and after); an apply costs two API requests per object (read, apply).
    Check mode uses the API's dry run; diff mode shows before/after of what changed.
  - Secret values (C(data) and C(stringData), as given and base64-encoded) never reach syslog or journald,
    the result, the diff or C(-vvv) output, with or without C(no_log) on the task.
  - As with kubernetes.core.k8s, O(state=absent) deletes by reference too, given O(kind), O(name), O(namespace)
    for namespaced kinds, and O(api_version) (V(v1) when not given) instead of O(definition).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
extends_documentation_fragment:
  - statefuldb.k8s.k8s_auth
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
  - statefuldb.k8s.k8s_apply
options:
  definition:
    description:
      - One object (dict), a list of objects, or a YAML string with one or more documents.
      - Required with O(state=present). With O(state=absent), give either O(definition) or O(kind) and O(name),
        not both.
    type: raw
  state:
    description: V(present) applies, V(absent) deletes (missing objects are not an error).
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description: Namespace for namespaced objects that do not set metadata.namespace.
    type: str
  api_version:
    description:
      - apiVersion of the object to delete without a O(definition) (O(state=absent) only), such as V(apps/v1).
      - V(v1) when not given, as in kubernetes.core.k8s.
    type: str
  kind:
    description: Kind of the object to delete without a O(definition) (O(state=absent) only), such as V(ConfigMap).
    type: str
  name:
    description: Name of the object to delete without a O(definition) (O(state=absent) only).
    type: str
"""

EXAMPLES = r"""
- name: Credentials and configuration of the database
  statefuldb.k8s.resource:
    namespace: data
    definition:
      - apiVersion: v1
        kind: Secret
        metadata: {name: db-credentials}
        stringData:
          root-password: "{{ db_root_password }}"
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: db-config}
        data:
          my.cnf: "[mysqld]\nlog-bin=mysql-bin\n"

- name: Delete a ConfigMap by name, without its definition
  statefuldb.k8s.resource:
    state: absent
    api_version: v1
    kind: ConfigMap
    name: db-config
    namespace: data
"""

RETURN = r"""
result:
  description:
    - The object as the API returned it (first object when several were given), Secrets masked.
    - Empty for O(state=absent), as in kubernetes.core.k8s.
  returned: always
  type: dict
  sample: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "data"}, "data": {"mode": "replica"}}
results:
  description: One entry per object, each with changed, and the object under result.
  returned: always
  type: list
  elements: dict
  sample: [{"changed": true, "result": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "data"}}}]
api_requests:
  description: API requests this task sent.
  returned: always
  type: int
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import result_view
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import (
    exit_with,
    fail,
    k8s_module,
    make_client,
    secret_object_values,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import (
    DefinitionError,
    check_object,
    load_definitions,
    reference_object,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.discovery import dns1123_label_error
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.service import (
    ApplyOptions,
    ensure_absent,
    ensure_present,
)


def secret_values(params):
    """Secret values in the definition, registered before the module logs or returns anything."""
    definition = params.get("definition")
    try:
        return secret_object_values(load_definitions(definition))
    except (DefinitionError, AttributeError, TypeError):
        # Unreadable: its error message may quote it, so every line of it counts as secret.
        if not isinstance(definition, str):
            return set()
        lines = [line.strip() for line in definition.splitlines()]
        return {definition} | {line for line in lines if len(line) > 3} | {
            line.split(":", 1)[1].strip() for line in lines if ":" in line and len(line.split(":", 1)[1].strip()) > 3}


def main():
    spec = dict(
        definition=dict(type="raw"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        namespace=dict(type="str"),
        api_version=dict(type="str"),
        kind=dict(type="str"),
        name=dict(type="str"),
    )
    module = k8s_module(spec, apply=True, secret_values=secret_values)
    params = module.params
    try:
        reference = reference_object(params)
        objects = [reference] if reference else load_definitions(params["definition"])
        if not objects:
            raise DefinitionError("definition holds no objects")
        if params["namespace"] is not None and dns1123_label_error(params["namespace"], "namespace"):
            raise DefinitionError(dns1123_label_error(params["namespace"], "namespace"))
        for index, obj in enumerate(objects):
            check_object(obj, params["namespace"], index if len(objects) > 1 else None, namespaced=False)
    except DefinitionError as exc:
        module.fail_json(msg=str(exc))
    client = make_client(module, timeout=120)
    results, diffs = [], []
    try:
        for index, obj in enumerate(objects):
            plural, namespaced = client.plural(obj["apiVersion"], obj["kind"])
            if reference and namespaced and not params["namespace"]:
                raise DefinitionError("namespace is required to delete %s %r: %s is namespaced; give namespace"
                                      % (obj["kind"], obj["metadata"]["name"], obj["kind"]))
            check_object(obj, params["namespace"], index if len(objects) > 1 else None, namespaced=namespaced)
            if not namespaced:
                obj["metadata"].pop("namespace", None)
        options = ApplyOptions.from_params(params)
        for obj in objects:
            meta = obj["metadata"]
            if params["state"] == "absent":
                outcome = ensure_absent(client, obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"),
                                        module.check_mode)
                results.append({"changed": outcome.changed, "result": {}})
            else:
                outcome = ensure_present(client, obj, options, module.check_mode)
                results.append({"changed": outcome.changed, "result": result_view(outcome.after)})
            if outcome.diff:
                diffs.append(outcome.diff)
    except DefinitionError as exc:
        module.fail_json(msg=str(exc))
    except K8sError as exc:
        fail(module, exc, fields=getattr(exc, "fields", None) or [])
    result = {"changed": any(r["changed"] for r in results), "results": results,
              "result": results[0]["result"] if results else {}}
    diff = None
    if diffs:
        diff = diffs[0] if len(diffs) == 1 else {
            "before": [d["before"] for d in diffs], "after": [d["after"] for d in diffs]}
    exit_with(module, client, result, diff)


if __name__ == "__main__":
    main()
