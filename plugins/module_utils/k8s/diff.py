# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the user sees of an object: the diff of what changed, the returned object, Secret values masked."""
from __future__ import annotations

import copy

MASK = "********"
MASK_CHANGED = "******** (changed)"
# Server-owned bookkeeping that never counts as a user-visible difference.
IGNORED_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
                    "selfLink")


def mask_secret(obj, other=None):
    """A copy of a Secret with every data/stringData value masked.

    With ``other`` (the object on the other side of a diff), values that differ are marked changed.
    """
    if not obj or obj.get("kind") != "Secret":
        return obj
    obj = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        values = obj.get(key)
        if not isinstance(values, dict):
            continue
        theirs = ((other or {}).get(key) or {}) if other is not None else None
        for item in values:
            changed = theirs is not None and theirs.get(item) != values[item]
            values[item] = MASK_CHANGED if changed else MASK
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if "kubectl.kubernetes.io/last-applied-configuration" in annotations:
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = MASK
    return obj


def strip_bookkeeping(obj):
    obj = copy.deepcopy(obj or {})
    meta = obj.get("metadata") or {}
    for key in IGNORED_METADATA:
        meta.pop(key, None)
    obj.pop("status", None)
    return obj


def _pruned_diff(before, after):
    """(before_only, after_only) holding just the paths whose values differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        b_out, a_out = {}, {}
        for key in sorted(set(before) | set(after)):
            if key not in after:
                b_out[key] = before[key]
            elif key not in before:
                a_out[key] = after[key]
            elif before[key] != after[key]:
                b_sub, a_sub = _pruned_diff(before[key], after[key])
                b_out[key], a_out[key] = b_sub, a_sub
        return b_out, a_out
    return before, after


def make_diff(before, after):
    """Ansible diff dict: before/after of what changed, Secret values masked."""
    masked_before = mask_secret(strip_bookkeeping(before)) if before else {}
    masked_after = mask_secret(strip_bookkeeping(after), strip_bookkeeping(before)) if after else {}
    if before and after:
        masked_before, masked_after = _pruned_diff(masked_before, masked_after)
    return {"before": masked_before, "after": masked_after}


def result_view(obj):
    """The object as returned to the user: Secrets masked, managedFields dropped (noise)."""
    if not obj:
        return obj
    obj = copy.deepcopy(obj)
    (obj.get("metadata") or {}).pop("managedFields", None)
    return mask_secret(obj)
