# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes layer's errors: each carries a message meant for the user, never a traceback."""
from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import TRANSIENT, classify_status


class K8sError(Exception):
    """A failure with a message meant for the user (no traceback needed)."""

    def __init__(self, msg, status=None, reason=None, body=None):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.reason = reason
        self.body = body or {}

    @property
    def causes(self):
        return (self.body.get("details") or {}).get("causes") or []


class K8sConfigError(K8sError):
    """Credentials or kubeconfig cannot be used (wrong context, missing file, ...)."""


class K8sUnreachableError(K8sError):
    """The API server did not answer within the retry budget."""


class K8sApiError(K8sError):
    """The API server answered with an error status."""


def is_retryable_status(status, body):
    """429/502/503/504, a 500 that is not a refusal of the input, and 409s that mean "try again"."""
    message = ((body or {}).get("message", "") or "") if isinstance(body, dict) else ""
    if classify_status(status, message) == TRANSIENT:
        return True
    if status == 409:
        reason = (body or {}).get("reason", "")
        if "the object has been modified" in message or "is being deleted" in message:
            return True
        if reason == "AlreadyExists" and "deleted" in message:
            return True
    return False


def short_reason(exc):
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "timed out", "Connection reset", "No route to host", "certificate verify failed",
                   "Hostname mismatch"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]


def api_error(method, path, status, body):
    message = body.get("message") if isinstance(body, dict) else None
    reason = body.get("reason") if isinstance(body, dict) else None
    if status == 401:
        text = "the API server rejected the credentials (401 Unauthorized); check api_key/kubeconfig user"
    elif status == 403:
        text = "forbidden (403): %s" % message
    else:
        text = "%s %s failed (%s %s): %s" % (method, path.split("?")[0], status, reason or "", message or body)
    return K8sApiError(text, status=status, reason=reason, body=body if isinstance(body, dict) else {})
