# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply options; pairs with APPLY_ARG_SPEC in module_utils/k8s/common.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  field_manager:
    description:
      - Server-side apply field manager.
      - M(statefuldb.k8s.statefulset) applies replica-only changes as O(field_manager) with C(-scale)
        appended.
    type: str
    default: statefuldb
  force:
    description:
      - Take over fields another field manager owns (server-side apply C(force=true)). Off by default, as
        with C(kubectl apply --server-side). A field another manager owns (an autoscaler's replicas, a
        mesh's annotations) fails the task with a message naming the field and that manager, and nothing
        is changed. Set V(true) to take such fields over.
      - The alias O(force_conflicts) is the name of the same setting in kubernetes.core.k8s
        (C(server_side_apply.force_conflicts)). kubernetes.core.k8s's own C(force) means something else
        (replace the whole object); this module never replaces.
    type: bool
    default: false
    aliases: [force_conflicts]
"""
