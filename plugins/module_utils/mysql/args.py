# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the MySQL modules: login and TLS options, the members of a cluster.

Paired with plugins/doc_fragments/mysql_login.py (DOCUMENTATION and TLS) and
plugins/doc_fragments/mysql_members.py (DOCUMENTATION and WITH_PRIMARY); keep them in step."""
from __future__ import annotations

# TLS for every MySQL connection a module opens (doc fragment: statefuldb.k8s.mysql_login.tls).
MYSQL_TLS_ARG_SPEC = {
    "ca_cert": {"type": "path"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path", "no_log": False},
    "check_hostname": {"type": "bool"},
}

# Defaults live in connection.login_settings so that config_file values can fill the gaps.
MYSQL_LOGIN_ARG_SPEC = {
    "login_host": {"type": "str"},
    "login_port": {"type": "int"},
    "login_user": {"type": "str"},
    "login_password": {"type": "str", "no_log": True},
    "login_unix_socket": {"type": "str"},
    "config_file": {"type": "path"},
    "connect_timeout": {"type": "int", "default": 30},
}
MYSQL_LOGIN_ARG_SPEC.update(MYSQL_TLS_ARG_SPEC)

# Every member of a cluster, as the module reaches it (doc fragment: statefuldb.k8s.mysql_members).
MYSQL_MEMBER_OPTIONS = {
    "name": {"type": "str", "required": True},
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 3306},
}
MYSQL_MEMBERS_ARG_SPEC = {
    "members": {"type": "list", "elements": "dict", "required": True, "options": MYSQL_MEMBER_OPTIONS},
}
# The same, each member also saying whether it is the primary (statefuldb.k8s.mysql_members.with_primary).
MYSQL_MEMBERS_WITH_PRIMARY_ARG_SPEC = {
    "members": dict(MYSQL_MEMBERS_ARG_SPEC["members"],
                    options=dict(MYSQL_MEMBER_OPTIONS, primary={"type": "bool", "default": False})),
}
