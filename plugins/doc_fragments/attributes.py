# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module attributes (check mode, diff mode, platform), documented once.

Every module extends C(statefuldb.k8s.attributes) (the descriptions and the platform) and one of the
variants: C(statefuldb.k8s.attributes.changes) for modules that change things and support both check
and diff mode, C(statefuldb.k8s.attributes.info) for read-only modules. A module may still say more
in its own C(attributes) block; its keys win over the fragment's (ansible-core merges per key).
"""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and predict C(changed) without changing anything.
  diff_mode:
    description: Returns what changed (or would change, in check mode) in diff mode.
  platform:
    description:
      - The module talks to a remote API (Kubernetes, the Cloud SQL Admin API or a MySQL server)
        from wherever the task runs, usually the controller (C(localhost)); the target's operating
        system does not matter as long as Python and the collection's requirements are installed.
    support: full
    platforms: all
"""

    CHANGES = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

    INFO = r"""
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: N/A
    details: The module only reads; there is nothing to diff.
"""
