# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure one Cloud SQL user (BUILT_IN or IAM) exists or is absent."""

from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.validation import user_error, user_host_error

USER_TYPES = ("BUILT_IN", "CLOUD_IAM_USER", "CLOUD_IAM_SERVICE_ACCOUNT", "CLOUD_IAM_GROUP")
DEFAULT_MYSQL_HOST = "%"


class UserInputError(ValueError):
    pass


def validate_user(name, user_type, host, password, state):
    if not name or not str(name).strip():
        raise UserInputError("name is required")
    if user_type not in USER_TYPES:
        raise UserInputError("type %r is not supported; use one of %s" % (user_type, ", ".join(USER_TYPES)))
    error = user_error(name, "name", user_type) or user_host_error(host)
    if error:
        raise UserInputError(error)
    if state == "present" and user_type != "BUILT_IN" and password:
        raise UserInputError("password is only for type BUILT_IN; IAM users (%s) sign in with "
                             "IAM database authentication" % user_type)
    if user_type == "BUILT_IN" and len(name) > 32:
        raise UserInputError("name %r is %d characters long; MySQL user names have at most 32"
                             % (name, len(name)))
    if host is not None and user_type != "BUILT_IN":
        raise UserInputError("host is only for type BUILT_IN MySQL users; leave it unset for %s"
                             % user_type)


def _matches(user, name, host, user_type):
    if user.get("name") != name:
        return False
    if user_type == "BUILT_IN":
        return (user.get("host") or DEFAULT_MYSQL_HOST) == (host or DEFAULT_MYSQL_HOST)
    return True


def public_user(user):
    if not user:
        return None
    return {"name": user.get("name"), "host": user.get("host"), "type": user.get("type") or "BUILT_IN"}


def find_user(client, name, host, user_type):
    return next((u for u in client.list_users() if _matches(u, name, host, user_type)), None)


def ensure_user(client, name, user_type="BUILT_IN", host=None, password=None,
                update_password="on_create", state="present", check_mode=False):
    validate_user(name, user_type, host, password, state)
    if user_type == "BUILT_IN":
        host = host or DEFAULT_MYSQL_HOST
    client.get_instance()  # a clear 404 naming project and instance before anything else
    existing = find_user(client, name, host, user_type)
    before = public_user(existing)
    result = dict(changed=False, password_updated=False, diff=dict(before=before, after=before),
                  user=before)
    if state == "absent":
        if existing is None:
            return result
        result.update(changed=True, user=None, diff=dict(before=before, after=None))
        if not check_mode:
            client.wait_operation(client.delete_user(name, existing.get("host")))
        return result
    if existing is None:
        if user_type == "BUILT_IN" and not password:
            raise UserInputError("password is required to create the BUILT_IN user %r" % name)
        body = {"name": name, "type": user_type}
        if user_type == "BUILT_IN":
            body["host"] = host
            body["password"] = password
        after = public_user(body)
        result.update(changed=True, user=after, password_updated=bool(password),
                      diff=dict(before=None, after=after))
        if not check_mode:
            client.create(lambda: client.insert_user(body),
                          lambda: find_user(client, name, host, user_type))
        return result
    if (existing.get("type") or "BUILT_IN") != user_type:
        raise UserInputError("user %r exists with type %s; the type of a user cannot change "
                             "(delete it with state=absent first)" % (name, existing.get("type")))
    if password and update_password == "always":
        # The API never returns passwords, so setting it is the only way to be sure.
        result.update(changed=True, password_updated=True,
                      diff=dict(before=dict(before, password="<unknown>"),
                                after=dict(before, password="<changed>")))
        if not check_mode:
            body = {"name": name, "host": existing.get("host"), "type": user_type, "password": password}
            client.wait_operation(client.update_user(name, existing.get("host"), body))
    return result
