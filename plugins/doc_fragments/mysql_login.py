# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Login options shared by the MySQL modules; paired with MYSQL_LOGIN_ARG_SPEC (DOCUMENTATION) and
MYSQL_TLS_ARG_SPEC (TLS) in plugins/module_utils/mysql/args.py (keep them in step)."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the server to manage.
      - When not set, the C(host) of the C([client]) section of O(config_file) is used, else V(localhost).
    type: str
  login_port:
    description:
      - TCP port of the server to manage.
      - When not set, the C(port) of O(config_file) is used, else V(3306).
    type: int
  login_user:
    description:
      - Account to log in with. It needs the privileges to read replica status and manage
        replication; M(statefuldb.k8s.mysql_replication) with C(role=primary) also creates users and
        grants privileges, M(statefuldb.k8s.mysql_seed) with C(action=clone) runs C(CLONE INSTANCE).
      - When not set, the C(user) of O(config_file) is used, else V(root).
    type: str
  login_password:
    description:
      - Password of O(login_user). Never logged.
      - When not set, the C(password) of O(config_file) is used, else an empty password.
    type: str
  login_unix_socket:
    description:
      - Path of a Unix socket to connect through instead of TCP.
      - When not set, the C(socket) of O(config_file) is used.
    type: str
  config_file:
    description:
      - A MySQL client option file (like C(~/.my.cnf)); its C([client]) section provides
        C(host), C(port), C(user), C(password), C(socket), C(ssl-ca), C(ssl-cert) and C(ssl-key)
        for any login option not given explicitly. C(!include) lines are ignored.
      - Not read unless set.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for each connection to be established.
    type: int
    default: 30
requirements:
  - PyMySQL
"""

    # TLS to the servers, for every module that opens a MySQL connection (mysql/connection.py).
    TLS = r"""
options:
  ca_cert:
    description:
      - CA certificate to verify the server's TLS certificate. Setting it turns TLS on.
    type: path
  client_cert:
    description:
      - Client TLS certificate, for accounts that REQUIRE X509.
    type: path
  client_key:
    description:
      - Private key of O(client_cert).
    type: path
  check_hostname:
    description:
      - Whether the server certificate must name the host connected to.
      - Defaults to V(true) when O(ca_cert) is set.
    type: bool
"""
