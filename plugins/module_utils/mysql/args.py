# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the MySQL modules: login and TLS options.

Paired with plugins/doc_fragments/mysql_login.py (DOCUMENTATION and TLS); keep them in step."""
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
