# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue of the Kubernetes modules: shared argument specs (doc fragments k8s_auth/apply/wait) and helpers."""
from __future__ import annotations

import base64
import binascii

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.client import (
    K8sClient,
    K8sError,
    missing_libraries,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.kubeconfig import kubeconfig_secret_values
from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.validation import url_error

# Pairs one-to-one with plugins/doc_fragments/k8s_auth.py. Env names are the ones AWX's
# "OpenShift or Kubernetes API Bearer Token" credential type injects (and kubernetes.core reads).
# kubeconfig is not no_log: that would mask its every string (a path, "v1", a server URL) wherever it
# appears in the output. K8sModule masks the credentials inside a kubeconfig dict instead.
AUTH_ARG_SPEC = {
    "kubeconfig": {"type": "raw", "no_log": False, "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"],
                       "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"])},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": (env_fallback, ["K8S_AUTH_CERT_FILE"])},
    "client_key": {"type": "path", "aliases": ["key_file"], "no_log": False,
                   "fallback": (env_fallback, ["K8S_AUTH_KEY_FILE"])},
    "proxy": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_PROXY"])},
    "no_proxy": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_NO_PROXY"])},
    "impersonate_user": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_IMPERSONATE_USER"])},
    "impersonate_groups": {"type": "list", "elements": "str",
                           "fallback": (env_fallback, ["K8S_AUTH_IMPERSONATE_GROUPS"])},
}

# Pairs with plugins/doc_fragments/k8s_wait.py.
WAIT_ARG_SPEC = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 600},
    "stall_timeout": {"type": "int", "default": 180},
}

# Pairs with plugins/doc_fragments/k8s_apply.py.
APPLY_ARG_SPEC = {
    "field_manager": {"type": "str", "default": "statefuldb"},
    # force_conflicts: kubernetes.core.k8s's server_side_apply.force_conflicts means exactly this. Its own
    # top-level force (replace the object) does not, so nothing else is aliased.
    "force": {"type": "bool", "default": False, "aliases": ["force_conflicts"]},
}

# Pairs with plugins/doc_fragments/k8s_dns.py.
DNS_ARG_SPEC = {
    "cluster_domain": {"type": "str", "default": "cluster.local"},
}


def secret_object_values(objects):
    """The values of Secret objects (as given and in their other encoding) for a module's no-log list."""
    values = set()
    for obj in objects or []:
        if not isinstance(obj, dict) or obj.get("kind") != "Secret":
            continue
        for value in (obj.get("stringData") or {}).values() if isinstance(obj.get("stringData"), dict) else ():
            text = str(value)
            values.update([text, base64.b64encode(text.encode()).decode()])
        for value in (obj.get("data") or {}).values() if isinstance(obj.get("data"), dict) else ():
            values.add(str(value))
            try:
                values.add(base64.b64decode(str(value), validate=True).decode())
            except (ValueError, binascii.Error, UnicodeDecodeError):
                pass
    return {v for v in values if v}


class K8sModule(AnsibleModule):
    """AnsibleModule that knows the task's secret values before it writes anything.

    AnsibleModule logs "Invoked with ..." to syslog / journald inside __init__, masking only the
    values of no_log options. A kubeconfig dict's token or a Secret's data are secret by where they
    sit in a value, so they are registered as no-log values before that line is written (and before
    any result, diff or failure message), with or without no_log on the task.
    ``secret_values`` is a callable(params) -> iterable of strings for the module's own values.
    """

    def __init__(self, *args, **kwargs):
        self._secret_values = kwargs.pop("secret_values", None)
        super().__init__(*args, **kwargs)
        self._register_secret_values()  # when the task has no_log, _log_invocation is skipped

    def _register_secret_values(self):
        found = set(kubeconfig_secret_values(self.params.get("kubeconfig")))
        if self._secret_values is not None:
            found.update(self._secret_values(self.params))
        self.no_log_values.update(v for v in found if v)

    def _log_invocation(self):
        self._register_secret_values()
        super()._log_invocation()


def k8s_module(spec, apply=False, wait=False, dns=False, **kwargs):
    """The K8sModule of a Kubernetes module: its own options plus the shared ones it documents, check mode on.

    ``apply`` / ``wait`` / ``dns`` add the options of the k8s_apply / k8s_wait / k8s_dns doc fragments;
    the auth options (k8s_auth) are always there.
    """
    spec = dict(spec)
    for wanted, shared in ((True, AUTH_ARG_SPEC), (wait, WAIT_ARG_SPEC), (apply, APPLY_ARG_SPEC), (dns, DNS_ARG_SPEC)):
        if wanted:
            spec.update(shared)
    return K8sModule(argument_spec=spec, supports_check_mode=True, **kwargs)


def auth_params(params):
    return {key: params.get(key) for key in AUTH_ARG_SPEC}


def make_client(module, timeout=None):
    """A K8sClient from the module's auth options, or fail_json with a clear message."""
    for name, error in missing_libraries():
        module.fail_json(msg=missing_required_lib(name), exception=str(error))
    for option in ("host", "proxy"):
        if module.params.get(option):
            error = url_error(module.params[option], option)
            if error:
                module.fail_json(msg=error)
    try:
        client = K8sClient.from_auth(auth_params(module.params), timeout=timeout or 300)
    except K8sError as exc:
        module.fail_json(msg=exc.msg)
    # A server address from a kubeconfig is checked too: a malformed one can never connect.
    error = url_error(client.host, "host (the API server address from %s)" % (
        "host" if module.params.get("host") else "the kubeconfig"))
    if error:
        module.fail_json(msg=error)
    return client


def fail(module, exc, **extra):
    """fail_json from a K8sError: the message only, never a traceback for a user mistake."""
    result = {"msg": exc.msg}
    if getattr(exc, "status", None):
        result["status"] = exc.status
    result.update(extra)
    module.fail_json(**result)


def exit_with(module, client, result, diff=None, object_key=None):
    """exit_json with the task's request count, and ``diff`` when diff mode asks for it.

    ``object_key`` names the key holding the task's object (``service``, ``statefulset``); the same object
    is returned under ``result`` too, the key kubernetes.core.k8s returns it under.
    """
    if object_key is not None:
        result["result"] = result[object_key]
    result["api_requests"] = client.request_count
    if module._diff and diff:
        result["diff"] = diff
    module.exit_json(**result)
