"""Login settings (options over option file over defaults), the TLS context, connect errors and which are transient."""
import ssl

import pymysql
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    ConnectError,
    ConnectionSettings,
    connect,
    describe_connect_error,
    is_transient,
    login_settings,
    read_client_section,
    settings_for,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.errors import MySQLReplicationError

EMPTY = {"login_host": None, "login_port": None, "login_user": None, "login_password": None,
         "login_unix_socket": None, "config_file": None, "ca_cert": None, "client_cert": None,
         "client_key": None, "check_hostname": None, "connect_timeout": 30}


def test_defaults():
    settings = login_settings(EMPTY)
    assert (settings.host, settings.port, settings.user, settings.password) == ("localhost", 3306, "root", "")
    assert "ssl" not in settings.pymysql_kwargs()


def test_option_file_fills_gaps_and_options_win(tmp_path, tls_files):
    cnf = tmp_path / "my.cnf"
    cnf.write_text("!includedir /etc/mysql/conf.d/\n[mysqld]\nport=1\n[client]\nhost = db.example\n"
                   "port=3307\nuser=admin\npassword=\"p#ss word\"\nssl-ca=%s\n" % tls_files["ca"])
    assert read_client_section(str(cnf))["password"] == "p#ss word"
    settings = login_settings(dict(EMPTY, config_file=str(cnf), login_user="ops"))
    assert (settings.host, settings.port, settings.user, settings.password) == ("db.example", 3307, "ops", "p#ss word")
    context = settings.pymysql_kwargs()["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED and len(context.get_ca_certs()) == 1
    assert context.check_hostname is True  # default when a CA is given


def test_check_hostname_false_opts_out(tls_files):
    context = login_settings(dict(EMPTY, ca_cert=tls_files["ca"], check_hostname=False)).pymysql_kwargs()["ssl"]
    assert context.check_hostname is False and context.verify_mode == ssl.CERT_REQUIRED


def test_a_client_certificate_alone_encrypts_without_verifying(tls_files):
    context = login_settings(dict(EMPTY, client_cert=tls_files["client_cert"],
                                  client_key=tls_files["client_key"])).tls_context()
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False


def test_the_ca_may_be_pem_text_named_as_the_module_calls_it(tls_files):
    settings = ConnectionSettings("db", 3306, "app", "pw", ca_data=tls_files["ca_pem"], check_hostname=False,
                                  option_names={"ca": "server_ca_cert", "cert": "client_cert", "key": "client_key"})
    assert len(settings.tls_context().get_ca_certs()) == 1
    settings = ConnectionSettings("db", 3306, "app", "pw", ca_data="-----BEGIN CERTIFICATE-----\nnope\n",
                                  option_names={"ca": "server_ca_cert", "cert": "client_cert", "key": "client_key"})
    with pytest.raises(ConnectError, match="^server_ca_cert is not a PEM certificate"):
        settings.tls_context()


def _tls_mistake(tmp_path, tls_files):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    return [
        (dict(ca_cert=str(tmp_path / "missing.pem")), "^ca_cert: .*missing.pem is not a file \\(no such file\\)"),
        (dict(ca_cert=str(tmp_path)), "^ca_cert: .* is not a file \\(a directory"),
        (dict(ca_cert=str(not_pem)), "^ca_cert: .*not.pem holds no PEM certificate"),
        (dict(client_cert=tls_files["client_cert"], client_key=str(tmp_path / "nokey.pem")), "^client_key: .*nokey.pem is not a file"),
        (dict(client_cert=tls_files["client_cert"], client_key=tls_files["other_key"]), "^client_key .* is not the key of client_cert"),
        (dict(client_cert=tls_files["client_cert"]), "^client_cert/client_key could not be loaded"),
        (dict(client_key=tls_files["client_key"]), "^client_key is set without client_cert"),
        (dict(client_cert=tls_files["client_cert"], client_key=tls_files["client_key"], check_hostname=True),
         "^check_hostname=true needs ca_cert"),
    ]


def test_tls_option_mistakes_are_named_before_any_connection(tmp_path, tls_files, monkeypatch):
    monkeypatch.setattr(pymysql, "connect", lambda **kwargs: pytest.fail("connected despite %s" % kwargs))
    for options, message in _tls_mistake(tmp_path, tls_files):
        with pytest.raises(ConnectError, match=message) as caught:
            connect(login_settings(dict(EMPTY, login_password="secret-pw", **options)))
        assert caught.value.reason == "input" and not is_transient(caught.value)
        assert "secret-pw" not in str(caught.value)


def test_a_tls_file_from_the_option_file_is_named_by_its_key(tmp_path):
    cnf = tmp_path / "my.cnf"
    cnf.write_text("[client]\nssl-ca=%s\n" % (tmp_path / "gone.pem"))
    with pytest.raises(ConnectError, match="^ssl-ca of config_file: .*gone.pem is not a file"):
        login_settings(dict(EMPTY, config_file=str(cnf))).tls_context()


def test_tls_settings_reach_pymysql_once_built(tls_files, monkeypatch):
    seen = []
    monkeypatch.setattr(pymysql, "connect", lambda **kwargs: seen.append(kwargs) or "conn")
    base = login_settings(dict(EMPTY, ca_cert=tls_files["ca"], client_cert=tls_files["client_cert"],
                               client_key=tls_files["client_key"], connect_timeout=7))
    assert connect(base) == "conn" and connect(settings_for(base, "db-1", 3307, "repl", "pw")) == "conn"
    assert seen[0]["ssl"] is seen[1]["ssl"]  # built and checked once for every server of the task
    assert (seen[1]["host"], seen[1]["port"], seen[1]["connect_timeout"]) == ("db-1", 3307, 7)


def test_the_password_is_not_in_the_settings_repr():
    assert "secret-pw" not in repr(ConnectionSettings("db", 3306, "root", "secret-pw"))


def test_missing_option_file_is_named(tmp_path):
    with pytest.raises(MySQLReplicationError, match="Cannot read config_file .*nope.cnf"):
        login_settings(dict(EMPTY, config_file=str(tmp_path / "nope.cnf")))


def test_source_settings_keep_tls_but_not_the_login_account():
    base = login_settings(dict(EMPTY, login_user="root", login_password="rootpw", ca_cert="/ca.pem"))
    source = settings_for(base, "10.244.0.5", 3306, "repl", "pw")
    assert source.option_names == base.option_names
    assert (source.user, source.password, source.ca_cert, source.address) == ("repl", "pw", "/ca.pem", "10.244.0.5:3306")


@pytest.mark.parametrize("code, text, expected", [
    (1045, "Access denied for user 'repl'@'127.0.0.1' (using password: YES)",
     "Access denied for user 'repl' at db:3306 (the source): wrong password"),
    (2003, "Can't connect to MySQL server on 'db' ([Errno 111] Connection refused)",
     "Cannot reach the source at db:3306: Can't connect"),
    (1130, "Host '10.0.0.1' is not allowed to connect", "does not accept connections from this host"),
    (2003, "Can't connect to MySQL server on 'db' ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
           "Hostname mismatch)", "TLS handshake with the source at db:3306 failed"),
])
def test_connect_errors_name_the_server(code, text, expected):
    settings = settings_for(login_settings(EMPTY), "db", 3306, "repl", "secret-pw")
    unused, _reason, msg = describe_connect_error(settings, pymysql.err.OperationalError(code, text), "the source")
    assert expected in msg
    assert "secret-pw" not in msg


def test_connect_to_a_closed_loopback_port_names_it():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for(login_settings(EMPTY), "127.0.0.1", port, "root", "")
    with pytest.raises(MySQLReplicationError) as caught:
        connect(settings, "the server to manage")
    assert "Cannot reach the server to manage at 127.0.0.1:%d" % port in caught.value.msg
    assert caught.value.reason == "network" and is_transient(caught.value)


@pytest.mark.parametrize("exc, transient", [
    (ConnectError("refused", "network", error_code=2003), True),
    (ConnectError("denied", "access", error_code=1045), False),
    (ConnectError("handshake", "tls", error_code=2003), False),
    (pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"), True),
    (pymysql.err.OperationalError(1045, "Access denied for user 'root'"), False),
    (pymysql.err.OperationalError(2003, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), False),
    # The forwarded stream dropped in the middle of the handshake (seen through port_forward): retried.
    (pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1' ([SSL: UNEXPECTED_EOF_WHILE_"
                                        "READING] EOF occurred in violation of protocol (_ssl.c:1006))"), True),
    (ValueError("a bug"), False),
])
def test_which_failures_are_worth_retrying(exc, transient):
    assert is_transient(exc) is transient


def test_a_link_dropped_during_the_tls_handshake_is_opened_again(monkeypatch):
    """A port-forward stream that ends in the handshake is retried; a refused port is not."""
    attempts = []
    eof = pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1' ([SSL: "
                                             "UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol)")

    def flaky(**kwargs):
        attempts.append(kwargs["host"])
        if len(attempts) < 3:
            raise eof
        return "connection"

    monkeypatch.setattr(pymysql, "connect", flaky)
    settings = settings_for(login_settings(EMPTY), "127.0.0.1", 3306, "root", "pw")
    assert connect(settings, "the source") == "connection" and len(attempts) == 3

    refused = pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] refused)")

    def failing(error):
        def attempt(**kwargs):
            attempts.append(kwargs["host"])
            raise error
        return attempt

    attempts.clear()
    monkeypatch.setattr(pymysql, "connect", failing(refused))
    with pytest.raises(MySQLReplicationError):
        connect(settings, "the source")
    assert len(attempts) == 1, "only a dropped handshake is retried here"

    attempts.clear()
    monkeypatch.setattr(pymysql, "connect", failing(eof))
    with pytest.raises(MySQLReplicationError) as caught:
        connect(settings, "the source", retry_seconds=0.5)
    assert len(attempts) >= 2 and "EOF occurred" in caught.value.msg
