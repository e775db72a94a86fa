# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply with an exact ``changed``, check mode through dryRun=All, and a masked diff.

Every apply reads the live object first and then applies (for real, or with dryRun=All in check
mode): two requests, change or no-op. ``changed`` compares what our field manager owns before and
after: the set of fields, their values and the time the server stamps on our entry when our apply
changes the object. A status write by a controller in between changes the resourceVersion but none
of that, so it does not count.

Why not one request for a no-op: a dry-run answer alone cannot prove a no-op. It shows the object as
it would be, and without the live object the only hint is our entry's timestamp, which would have
to be compared with a clock: the response's Date header is rewritten by proxies (nginx sets its
own), so a skewed clock would make a real change look like a no-op and skip it.
"""
from __future__ import annotations

import copy
import json

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sError
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.diff import make_diff, strip_bookkeeping
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.quantity import normalize_quantity

ABSENT = "<absent>"

IMMUTABLE_FIELDS = {
    "StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"),
    "Service": ("spec.clusterIP", "spec.clusterIPs"),
}


class ImmutableFieldError(K8sError):
    """An in-place update was refused because it changes fields that cannot change."""

    def __init__(self, msg, fields, current=None):
        super().__init__(msg, status=422, reason="Invalid")
        self.fields = fields
        self.current = current


class ApplyResult:
    """What one apply did: changed, the object before/after, a diff and the predicted object."""

    def __init__(self, changed, before, after, created=False):
        self.changed = changed
        self.before = before
        self.after = after
        self.created = created

    def diff(self):
        return make_diff(self.before, self.after)


def manager_entry(obj, field_manager):
    """Our field manager's Apply entry of managedFields (not a subresource's), or None."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply" \
                and not entry.get("subresource"):
            return entry
    return None


def _list_member(items, selector):
    kind, _sep, rest = selector.partition(":")
    if not isinstance(items, list):
        return ABSENT
    if kind == "k":
        keys = json.loads(rest)
        return next((i for i in items if isinstance(i, dict) and all(i.get(k) == v for k, v in keys.items())),
                    ABSENT)
    if kind == "v":
        wanted = json.loads(rest)
        return wanted if wanted in items else ABSENT
    if kind == "i":
        index = int(rest)
        return items[index] if 0 <= index < len(items) else ABSENT
    return ABSENT


def owned_view(fields, value):
    """The parts of ``value`` that a fieldsV1 tree names (f: keys, k:/v:/i: list members)."""
    children = {k: v for k, v in (fields or {}).items() if k != "."}
    if not children or value is ABSENT:
        return copy.deepcopy(value)  # a leaf, or an atomic value owned whole
    out = {}
    for key, sub in children.items():
        if key.startswith("f:"):
            child = value.get(key[2:], ABSENT) if isinstance(value, dict) else ABSENT
        else:
            try:
                child = _list_member(value, key)
            except ValueError:
                child = ABSENT
        out[key] = owned_view(sub, child)
    return out


def owned_state(obj, field_manager):
    """What ``field_manager`` owns in ``obj``: its entry (fields, time, version) and those fields' values."""
    entry = manager_entry(obj or {}, field_manager)
    if entry is None:
        return None
    fields = entry.get("fieldsV1") or {}
    return {"time": entry.get("time"), "apiVersion": entry.get("apiVersion"), "fields": fields,
            "values": owned_view(fields, obj)}


def _merged_fields(trees):
    out = {}
    for tree in trees:
        for key, sub in (tree or {}).items():
            out[key] = _merged_fields([out.get(key), sub]) if isinstance(sub, dict) else sub
    return out


def owned_by_us(obj, managers):
    """The fields all of ``managers`` own together in ``obj`` and their values (who of them owns which aside)."""
    fields = _merged_fields((manager_entry(obj or {}, m) or {}).get("fieldsV1") for m in sorted(managers))
    return {"fields": fields, "values": owned_view(fields, obj)}


def apply_changed(before, after, field_manager, allies=()):
    """Whether the apply changed what we own (not whether anyone else wrote in between).

    A field passing between our own managers (``allies``: the replicas-only apply and the full one)
    with its value unchanged is no change: together they own the same fields with the same values.
    """
    if before is None:
        return True
    ours_after = owned_state(after, field_manager)
    if ours_after is None:  # a server without managedFields: compare what the user sees
        return strip_bookkeeping(before) != strip_bookkeeping(after)
    if owned_state(before, field_manager) == ours_after:
        return False
    if not allies:
        return True
    managers = {field_manager} | set(allies)
    return owned_by_us(before, managers) != owned_by_us(after, managers)


def object_ref(obj):
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return "%s %s" % (obj.get("kind"), "%s/%s" % (ns, meta.get("name")) if ns else meta.get("name"))


NOT_READ = object()


def conflicting_managers(exc):
    """Names of the field managers a 409 apply conflict names (empty when it is not such a conflict)."""
    if exc.status != 409 or "conflict" not in (exc.body.get("message") or "").lower():
        return set()
    return {(c.get("message") or "").split('"')[1] for c in exc.causes if (c.get("message") or "").count('"') >= 2}


def apply_object(client, obj, field_manager="statefuldb", force=False, check_mode=False, current=NOT_READ,
                 allies=()):
    """Server-side apply ``obj``; returns an ApplyResult with the exact ``changed``.

    Two requests, change or no-op: read the live object, then apply (dryRun=All in check mode).
    ``current`` is the live object (None: it does not exist) when the caller has just read it.
    ``allies`` are our own other field managers (the replicas-only one): a conflict with them alone is
    not someone else's field, so the apply is sent again with force.
    """
    api_version, kind = obj["apiVersion"], obj["kind"]
    meta = obj["metadata"]
    name, namespace = meta["name"], meta.get("namespace")

    if current is NOT_READ:
        try:
            current = client.get(api_version, kind, name, namespace)
        except K8sApiError as exc:
            raise translate_apply_error(client, obj, exc)
    try:
        try:
            after = client.patch(api_version, kind, name, namespace, obj, patch_type="apply", dry_run=check_mode,
                                 field_manager=field_manager, force=force)
        except K8sApiError as exc:
            owners = conflicting_managers(exc)
            if not owners or not owners <= set(allies):
                raise
            after = client.patch(api_version, kind, name, namespace, obj, patch_type="apply", dry_run=check_mode,
                                 field_manager=field_manager, force=True)
    except K8sApiError as exc:
        raise translate_apply_error(client, obj, exc, current)
    if current is None or client.last_status == 201:
        return ApplyResult(True, None, after, created=True)
    return ApplyResult(apply_changed(current, after, field_manager, allies), current, after)


def translate_apply_error(client, obj, exc, current=None):
    """Turn the API's refusals into messages that name the field and what to do."""
    ref = object_ref(obj)
    if exc.status == 409 and "conflict" in (exc.body.get("message") or "").lower():
        conflicts = []
        for cause in exc.causes:
            message = cause.get("message") or ""
            owner = message.split('"')[1] if message.count('"') >= 2 else "another manager"
            conflicts.append("%s (owned by %s)" % (cause.get("field") or "?", owner))
        return K8sApiError(
            "%s: this apply sets fields another field manager owns: %s. Nothing was changed. Set force: true "
            "to take them over (that manager may set them back), leave them out of this task, or change them "
            "with that manager" % (ref, ", ".join(conflicts) or exc.body.get("message")),
            status=409, reason="Conflict", body=exc.body)
    if exc.status == 422:
        kind = obj.get("kind")
        if current is None and (kind in IMMUTABLE_FIELDS or _mentions_immutable(exc)):
            try:
                current = client.get(obj["apiVersion"], kind, obj["metadata"]["name"],
                                     obj["metadata"].get("namespace"))
            except K8sError:
                current = None
        fields = changed_immutable_fields(obj, current) if current else []
        if not fields and _mentions_immutable(exc):
            fields = [c.get("field") for c in exc.causes if c.get("field")] or ["spec"]
        if fields:
            return ImmutableFieldError(immutable_message(ref, fields, obj, current), fields, current)
        invalid = ["%s: %s" % (c.get("field"), c.get("message")) for c in exc.causes if c.get("field")]
        return K8sApiError("%s is invalid: %s" % (ref, "; ".join(invalid) or exc.body.get("message")),
                           status=422, reason="Invalid", body=exc.body)
    if exc.status == 404 and obj["metadata"].get("namespace"):
        return K8sApiError("%s: namespace %r does not exist (or %s is not served); create the namespace "
                           "first" % (ref, obj["metadata"]["namespace"], obj.get("apiVersion")),
                           status=404, reason="NotFound", body=exc.body)
    return exc


def _mentions_immutable(exc):
    text = (exc.body.get("message") or "") + " ".join(c.get("message", "") for c in exc.causes)
    return "immutable" in text or "Forbidden: updates to" in text


def get_path(obj, dotted):
    value = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def vct_essentials(templates):
    """What a user sets in volumeClaimTemplates, server defaults dropped (for comparing)."""
    out = []
    for template in templates or []:
        spec = template.get("spec") or {}
        out.append({
            "name": (template.get("metadata") or {}).get("name"),
            "accessModes": spec.get("accessModes"),
            "storage": normalize_quantity(((spec.get("resources") or {}).get("requests") or {}).get("storage")),
            "storageClassName": spec.get("storageClassName"),
        })
    return out


def changed_immutable_fields(desired, current):
    """Immutable fields whose desired value differs from the live object (only what desired sets)."""
    kind = desired.get("kind")
    changed = []
    for field in IMMUTABLE_FIELDS.get(kind, ()):
        wanted = get_path(desired, field)
        if wanted is None:
            continue
        live = get_path(current, field)
        if field == "spec.volumeClaimTemplates":
            wanted_e, live_e = vct_essentials(wanted), vct_essentials(live)
            for w, lv in zip(wanted_e, live_e):
                if w["storageClassName"] is None:
                    lv["storageClassName"] = None
                if w["accessModes"] is None:
                    lv["accessModes"] = None
            if wanted_e != live_e:
                changed.append(field)
        elif field == "spec.podManagementPolicy":
            if wanted != (live or "OrderedReady"):
                changed.append(field)
        elif field == "spec.selector":
            if (wanted.get("matchLabels") or {}) != ((live or {}).get("matchLabels") or {}) or \
                    (wanted.get("matchExpressions") or []) != ((live or {}).get("matchExpressions") or []):
                changed.append(field)
        elif field == "spec.clusterIP":
            if str(wanted) != str(live):
                changed.append(field)
        elif field == "spec.clusterIPs":
            if "spec.clusterIP" not in changed and list(wanted) != list(live or []):
                changed.append(field)
        elif wanted != live:
            changed.append(field)
    return changed


def immutable_message(ref, fields, desired, current):
    details = []
    for field in fields:
        if field == "spec.volumeClaimTemplates":
            details.append("%s (live %s, wanted %s)" % (
                field, vct_essentials(get_path(current, field)), vct_essentials(get_path(desired, field))))
        else:
            details.append("%s (live %r, wanted %r)" % (field, get_path(current or {}, field), get_path(desired, field)))
    return ("%s: %s cannot be changed on an existing object: %s. Set recreate: orphan to delete it with "
            "propagationPolicy=Orphan and create it again (pods and PVCs are kept), or keep the live value"
            % (ref, " and ".join(fields), "; ".join(details)))
