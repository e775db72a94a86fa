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
      - Fail early when nothing progressed (no pod created, scheduled, ready or removed, no status change)
        for this many seconds. C(0) disables it. After half of it a warning names the stuck ordinal.
    type: int
    default: 180
"""
