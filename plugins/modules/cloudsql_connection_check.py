#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudsql_connection_check
short_description: Prove a MySQL client can connect to a Cloud SQL instance over verified TLS
description:
  - Opens a real MySQL connection with PyMySQL over TLS, verifying the server certificate against
    the instance's server CA (from M(statefuldb.k8s.cloudsql_info)), runs C(SELECT 1) and
    reports the server version and the TLS version and cipher in use.
  - Fails when the certificate is not signed by the given CA, when the login fails or when the
    connection is not encrypted. Never changes anything.
version_added: 0.1.0
extends_documentation_fragment:
  - statefuldb.k8s.attributes
  - statefuldb.k8s.attributes.info
author:
  - statefuldb maintainers (@statefuldb)
options:
  login_host:
    description: Address of the instance (its public or private IP).
    type: str
    required: true
  login_port:
    description: MySQL port.
    type: int
    default: 3306
  login_user:
    description: User to log in as.
    type: str
    required: true
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  database:
    description: Database to select after logging in.
    type: str
  server_ca_cert:
    description: The server CA certificate (PEM text) the server certificate must chain to.
    type: str
    required: true
  check_hostname:
    description:
      - Also check that the certificate names O(login_host). Cloud SQL server certificates name
        the instance rather than its IP, so this is off by default; the chain is always verified.
    type: bool
    default: false
  client_cert:
    description: Client certificate file, for instances with C(ssl_mode=TRUSTED_CLIENT_CERTIFICATE_REQUIRED).
    type: path
  client_key:
    description: Key file of O(client_cert).
    type: path
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
requirements:
  - PyMySQL
attributes:
  check_mode:
    support: full
    description: Read only; connects in check mode too.
"""

EXAMPLES = r"""
- name: Read the instance
  statefuldb.k8s.cloudsql_info:
    project: my-project
    instance: orders-db
  register: orders_db

- name: Prove the application user can connect over TLS
  statefuldb.k8s.cloudsql_connection_check:
    login_host: "{{ orders_db.instance.public_ip_address }}"
    login_user: app
    login_password: "{{ vault_app_password }}"
    database: orders
    server_ca_cert: "{{ orders_db.instance.server_ca_cert.cert }}"
"""

RETURN = r"""
server_version:
  description: The server's version string.
  returned: success
  type: str
  sample: 8.0.36-google
tls_version:
  description: TLS protocol of the connection.
  returned: success
  type: str
  sample: TLSv1.3
ssl_cipher:
  description: Cipher of the connection.
  returned: success
  type: str
select_1:
  description: The result of C(SELECT 1).
  returned: success
  type: int
  sample: 1
database:
  description: The selected database.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.connection import (
    ConnectionCheckError,
    check_connection,
    connect_failure,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    HAS_PYMYSQL,
    PYMYSQL_IMPORT_ERROR,
    TLS_OPTION_NAMES,
    ConnectError,
    ConnectionSettings,
    connect,
    pymysql,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.validation import connection_params_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_host=dict(type="str", required=True),
            login_port=dict(type="int", default=3306),
            login_user=dict(type="str", required=True),
            login_password=dict(type="str", no_log=True),
            database=dict(type="str"),
            server_ca_cert=dict(type="str", required=True),
            check_hostname=dict(type="bool", default=False),
            client_cert=dict(type="path"),
            client_key=dict(type="path", no_log=False),
            connect_timeout=dict(type="int", default=10),
        ),
        required_together=[("client_cert", "client_key")],
        supports_check_mode=True,
    )
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=str(PYMYSQL_IMPORT_ERROR))
    p = module.params
    error = connection_params_error(p)
    if error:
        module.fail_json(msg=error)
    if "BEGIN CERTIFICATE" not in (p["server_ca_cert"] or ""):
        module.fail_json(msg="server_ca_cert must be the PEM text of the server CA certificate "
                             "(instance.server_ca_cert.cert from cloudsql_info)")
    # Cloud SQL server certificates name the instance, not its IP: check_hostname is off unless asked.
    settings = ConnectionSettings(p["login_host"], p["login_port"], p["login_user"], p["login_password"],
                                  ca_data=p["server_ca_cert"], client_cert=p["client_cert"], client_key=p["client_key"],
                                  check_hostname=p["check_hostname"], connect_timeout=p["connect_timeout"],
                                  database=p["database"], option_names=dict(TLS_OPTION_NAMES, ca="server_ca_cert"))
    try:
        result = check_connection(connect(settings, "the instance"), p["login_host"], p["login_port"])
    except ConnectError as exc:
        module.fail_json(msg=connect_failure(exc.reason, exc.server_text, exc.msg, p["login_host"], p["login_port"],
                                             p["login_user"]))
    except (ConnectionCheckError, pymysql.err.MySQLError) as exc:
        module.fail_json(msg="Connected to %s:%s, but the check failed: %s" % (p["login_host"], p["login_port"], exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
