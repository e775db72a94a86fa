# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting options; pairs with WAIT_ARG_SPEC in module_utils/k8s/common.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the StatefulSet is ready (or gone, for O(state=absent)). The wait watches the StatefulSet
        and its pods and returns the moment the condition holds; it never polls on a timer.
      - Ready means the controller observed the latest generation, the pods at ordinals at or above the
        partition run the update revision (all pods, and currentRevision equal to updateRevision, without a
        partition; pod revisions are not awaited with O(update_strategy=OnDelete)), and replicas, ready
        replicas and available replicas (minReadySeconds) equal the wanted replicas.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait at most; also bounds the retries of every API call of the task.
      - On timeout the task fails naming the stuck ordinal and why (PVC Pending, unschedulable, image pull,
        crash loop, failing readiness probe, Multi-Attach), read from pod conditions and events.
    type: int
    default: 600
  stall_timeout:
    description:
      - Fail early when nothing progressed for this many seconds. C(0) disables it. After half of it a
        warning names the stuck ordinal.
      - Progress is a pod created, scheduled, ready or removed, a status change, and the container steps
        the status does not show - a container created, started or ready, an init container completed,
        a container restarted by its startup probe after the whole time the probe allows.
      - Work still under way also counts, checked when the timer is about to warn or fire, from one list
        of the namespace's events - a kubelet still pulling an image (a C(ContainerCreating) container
        whose newest image event is C(Pulling)) and a container still inside the time its startup probe
        allows (C(initialDelaySeconds + periodSeconds * failureThreshold)). A slow pull or a long start
        therefore waits up to O(wait_timeout).
      - A failed pull (C(ErrImagePull), C(ImagePullBackOff), C(InvalidImageName)), a crash loop (a
        container that exits by itself), a volume that cannot be mounted and a failing readiness probe are
        never progress; they fail after this many seconds, naming the image, the container's last error,
        the mount or the probe.
    type: int
    default: 180
"""
