# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One present / absent / recreate path for a Kubernetes object, with check mode, diff and an exact changed.

The writer modules (headless_service, resource) call these instead of each writing the path again.
The StatefulSet has its own decisions on top (claims, scaling, waits) in lifecycle.py.
"""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import (
    ImmutableFieldError,
    apply_object,
    make_diff,
)


class ApplyOptions:
    """The apply options of a task (APPLY_ARG_SPEC), read once from the module's parameters."""

    def __init__(self, field_manager="statefuldb", force=False, recreate="never"):
        self.field_manager = field_manager
        self.force = bool(force)
        self.recreate = recreate

    @classmethod
    def from_params(cls, params):
        return cls(params["field_manager"], params["force"], params.get("recreate") or "never")


class ObjectOutcome:
    """What ensure_present / ensure_absent did to one object."""

    def __init__(self, changed, before=None, after=None, diff=None, recreated=False):
        self.changed = changed
        self.before = before
        self.after = after
        self.diff = diff  # None when nothing changed (or nothing can be predicted in check mode)
        self.recreated = recreated


def ensure_present(client, obj, options, check_mode):
    """Apply ``obj``; with ``options.recreate == 'orphan'`` delete and re-create it when an immutable field changes.

    In check mode nothing is written: the apply is a dry run, and a needed re-create is reported with the
    live object as it is (what a re-create would give is not known before the API has defaulted it).
    """
    try:
        applied = apply_object(client, obj, options.field_manager, options.force, check_mode)
    except ImmutableFieldError as exc:
        if options.recreate != "orphan":
            raise
        if check_mode:
            return ObjectOutcome(True, exc.current, exc.current, recreated=True)
        meta = obj["metadata"]
        client.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        applied = apply_object(client, obj, options.field_manager, options.force)
        return ObjectOutcome(True, exc.current, applied.after, make_diff(exc.current, applied.after), recreated=True)
    return ObjectOutcome(applied.changed, applied.before, applied.after, applied.diff() if applied.changed else None)


def ensure_absent(client, api_version, kind, name, namespace, check_mode):
    """Delete the object (in check mode only read it); changed when it existed."""
    if check_mode:
        current = client.get(api_version, kind, name, namespace)
    else:
        current = client.delete(api_version, kind, name, namespace)
    if current is None:
        return ObjectOutcome(False)
    return ObjectOutcome(True, current, None, {"before": make_diff(current, None)["before"], "after": {}})
