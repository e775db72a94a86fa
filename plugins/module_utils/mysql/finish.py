# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way for the MySQL task modules to run and exit: the statements that ran are always returned
(masked), also on failure; warnings become Ansible warnings; the diff only in diff mode."""
from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    HAS_PYMYSQL,
    PYMYSQL_IMPORT_ERROR,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError


def run_and_exit(module, run, **failure_defaults):
    """``run(params, check_mode, queries)`` returns the result dict or raises MySQLReplicationError."""
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=str(PYMYSQL_IMPORT_ERROR))
    queries = []
    try:
        result = run(module.params, module.check_mode, queries)
    except MySQLReplicationError as exc:
        details = dict(failure_defaults, changed=False)
        details.update(exc.details)
        module.fail_json(msg=exc.msg, queries=queries, **details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(queries=queries, **result)
