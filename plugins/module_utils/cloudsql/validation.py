# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names the Cloud SQL Admin API accepts, checked before the first request, and path escaping.

A name with a '/' would otherwise become part of the URL path and address another resource
(instance "orders/users" reads the users list of instance "orders"), so every name is validated
here and every path part is escaped by the client anyway.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# Resource Manager project IDs: 6-30 lowercase letters, digits and hyphens, starting with a letter and
# not ending with a hyphen; older projects may carry a domain prefix ("example.com:my-project").
PROJECT_ID = re.compile(r"^([a-z0-9][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$")
# Instance IDs: lowercase letters, digits and hyphens, starting with a letter; the API allows at most
# 98 characters together with the project ID.
INSTANCE_ID = re.compile(r"^[a-z][-a-z0-9]*$")
INSTANCE_ID_MAX = 98
# MySQL identifiers as Cloud SQL creates them: no quoting surprises, at most 64 characters.
DATABASE_NAME = re.compile(r"^[A-Za-z0-9_$-]{1,64}$")
MYSQL_USER_MAX = 32


class CloudSqlInputError(ValueError):
    """Bad user input; the message names the option and what a valid value looks like."""


def project_error(value, field="project"):
    if not value:
        return "%s is required (the Google Cloud project ID, or set GCP_PROJECT)" % field
    if not isinstance(value, str) or not PROJECT_ID.match(value):
        return ("%s: %r is not a Google Cloud project ID (6-30 lowercase letters, digits and hyphens, starting "
                "with a letter and not ending with a hyphen, such as my-project-123); use the ID, not the "
                "display name or number" % (field, value))
    return None


def instance_error(value, field="instance", project=None):
    if not value:
        return "%s is required (the Cloud SQL instance ID, such as orders-db)" % field
    if not isinstance(value, str) or not INSTANCE_ID.match(value) or value.endswith("-"):
        hint = ""
        if isinstance(value, str) and value.count(":") == 2:
            hint = "; that looks like a connection name, give only its last part (%s)" % value.rsplit(":", 1)[-1]
        return ("%s: %r is not a Cloud SQL instance ID (lowercase letters, digits and hyphens, starting with a "
                "letter, without the project)%s" % (field, value, hint))
    if len(value) + len(project or "") > INSTANCE_ID_MAX:
        return ("%s: %r is too long; the project and instance IDs together have at most %d characters"
                % (field, value, INSTANCE_ID_MAX))
    return None


def database_error(value, field="name"):
    if not value or not isinstance(value, str) or not DATABASE_NAME.match(value):
        return ("%s: %r is not a valid database name (1-64 letters, digits, '_', '$' or '-'; no spaces, "
                "quotes, ';' or '/')" % (field, value))
    return None


def user_error(value, field="name", user_type="BUILT_IN"):
    if not value or not isinstance(value, str) or not value.strip():
        return "%s is required (the user name)" % field
    if "/" in value or any(ord(c) < 32 for c in value):
        return "%s: %r contains '/' or a control character, which no user name may contain" % (field, value)
    if user_type == "BUILT_IN" and len(value) > MYSQL_USER_MAX:
        return ("%s: %r is %d characters long; MySQL user names have at most %d"
                % (field, value, len(value), MYSQL_USER_MAX))
    if user_type in ("CLOUD_IAM_USER", "CLOUD_IAM_SERVICE_ACCOUNT", "CLOUD_IAM_GROUP") and "@" not in value:
        return ("%s: %r is not an email address; %s users are named by their email (a service account "
                "without .gserviceaccount.com)" % (field, value, user_type))
    return None


def user_host_error(value, field="host"):
    """The MySQL host part of a user: '%', a host name, an address or a pattern with '%' and '_'."""
    if value is None:
        return None
    if not value or not re.match(r"^[A-Za-z0-9.%_:-]{1,255}(/[0-9.]+)?$", value):
        return ("%s: %r is not a MySQL user host; give %% (any host), a host name, an IP address or a "
                "pattern such as 10.0.%%" % (field, value))
    return None


def api_endpoint_error(value, field="api_endpoint"):
    if not isinstance(value, str) or not value.strip():
        return "%s is required (https://sqladmin.googleapis.com/)" % field
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or re.search(r"\s", value):
        return ("%s: %r is not a URL; give scheme and host, such as https://sqladmin.googleapis.com/"
                % (field, value))
    try:
        parts.port
    except ValueError:
        return "%s: %r has an invalid port (1-65535)" % (field, value)
    return None


def check(*errors):
    """Raise CloudSqlInputError with the first error, if any."""
    for error in errors:
        if error:
            raise CloudSqlInputError(error)


def path_part(value):
    """One URL path segment: '/', '?', '#' and '%' are escaped so a value can never address another
    resource, whatever validation let through."""
    return quote(str(value), safe="")
