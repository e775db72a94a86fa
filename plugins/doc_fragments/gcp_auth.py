# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by every Cloud SQL module; paired with GCP_AUTH_ARG_SPEC in
plugins/module_utils/cloudsql/args.py (keep the two in step)."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  project:
    description:
      - The Google Cloud project that owns the Cloud SQL instance.
      - If not set, the value of the E(GCP_PROJECT) environment variable is used.
    type: str
    required: true
  auth_kind:
    description:
      - How to obtain credentials.
      - V(application) uses Application Default Credentials (E(GOOGLE_APPLICATION_CREDENTIALS),
        the gcloud user credentials or the metadata server).
      - V(serviceaccount) uses a service-account JSON key from O(service_account_file) or
        O(service_account_contents). The key's C(token_uri) is honoured.
      - V(accesstoken) uses the OAuth 2.0 bearer token in O(access_token) as it is.
      - If not set, the value of the E(GCP_AUTH_KIND) environment variable is used.
    type: str
    choices: [application, serviceaccount, accesstoken]
    default: application
  service_account_file:
    description:
      - Path to a service-account JSON key file. Used with O(auth_kind=serviceaccount).
      - If not set, the value of the E(GCP_SERVICE_ACCOUNT_FILE) environment variable is used.
    type: path
  service_account_contents:
    description:
      - The content of a service-account JSON key, as a string or a dictionary.
        Used with O(auth_kind=serviceaccount). Mutually exclusive with O(service_account_file). Never logged.
      - If not set, the value of the E(GCP_SERVICE_ACCOUNT_CONTENTS) environment variable is used.
    type: jsonarg
  access_token:
    description:
      - An OAuth 2.0 access token. Used with O(auth_kind=accesstoken). Never logged.
      - If not set, the value of the E(GCP_ACCESS_TOKEN) environment variable is used.
    type: str
  scopes:
    description:
      - OAuth 2.0 scopes requested for the credentials.
      - If not set, the value of the E(GCP_SCOPES) environment variable (comma separated) is used.
    type: list
    elements: str
    default: ['https://www.googleapis.com/auth/sqlservice.admin']
  api_endpoint:
    description:
      - Base URL of the Cloud SQL Admin API. Change it only for a private endpoint or a test server.
      - A name that does not resolve, a refused connection, a certificate that does not verify, or
        no connection at all within O(request_timeout) before the endpoint ever answered fails the
        task at once with a message naming the endpoint; these are not retried.
    type: str
    default: https://sqladmin.googleapis.com/
  request_timeout:
    description:
      - Seconds to wait for one HTTP response from the Admin API (never more than what is left of
        O(wait_timeout)).
    type: int
    default: 30
  wait_timeout:
    description:
      - Seconds the whole task may take, all its requests, retries and operation waits together
        (one deadline, not one per request). Retried within it are throttled (429), failing (5xx)
        and busy (409 operationInProgress) requests, timeouts and dropped connections.
      - A C(Retry-After) from the API is waited in full; one longer than what is left of
        O(wait_timeout) fails the task at once instead of retrying early.
    type: int
    default: 600
notes:
  - Credentials set up by an AWX / Automation Platform "Google Compute Engine" credential are
    read from the E(GCP_*) environment variables.
  - Secrets (O(service_account_contents), O(access_token)) are never returned or logged.
requirements:
  - google-auth
  - requests
"""
