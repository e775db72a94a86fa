# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module glue of the Cloud SQL modules: their AnsibleModule, a CloudSqlClient from its options, one way to finish."""

from __future__ import annotations

import importlib.util

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import CloudSqlClient, CloudSqlError
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.args import (
    GCP_AUTH_MUTUALLY_EXCLUSIVE,
    gcp_argument_spec,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.auth import (
    GOOGLE_AUTH_IMPORT_ERROR,
    HAS_GOOGLE_AUTH,
    GcpAuthError,
    build_credentials,
    build_session,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.validation import (
    CloudSqlInputError,
    api_endpoint_error,
    check,
    instance_error,
    project_error,
)

# google-auth's requests transport needs it; checked separately for a precise message.
HAS_REQUESTS = importlib.util.find_spec("requests") is not None


def client_from_module(module):
    """A CloudSqlClient for module.params (project, instance, auth, api_endpoint, timeouts)."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"))
    if not HAS_GOOGLE_AUTH:
        module.fail_json(msg=missing_required_lib("google-auth"), exception=str(GOOGLE_AUTH_IMPORT_ERROR))
    params = module.params
    # Names and the endpoint first: a mistake here is never sent, never retried.
    try:
        check(project_error(params["project"]),
              instance_error(params["instance"], project=params["project"]) if "instance" in params else None,
              api_endpoint_error(params["api_endpoint"]))
    except CloudSqlInputError as exc:
        module.fail_json(msg=str(exc))
    for option in ("request_timeout", "wait_timeout"):
        if params[option] is not None and params[option] <= 0:
            module.fail_json(msg="%s must be a positive number of seconds" % option)
    try:
        credentials = build_credentials(params["auth_kind"], params["service_account_file"],
                                        params["service_account_contents"], params["access_token"],
                                        params["scopes"])
    except GcpAuthError as exc:
        module.fail_json(msg="Cannot build Google credentials: %s" % exc)
    return CloudSqlClient(build_session(credentials), params["project"], params.get("instance"),
                          api_endpoint=params["api_endpoint"],
                          request_timeout=params["request_timeout"],
                          wait_timeout=params["wait_timeout"])


def cloudsql_module(**options):
    """The AnsibleModule of a Cloud SQL module: the shared GCP options plus its own, check mode supported."""
    return AnsibleModule(argument_spec=gcp_argument_spec(**options), supports_check_mode=True,
                         mutually_exclusive=GCP_AUTH_MUTUALLY_EXCLUSIVE)


def exit_with(module, task, input_errors=()):
    """Run ``task(client)`` and exit with the result it returns (its diff only with --diff).

    A CloudSqlError or one of ``input_errors`` fails the task with its message."""
    client = client_from_module(module)
    try:
        result = task(client)
    except (CloudSqlError,) + tuple(input_errors) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
