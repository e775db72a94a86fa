"""Fixtures for the mysql module_utils tests; the fake server lives in mysql_fakes.py."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.sql import SqlSession


@pytest.fixture
def session_for():
    """session_for(fake_server, check_mode=False, queries=None, label=None) -> SqlSession over the fake."""

    def _make(server, check_mode=False, queries=None, label=None):
        return SqlSession(server, [] if queries is None else queries, check_mode=check_mode, label=label,
                          address="%s:%s" % (server.variables.get("hostname"), server.variables.get("port")))

    return _make
