"""Login settings (options over option file over defaults), TLS arguments, connect errors."""
import pymysql
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.connection import (
    connect,
    describe_connect_error,
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
    assert "ssl_ca" not in settings.pymysql_kwargs()


def test_option_file_fills_gaps_and_options_win(tmp_path):
    cnf = tmp_path / "my.cnf"
    cnf.write_text("!includedir /etc/mysql/conf.d/\n[mysqld]\nport=1\n[client]\nhost = db.example\n"
                   "port=3307\nuser=admin\npassword=\"p#ss word\"\nssl-ca=/ca.pem\n")
    assert read_client_section(str(cnf))["password"] == "p#ss word"
    settings = login_settings(dict(EMPTY, config_file=str(cnf), login_user="ops"))
    assert (settings.host, settings.port, settings.user, settings.password) == ("db.example", 3307, "ops", "p#ss word")
    kwargs = settings.pymysql_kwargs()
    assert kwargs["ssl_ca"] == "/ca.pem" and kwargs["ssl_verify_cert"] is True
    assert kwargs["ssl_verify_identity"] is True  # default when a CA is given


def test_check_hostname_false_opts_out():
    kwargs = login_settings(dict(EMPTY, ca_cert="/ca.pem", check_hostname=False)).pymysql_kwargs()
    assert kwargs["ssl_verify_identity"] is False


def test_missing_option_file_is_named(tmp_path):
    with pytest.raises(MySQLReplicationError, match="Cannot read config_file .*nope.cnf"):
        login_settings(dict(EMPTY, config_file=str(tmp_path / "nope.cnf")))


def test_source_settings_keep_tls_but_not_the_login_account():
    base = login_settings(dict(EMPTY, login_user="root", login_password="rootpw", ca_cert="/ca.pem"))
    source = settings_for(base, "10.244.0.5", 3306, "repl", "pw")
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
    unused, msg = describe_connect_error(settings, pymysql.err.OperationalError(code, text), "the source")
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
