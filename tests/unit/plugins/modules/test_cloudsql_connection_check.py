"""cloudsql_connection_check main(): connects through mysql/connection.py with the instance CA as PEM text (no server)."""
import ssl

import pymysql
import pytest

from ansible_collections.statefuldb.k8s.plugins.modules import cloudsql_connection_check


@pytest.fixture
def opened(monkeypatch):
    """The keyword arguments of every pymysql.connect; the checks on the connection are cloudsql/connection.py's tests."""
    seen = []
    monkeypatch.setattr(pymysql, "connect", lambda **kwargs: seen.append(kwargs) or "connection")
    monkeypatch.setattr(cloudsql_connection_check, "check_connection",
                        lambda connection, host, port: {"select_1": 1, "tls_version": "TLSv1.3", "connection": connection})
    return seen


def args(tls_files, **extra):
    return dict({"login_host": "10.0.0.5", "login_user": "app", "login_password": "app-pw", "database": "app",
                 "server_ca_cert": tls_files["ca_pem"]}, **extra)


def test_the_instance_ca_verifies_the_server_without_a_name_check(run_module, opened, tls_files):
    result = run_module(cloudsql_connection_check, args(tls_files))
    assert result["changed"] is False and result["connection"] == "connection"
    context = opened[0]["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is False
    assert len(context.get_ca_certs()) == 1
    assert (opened[0]["host"], opened[0]["port"], opened[0]["database"], opened[0]["connect_timeout"]) == (
        "10.0.0.5", 3306, "app", 10)


def test_client_certificate_and_name_check_reach_the_connection(run_module, opened, tls_files):
    run_module(cloudsql_connection_check, args(tls_files, check_hostname=True, client_cert=tls_files["client_cert"],
                                               client_key=tls_files["client_key"]))
    assert opened[0]["ssl"].check_hostname is True


@pytest.mark.parametrize("extra, message", [
    ({"server_ca_cert": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"},
     "server_ca_cert is not a PEM certificate"),
    ({"client_cert": "/nonexistent/client.pem", "client_key": "/nonexistent/client-key.pem"},
     "client_cert: /nonexistent/client.pem is not a file"),
])
def test_tls_mistakes_are_named_before_connecting(run_module, opened, tls_files, extra, message):
    result = run_module(cloudsql_connection_check, args(tls_files, **extra))
    assert result["failed"] and result["msg"].startswith(message) and opened == []
    assert "app-pw" not in str(result)


def test_a_wrong_ca_says_to_use_the_instance_ca(run_module, monkeypatch, tls_files):
    def refuse(**kwargs):
        raise pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '10.0.0.5' ([SSL: "
                                                 "CERTIFICATE_VERIFY_FAILED] certificate verify failed)")

    monkeypatch.setattr(pymysql, "connect", refuse)
    result = run_module(cloudsql_connection_check, args(tls_files))
    assert result["failed"] and "not signed by the given server CA" in result["msg"]
