#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: statefulset
short_description: Apply, scale or delete a StatefulSet and wait for ordered readiness
description:
  - Server-side applies a StatefulSet (field manager O(field_manager)); C(changed) is exact (it compares
    the fields this field manager owns before and after, so a controller's status write does not count).
    An apply costs two API requests (read, apply). Check mode uses the API's dry run, diff mode shows
    before/after of what changed.
  - Waits by watching the StatefulSet and its pods and returns a per-ordinal timeline.
  - Scaling in keeps the PVCs of the removed ordinals (returned as RV(pvcs_kept)); scaling out re-attaches
    them. PVCs are only deleted with O(state=absent) and O(delete_pvcs=true), or by the controller when the
    StatefulSet's O(pvc_retention_policy) says Delete (reported in RV(pvcs_deleted), with a warning).
  - Changing a field Kubernetes does not allow to change (selector, serviceName, volumeClaimTemplates,
    podManagementPolicy) fails with a message naming the field, unless O(recreate=orphan).
version_added: 0.1.0
author:
  - statefuldb maintainers (@statefuldb)
notes:
  - To see each pod's progress while the module waits (one line per transition, as it happens, in
    C(ansible-playbook) output and AWX job output), enable the P(statefuldb.k8s.progress#callback) callback
    with C(ANSIBLE_CALLBACKS_ENABLED=statefuldb.k8s.progress). It shows the waits of tasks that run on the
    controller (C(connection=local), or C(delegate_to=localhost)); without it the module writes nothing.
seealso:
  - plugin: statefuldb.k8s.progress
    plugin_type: callback
extends_documentation_fragment:
  - statefuldb.k8s.k8s_auth
  - statefuldb.k8s.k8s_apply
  - statefuldb.k8s.k8s_wait
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.changes
options:
  state:
    description:
      - V(present) applies the StatefulSet; V(absent) deletes it. With O(wait), V(absent) scales to 0 first
        so pods stop in reverse ordinal order.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Name of the StatefulSet (a DNS-1123 label). Optional when O(definition) has metadata.name.
    type: str
  namespace:
    description: Namespace of the StatefulSet. Required unless O(definition) has metadata.namespace.
    type: str
  definition:
    description:
      - A full StatefulSet manifest (dict or YAML string). The other options are applied on top of it.
    type: raw
  replicas:
    description:
      - Number of pods. Given alone (with name and namespace), only the replica count is applied and the
        rest of the StatefulSet is left as it is.
    type: int
  image:
    description: Container image of the first container (creates a one-container pod template if none).
    type: str
  service_name:
    description: Governing headless Service (spec.serviceName). Defaults to the StatefulSet name.
    type: str
  pod_management_policy:
    description: V(OrderedReady) starts pods one by one in ordinal order; V(Parallel) all at once.
    type: str
    choices: [OrderedReady, Parallel]
  volume_claim_templates:
    description:
      - Claim templates, either Kubernetes form (metadata/spec) or short form with keys C(name), C(size),
        C(storage_class), C(access_modes) and C(mount_path) (mounted in the container built from O(image)).
      - A larger C(size) than the live template expands each existing PVC when its StorageClass allows it
        (with O(recreate=orphan), which also records the new template).
    type: list
    elements: dict
  pvc_retention_policy:
    description: spec.persistentVolumeClaimRetentionPolicy, keys C(whenDeleted) and C(whenScaled) (Retain|Delete).
    type: dict
  update_strategy:
    description: V(RollingUpdate) or V(OnDelete).
    type: str
    choices: [RollingUpdate, OnDelete]
  partition:
    description: Rolling update partition; only ordinals at or above it are updated (and awaited).
    type: int
  labels:
    description:
      - Labels of the StatefulSet. Without a selector in O(definition), they are also the pod selector and pod
        labels when the StatefulSet is created; once it exists its selector is kept (it cannot change), so
        labels added later go on the StatefulSet only.
    type: dict
  template:
    description: Pod template (spec.template) merged over the one from O(definition).
    type: dict
  recreate:
    description:
      - What to do when an immutable field changes. V(never) fails naming the field. V(orphan) deletes
        the StatefulSet with propagationPolicy Orphan (pods and PVCs stay) and creates it again, expanding
        existing PVCs first when only the storage size grew.
    type: str
    choices: [never, orphan]
    default: never
  delete_pvcs:
    description:
      - With O(state=absent), also delete the StatefulSet's PVCs (after its pods are gone) and, with O(wait),
        wait until they are gone. Data is lost.
      - Also works after an earlier O(state=absent) kept the claims and the StatefulSet is gone. Its claims are
        then found by name (C({template}-{name}-{ordinal})), narrowed by the selector when O(definition) has one
        or O(labels) is given (the controller copies the selector's labels onto each claim) and by the template
        names of O(volume_claim_templates) or O(definition); claims another existing StatefulSet uses are never
        touched.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The servers' root password, in a Secret (the official image refuses to start without one)
  statefuldb.k8s.resource:
    definition:
      apiVersion: v1
      kind: Secret
      metadata: {name: db-credentials, namespace: data}
      data:
        root-password: "{{ vault_db_root_password | b64encode }}"

- name: Three MariaDB pods, started in order, each on its own 10Gi claim
  statefuldb.k8s.statefulset:
    name: db
    namespace: data
    image: mariadb:11.8
    replicas: 3
    template:
      spec:
        containers:
          - name: mariadb
            env:
              - name: MARIADB_ROOT_PASSWORD
                valueFrom: {secretKeyRef: {name: db-credentials, key: root-password}}
            ports: [{name: mysql, containerPort: 3306}]
            volumeMounts: [{name: data, mountPath: /var/lib/mysql}]
    volume_claim_templates:
      - name: data
        size: 10Gi

- name: Scale in to one pod (PVCs of db-1 and db-2 are kept)
  statefuldb.k8s.statefulset:
    name: db
    namespace: data
    replicas: 1
  register: scaled

- name: Tear down, keep the data
  statefuldb.k8s.statefulset:
    name: db
    namespace: data
    state: absent
"""

RETURN = r"""
statefulset:
  description: The StatefulSet as the API returned it (after the wait, with status).
  returned: always
  type: dict
  sample: {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "data"},
           "spec": {"replicas": 3, "serviceName": "db"}, "status": {"readyReplicas": 3, "replicas": 3}}
result:
  description:
    - The same object as RV(statefulset), under the key kubernetes.core.k8s returns it under.
  returned: always
  type: dict
  sample: {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "data"}}
timeline:
  description: Per ordinal, when its pod was created, scheduled and became Ready (UTC).
  returned: always
  type: list
  elements: dict
  sample: [{"ordinal": 0, "pod": "db-0", "created": "2026-01-01T10:00:00Z", "scheduled": "2026-01-01T10:00:00Z",
            "ready": "2026-01-01T10:00:02Z", "node": "kwok-node-0"}]
wait_seconds:
  description: Seconds spent waiting.
  returned: always
  type: float
pvcs_kept:
  description:
    - PVCs of ordinals that no longer exist (scale-in, or all of them with state absent) that still exist when
      the task ends, read from the cluster after the wait. A persistentVolumeClaimRetentionPolicy of Delete
      (whenScaled on scale-in, whenDeleted on state absent) makes the controller delete them; they are then
      not listed here but in RV(pvcs_deleted), and a warning says so.
  returned: always
  type: list
  elements: str
  sample: ["data-db-2"]
pvcs_expanded:
  description: PVCs whose storage request was raised (recreate with a larger template size).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "data-db-0", "storage": "20Gi"}]
pvcs_deleted:
  description:
    - PVCs deleted, by O(delete_pvcs) or by the controller under a persistentVolumeClaimRetentionPolicy of Delete.
      With O(wait) only those that are gone (or being deleted) when the task ends.
  returned: always
  type: list
  elements: str
  sample: ["data-db-0", "data-db-1"]
recreated:
  description: Whether the StatefulSet was deleted with orphaned pods and created again.
  returned: always
  type: bool
watch_resumes:
  description: How often a watch was resumed during the wait (dropped connection, API server restart, 410 Gone).
  returned: always
  type: int
api_requests:
  description: API requests this task sent.
  returned: always
  type: int
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.common import exit_with, fail, k8s_module, make_client
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.definition import DefinitionError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.lifecycle import (
    StatefulSetOptions,
    ensure_absent,
    ensure_present,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.rollout import WaitTimeout


def argument_spec():
    spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str"),
        namespace=dict(type="str"),
        definition=dict(type="raw"),
        replicas=dict(type="int"),
        image=dict(type="str"),
        service_name=dict(type="str"),
        pod_management_policy=dict(type="str", choices=["OrderedReady", "Parallel"]),
        volume_claim_templates=dict(type="list", elements="dict"),
        pvc_retention_policy=dict(type="dict"),
        update_strategy=dict(type="str", choices=["RollingUpdate", "OnDelete"]),
        partition=dict(type="int"),
        labels=dict(type="dict"),
        template=dict(type="dict"),
        recreate=dict(type="str", choices=["never", "orphan"], default="never"),
        delete_pvcs=dict(type="bool", default=False),
    )
    return spec


def main():
    module = k8s_module(argument_spec(), apply=True, wait=True)
    try:
        options = StatefulSetOptions.from_params(module.params)
    except DefinitionError as exc:
        module.fail_json(msg=str(exc))

    client = make_client(module, timeout=options.wait_timeout)
    progress = []

    def log(message):
        progress.append(message)
        module.log(message)

    try:
        if options.desired is not None:
            outcome = ensure_present(client, options, module.check_mode, log)
        else:
            outcome = ensure_absent(client, options, module.check_mode, log)
    except WaitTimeout as exc:
        fail(module, exc, timeline=exc.timeline, stuck_ordinal=exc.stuck, progress=progress,
             api_requests=client.request_count)
    except K8sError as exc:
        fail(module, exc, fields=getattr(exc, "fields", None) or [], api_requests=client.request_count)

    for warning in outcome.warnings:
        module.warn(warning)
    exit_with(module, client, outcome.as_dict(), outcome.diff, object_key="statefulset")


if __name__ == "__main__":
    main()
