# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster DNS domain option; pairs with DNS_ARG_SPEC in module_utils/k8s/common.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  cluster_domain:
    description: Cluster DNS domain used to build the DNS names.
    type: str
    default: cluster.local
"""
