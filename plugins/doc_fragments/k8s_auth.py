# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options; pairs with AUTH_ARG_SPEC in module_utils/k8s/common.py."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dict.
      - When neither O(kubeconfig), O(context) nor O(host) is set, the in-cluster service account is used
        inside a pod, else C(~/.kube/config) (or the first file in E(KUBECONFIG)).
      - Can be set with E(K8S_AUTH_KUBECONFIG), as AWX's Kubernetes credential does.
    type: raw
  context:
    description:
      - Context of the kubeconfig to use instead of its current context.
      - A context the kubeconfig does not have fails with the list of available contexts.
      - Can be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the API server, for example C(https://127.0.0.1:6443). Use with O(api_key) or
        O(client_cert)/O(client_key). Overrides the server of a kubeconfig.
      - Can be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Never logged.
      - Can be set with E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Unset keeps the kubeconfig's choice (verify).
      - Can be set with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA bundle that signed the API server certificate.
      - Can be set with E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate for TLS client authentication.
      - Can be set with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key of O(client_cert).
      - Can be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP(S) proxy URL for the API server connection.
      - Can be set with E(K8S_AUTH_PROXY).
    type: str
notes:
  - Every API call shares one retry policy, jittered exponential backoff on 429, 5xx, connection resets
    and conflicting concurrent updates, bounded by the task's timeout. An API server that never answered
    fails after about 8 seconds with a message naming the address.
requirements:
  - kubernetes >= 30.1.0 (Python library, for kubeconfig and in-cluster credentials)
  - PyYAML
"""
