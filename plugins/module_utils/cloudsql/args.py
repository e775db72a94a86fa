# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec shared by every Cloud SQL module; documented by doc_fragments/gcp_auth.py."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

DEFAULT_SCOPES = ["https://www.googleapis.com/auth/sqlservice.admin"]
DEFAULT_API_ENDPOINT = "https://sqladmin.googleapis.com/"


def _scopes_fallback():
    # GCP_SCOPES is a comma separated list, as AWX sets it.
    value = env_fallback("GCP_SCOPES")
    return [s.strip() for s in value.split(",") if s.strip()]


GCP_AUTH_ARG_SPEC = dict(
    project=dict(type="str", required=True, fallback=(env_fallback, ["GCP_PROJECT"])),
    auth_kind=dict(type="str", default="application",
                   choices=["application", "serviceaccount", "accesstoken"],
                   fallback=(env_fallback, ["GCP_AUTH_KIND"])),
    service_account_file=dict(type="path", fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_FILE"])),
    service_account_contents=dict(type="jsonarg", no_log=True,
                                  fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_CONTENTS"])),
    access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["GCP_ACCESS_TOKEN"])),
    scopes=dict(type="list", elements="str", default=list(DEFAULT_SCOPES),
                fallback=(_scopes_fallback, [])),
    api_endpoint=dict(type="str", default=DEFAULT_API_ENDPOINT),
    request_timeout=dict(type="int", default=30),
    wait_timeout=dict(type="int", default=600),
)

GCP_AUTH_MUTUALLY_EXCLUSIVE = [("service_account_file", "service_account_contents")]


def gcp_argument_spec(**module_options):
    """The shared GCP options plus the module's own."""
    spec = {name: dict(value) for name, value in GCP_AUTH_ARG_SPEC.items()}
    spec.update(module_options)
    return spec
