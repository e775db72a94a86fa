# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The members option of the MySQL modules that work on a whole cluster; paired with
MYSQL_MEMBERS_ARG_SPEC (DOCUMENTATION) and MYSQL_MEMBERS_WITH_PRIMARY_ARG_SPEC (WITH_PRIMARY) in
plugins/module_utils/mysql/args.py (keep them in step)."""

from __future__ import annotations


class ModuleDocFragment(object):
    # mysql_promote.
    DOCUMENTATION = r"""
options:
  members:
    description:
      - Every member of the cluster, each as the module (on the controller) reaches it.
      - List them by ordinal (C(mysql-0), C(mysql-1), ...); where the module has to choose between
        equal members, it takes the first listed.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The member's name (the pod name); messages and results, and any option that names a
          member, use it.
        type: str
        required: true
      host:
        description: Address the module connects to.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 3306
"""

    # mysql_cluster_check: the same members, each also saying whether it is the primary. ansible-core
    # lays a module's option over a fragment's key by key, never into suboptions, so a module cannot
    # add a suboption itself; and ansible-test reads fragments as plain string literals, so this
    # variant repeats the text above with the one suboption more. Keep the two in step.
    WITH_PRIMARY = r"""
options:
  members:
    description:
      - Every member of the cluster, each as the module (on the controller) reaches it.
      - List them by ordinal (C(mysql-0), C(mysql-1), ...); where the module has to choose between
        equal members, it takes the first listed.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The member's name (the pod name); messages and results, and any option that names a
          member, use it.
        type: str
        required: true
      host:
        description: Address the module connects to.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 3306
      primary:
        description: Whether this member is the primary (exactly one for O(action=verify)).
        type: bool
        default: false
"""
