# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One present / absent / recreate path for a Kubernetes object, with check mode, diff and an exact changed.

Every writer module (headless_service, resource, statefulset) goes through these. The StatefulSet
adds its own decisions on top (claims, scaling, teardown order, waits) in lifecycle.py.
"""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.apply import NOT_READ, ImmutableFieldError, apply_object
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import make_diff


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


def apply(client, obj, options, check_mode, current=NOT_READ, manager=None, allies=()):
    """Apply ``obj`` once (a dry run in check mode); ImmutableFieldError is left to the caller.

    ``manager`` overrides the options' field manager (the StatefulSet's replicas-only one); ``allies``
    are our other field managers (see apply_object).
    """
    applied = apply_object(client, obj, field_manager=manager or options.field_manager, force=options.force,
                           check_mode=check_mode, current=current, allies=allies)
    return ObjectOutcome(applied.changed, applied.before, applied.after, applied.diff() if applied.changed else None)


def recreate(client, obj, current, options, check_mode, remove=None, allies=()):
    """Delete the live object ``current`` and apply ``obj`` again.

    ``remove(check_mode)`` deletes it (and waits for it to go) when a kind needs more than a plain
    delete; the default deletes it and does nothing in check mode. In check mode the live object is
    reported as it is: what a re-create gives is not known before the API has defaulted it.
    """
    meta = obj["metadata"]
    if remove is not None:
        remove(check_mode)
    elif not check_mode:
        client.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
    if check_mode:
        return ObjectOutcome(True, current, current, recreated=True)
    applied = apply_object(client, obj, field_manager=options.field_manager, force=options.force, allies=allies)
    return ObjectOutcome(True, current, applied.after, make_diff(current, applied.after), recreated=True)


def ensure_present(client, obj, options, check_mode):
    """Apply ``obj``; with ``options.recreate == 'orphan'`` delete and re-create it when an immutable field changes."""
    try:
        return apply(client, obj, options, check_mode)
    except ImmutableFieldError as exc:
        if options.recreate != "orphan":
            raise
        return recreate(client, obj, exc.current, options, check_mode)


def ensure_absent(client, api_version, kind, name, namespace, check_mode):
    """Delete the object (in check mode only read it); changed when it existed."""
    if check_mode:
        current = client.get(api_version, kind, name, namespace)
    else:
        current = client.delete(api_version, kind, name, namespace)
    if current is None:
        return ObjectOutcome(False)
    return ObjectOutcome(True, current, None, absent_diff(current))


def absent_diff(current):
    """The diff of deleting ``current``: what it was, and nothing after."""
    return {"before": make_diff(current, None)["before"], "after": {}}
