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
      - Where credentials come from, in kubectl's order; the first that applies is used.
      - First, the options O(kubeconfig), O(context), O(host), O(api_key) (or their E(K8S_AUTH_*) variables).
      - Second, the files listed in E(KUBECONFIG), separated by V(:), merged as kubectl merges them (the first
        file to define a cluster, user or context name wins; the current context comes from the first
        file that sets one; missing files are skipped).
      - Third, C(~/.kube/config).
      - Last, the in-cluster service account, only when no kubeconfig gives a context, as with kubectl. In a
        pod that sets E(KUBECONFIG) (an AWX job pod managing another cluster), the kubeconfig is used.
      - O(context) without O(kubeconfig) picks a context of the E(KUBECONFIG) / C(~/.kube/config) files.
        O(host) without O(kubeconfig) or O(context) reads no kubeconfig.
      - The kubeconfig fields read are C(server), C(certificate-authority[-data]), C(insecure-skip-tls-verify),
        C(tls-server-name), C(proxy-url), C(token), C(tokenFile), C(client-certificate[-data]),
        C(client-key[-data]), C(username)/C(password), C(as), C(as-groups), C(as-uid), C(as-user-extra),
        C(exec) and C(auth-provider) (this one through the kubernetes Python library). Relative paths are
        relative to the file that holds them.
      - An C(exec) credential plugin (gke-gcloud-auth-plugin, aws-iam-authenticator, C(aws eks get-token)) runs
        where the module runs and must be installed there (in AWX, in the execution environment). When it
        is missing or fails, the task fails with the kubeconfig user, the command, its exit status and the
        last lines of its stderr; what it printed on stdout (the credential) is never shown.
      - Not C(no_log), so that a path stays readable in the task's output; when a dict, its credentials
        (C(token), C(password), C(client-key-data), C(auth-provider) config, C(exec) environment values) are
        masked in logs, results and messages while servers and names stay readable.
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
      - URL of the API server with its scheme, for example C(https://127.0.0.1:6443). Use with O(api_key) or
        O(client_cert)/O(client_key). Overrides the server of a kubeconfig.
      - A value that is not an C(http) or C(https) URL fails at once, before any request.
      - Can be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Never logged.
      - Can be set with E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Unset keeps the kubeconfig's choice
        (C(insecure-skip-tls-verify), else verify).
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
      - Path to the key of O(client_cert) (a path, not the key itself).
      - Can be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - Proxy URL for the API server connection; wins over the kubeconfig's C(proxy-url).
      - Schemes C(http), C(https) and C(socks5) (the proxy resolves the API server's name, as with kubectl).
        C(socks5) needs the PySocks Python library; another scheme, or socks5 without PySocks, fails at once
        with a message.
      - When neither this nor the kubeconfig's C(proxy-url) is set, E(HTTPS_PROXY) (E(HTTP_PROXY) for an
        C(http://) server) and E(NO_PROXY) apply as in kubectl; a loopback server is never proxied.
      - Can be set with E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains (C(example.com) matches its subdomains), IP addresses and CIDR ranges
        to reach without a proxy, or V(*). Applies to the API server's address whatever the proxy's source
        (O(proxy), C(proxy-url), E(HTTPS_PROXY)).
      - Can be set with E(K8S_AUTH_NO_PROXY).
    type: str
    version_added: 0.1.0
  impersonate_user:
    description:
      - User to act as (HTTP header C(Impersonate-User)), like C(kubectl --as). Replaces the kubeconfig
        user's C(as), C(as-groups), C(as-uid) and C(as-user-extra).
      - The credentials used need the C(impersonate) verb on that user (and on the groups).
      - Can be set with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
    version_added: 0.1.0
  impersonate_groups:
    description:
      - Groups to act as (one C(Impersonate-Group) header each), like C(kubectl --as-group). Needs a user
        (O(impersonate_user) or the kubeconfig's C(as)).
      - Can be set with E(K8S_AUTH_IMPERSONATE_GROUPS), comma-separated.
    type: list
    elements: str
    version_added: 0.1.0
notes:
  - Every API call of a task shares one retry policy with one deadline for the whole task, jittered
    exponential backoff, and the server's C(Retry-After). Retried are what a retry can cure, during an API
    server restart or a load-balancer reset, an EOF, a reset connection, HTTP 429, 502, 503, 504, a 500
    that is not a refusal of the input, conflicting concurrent updates.
  - Not retried, and reported at once, are a certificate that does not verify (the message names the CA
    options; it never suggests turning verification off), a host name that does not resolve, a malformed
    API server URL, and a 500 whose message refuses the input (a validation or admission error).
  - An API server that never answered fails after about 8 seconds with a message naming the address.
requirements:
  - kubernetes >= 30.1.0 (Python library, for kubeconfig and in-cluster credentials)
  - PyYAML
"""
