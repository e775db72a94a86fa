# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes layer's errors: each carries a message meant for the user, never a traceback."""
from __future__ import annotations


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
