# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply with an exact ``changed``, check mode through dryRun=All, and a masked diff.

How a no-op costs one request without a GET first: every apply is sent with dryRun=All first.
The server sets our field manager's ``managedFields[].time`` to "now" whenever the apply would add,
change or remove a field we own, and leaves it untouched for a no-op. When the dry run shows our
entry last touched well before the response's Date (same server clock), nothing would change and
we are done after that single request. Otherwise (a real change, a create, or an object we touched
in the last seconds) we read the current object and apply for real; ``changed`` is then the
comparison of resourceVersion before and after, which is exact.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import K8sApiError, K8sError

MASK = "********"
MASK_CHANGED = "******** (changed)"
# Server-owned bookkeeping that never counts as a user-visible difference.
IGNORED_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
                    "selfLink")
# How far (seconds, on top of the request's own duration) our manager's timestamp may lag the
# response Date and still be "possibly this apply": inside it we pay the extra requests.
RECENT_WINDOW = 2.0

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


def _parse_time(value):
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def manager_time(obj, field_manager):
    """When our field manager's Apply entry last changed, or None when it has none."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply" \
                and not entry.get("subresource"):
            return _parse_time(entry.get("time"))
    return None


def possibly_changed(predicted, field_manager, date_header, elapsed):
    """True unless the dry-run answer proves that the apply is a no-op (see the module docstring)."""
    touched = manager_time(predicted, field_manager)
    if touched is None or not date_header:
        return True
    try:
        served = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return True
    if served is None:
        return True
    if served.tzinfo is None:  # "-0000" / GMT without offset: HTTP dates are UTC
        served = served.replace(tzinfo=timezone.utc)
    return (served - touched).total_seconds() <= RECENT_WINDOW + elapsed


def object_ref(obj):
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return "%s %s" % (obj.get("kind"), "%s/%s" % (ns, meta.get("name")) if ns else meta.get("name"))


def apply_object(client, obj, field_manager="statefuldb", force=True, check_mode=False):
    """Server-side apply ``obj``; returns an ApplyResult with the exact ``changed``.

    Costs one request for a no-op; three for a change (dry run, read, apply).
    """
    api_version, kind = obj["apiVersion"], obj["kind"]
    meta = obj["metadata"]
    name, namespace = meta["name"], meta.get("namespace")

    def send(dry_run):
        try:
            return client.patch(api_version, kind, name, namespace, obj, patch_type="apply", dry_run=dry_run,
                                field_manager=field_manager, force=force)
        except K8sApiError as exc:
            raise translate_apply_error(client, obj, exc)

    predicted = send(dry_run=True)
    if client.last_status == 201:
        after = predicted if check_mode else send(dry_run=False)
        return ApplyResult(True, None, after, created=True)
    if not possibly_changed(predicted, field_manager, client.last_headers.get("Date")
                            or client.last_headers.get("date"), client.last_elapsed):
        return ApplyResult(False, predicted, predicted)
    current = client.get(api_version, kind, name, namespace)
    if current is None:  # deleted between the two requests
        after = predicted if check_mode else send(dry_run=False)
        return ApplyResult(True, None, after, created=True)
    if check_mode:
        return ApplyResult(comparable(predicted) != comparable(current), current, predicted)
    after = send(dry_run=False)
    changed = (after.get("metadata") or {}).get("resourceVersion") != current["metadata"].get("resourceVersion")
    return ApplyResult(changed, current, after)


def comparable(obj):
    """The object without server bookkeeping that changes on every write (for check-mode compare)."""
    obj = copy.deepcopy(obj or {})
    meta = obj.get("metadata") or {}
    for key in ("managedFields", "resourceVersion"):
        meta.pop(key, None)
    return obj


def translate_apply_error(client, obj, exc):
    """Turn the API's refusals into messages that name the field and what to do."""
    ref = object_ref(obj)
    if exc.status == 409 and "conflict" in (exc.body.get("message") or "").lower():
        fields = [c.get("field") for c in exc.causes if c.get("field")]
        owners = sorted({c.get("message", "").split('"')[1] for c in exc.causes if '"' in c.get("message", "")})
        return K8sApiError(
            "%s: fields %s are owned by another field manager (%s); set force: true to take them over, or "
            "change them with that tool" % (ref, ", ".join(fields) or "?", ", ".join(owners) or "unknown"),
            status=409, reason="Conflict", body=exc.body)
    if exc.status == 422:
        current = None
        kind = obj.get("kind")
        if kind in IMMUTABLE_FIELDS or _mentions_immutable(exc):
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


def _vct_essentials(templates):
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
            wanted_e, live_e = _vct_essentials(wanted), _vct_essentials(live)
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
                field, _vct_essentials(get_path(current, field)), _vct_essentials(get_path(desired, field))))
        else:
            details.append("%s (live %r, wanted %r)" % (field, get_path(current or {}, field), get_path(desired, field)))
    return ("%s: %s cannot be changed on an existing object: %s. Set recreate: orphan to delete it with "
            "propagationPolicy=Orphan and create it again (pods and PVCs are kept), or keep the live value"
            % (ref, " and ".join(fields), "; ".join(details)))


# -- quantities -------------------------------------------------------------------------------
_SUFFIXES = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
             "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}


def quantity_bytes(value):
    """'10Gi' -> 10737418240; None when it cannot be parsed."""
    if value is None:
        return None
    text = str(value).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            try:
                return int(float(text[:-len(suffix)]) * _SUFFIXES[suffix])
            except ValueError:
                return None
    try:
        return int(float(text))
    except ValueError:
        return None


def normalize_quantity(value):
    number = quantity_bytes(value)
    return number if number is not None else value


# -- masking and diff ------------------------------------------------------------------------
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
