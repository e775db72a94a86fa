# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""google-auth credentials and an authorized requests session for the Cloud SQL Admin API."""

from __future__ import annotations

import json
import os

try:
    import google.auth
    import google.auth.exceptions
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import credentials as oauth2_credentials
    from google.oauth2 import service_account
    HAS_GOOGLE_AUTH = True
    GOOGLE_AUTH_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module via missing_required_lib
    HAS_GOOGLE_AUTH = False
    GOOGLE_AUTH_IMPORT_ERROR = exc

SERVICE_ACCOUNT_REQUIRED_KEYS = ("type", "client_email", "private_key", "token_uri")


class GcpAuthError(Exception):
    """Credentials could not be built; the message says which option to fix."""


def _load_service_account_info(service_account_file, service_account_contents):
    if service_account_file and service_account_contents:
        raise GcpAuthError("service_account_file and service_account_contents are mutually "
                           "exclusive; set only one of them")
    if service_account_file:
        if not os.path.isfile(service_account_file):
            raise GcpAuthError("service_account_file %s does not exist or is not a file"
                               % service_account_file)
        try:
            with open(service_account_file) as handle:
                info = json.load(handle)
        except ValueError:
            raise GcpAuthError("service_account_file %s is not a JSON service-account key"
                               % service_account_file)
    elif service_account_contents:
        info = service_account_contents
        if isinstance(info, str):
            try:
                info = json.loads(info)
            except ValueError:
                raise GcpAuthError("service_account_contents is not valid JSON; pass the "
                                   "content of the service-account key file")
    else:
        raise GcpAuthError("auth_kind=serviceaccount needs service_account_file or "
                           "service_account_contents (or GCP_SERVICE_ACCOUNT_FILE / "
                           "GCP_SERVICE_ACCOUNT_CONTENTS)")
    if not isinstance(info, dict):
        raise GcpAuthError("the service-account key must be a JSON object")
    missing = [key for key in SERVICE_ACCOUNT_REQUIRED_KEYS if not info.get(key)]
    if missing:
        raise GcpAuthError("the service-account key lacks %s; download a new JSON key for the "
                           "service account" % ", ".join(missing))
    if info.get("type") != "service_account":
        raise GcpAuthError("the key has type %r; auth_kind=serviceaccount needs a key of type "
                           "'service_account'" % info.get("type"))
    return info


def build_credentials(auth_kind, service_account_file=None, service_account_contents=None,
                      access_token=None, scopes=None):
    """Return google-auth credentials for one of the three auth kinds."""
    scopes = list(scopes or [])
    if auth_kind == "accesstoken":
        if not access_token:
            raise GcpAuthError("auth_kind=accesstoken needs access_token (or GCP_ACCESS_TOKEN)")
        return oauth2_credentials.Credentials(token=access_token)
    if auth_kind == "serviceaccount":
        info = _load_service_account_info(service_account_file, service_account_contents)
        try:
            # from_service_account_info keeps the key's token_uri, so a private token
            # endpoint (or a test server) is used instead of oauth2.googleapis.com.
            return service_account.Credentials.from_service_account_info(info, scopes=scopes)
        except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
            raise GcpAuthError("the service-account key could not be loaded: %s" % exc)
    if auth_kind == "application":
        try:
            credentials, _project = google.auth.default(scopes=scopes)
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise GcpAuthError("no Application Default Credentials were found (%s); run "
                               "'gcloud auth application-default login', set "
                               "GOOGLE_APPLICATION_CREDENTIALS, or use auth_kind=serviceaccount"
                               % exc)
        return credentials
    raise GcpAuthError("auth_kind must be one of application, serviceaccount, accesstoken; got %r"
                       % auth_kind)


def build_session(credentials):
    """A requests session that sends the credentials' bearer token and refreshes it."""
    if isinstance(credentials, oauth2_credentials.Credentials) and not credentials.refresh_token:
        # A bare access token cannot be refreshed: let a 401 reach the caller as it is.
        return AuthorizedSession(credentials, refresh_status_codes=())
    return AuthorizedSession(credentials)
