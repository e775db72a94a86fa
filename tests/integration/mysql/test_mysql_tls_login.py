"""TLS login options (ca_cert, client_cert, client_key, check_hostname) against a real MariaDB
started with a throwaway CA. Needs Debian's mariadb-server; no cluster."""


def test_tls_login_with_verified_certificate_and_x509_account(mariadb, replication, tls_files):
    server = mariadb("tls", server_id=1, tls=tls_files)
    server.sql("CREATE USER 'ops'@'127.0.0.1' IDENTIFIED BY 'ops-pw' REQUIRE X509")
    server.sql("GRANT ALL ON *.* TO 'ops'@'127.0.0.1'")
    tls = {"ca_cert": tls_files["ca"], "client_cert": tls_files["client_cert"],
           "client_key": tls_files["client_key"]}

    unused, result = replication(role="primary", login_host="127.0.0.1", login_port=server.port, login_user="ops",
                                 login_password="ops-pw", **tls)
    assert result.get("failed") is not True, result
    assert result["server_id"] == 1

    # Without the client certificate the X509 account is refused by the server.
    unused, no_cert = replication(role="primary", login_host="127.0.0.1", login_port=server.port, login_user="ops",
                                  login_password="ops-pw", ca_cert=tls_files["ca"])
    assert no_cert["failed"] is True
    assert no_cert["msg"].startswith("Access denied for user 'ops' at 127.0.0.1:%d" % server.port)


def test_tls_hostname_is_checked_unless_disabled(mariadb, replication, tls_files):
    server = mariadb("tls", server_id=1, tls=tls_files)
    # The certificate names 127.0.0.1 only; "localhost" resolves to it but does not match.
    options = dict(role="primary", login_host="localhost", login_port=server.port, login_user="root",
                   login_password=server.root_password, ca_cert=tls_files["ca"])
    unused, mismatch = replication(**options)
    assert mismatch["failed"] is True
    assert mismatch["msg"].startswith("TLS handshake with the server to manage at localhost:%d failed" % server.port)
    assert "Hostname mismatch" in mismatch["msg"] and "check_hostname=false" in mismatch["msg"]

    unused, relaxed = replication(check_hostname=False, **options)
    assert relaxed.get("failed") is not True, relaxed


def test_cluster_check_over_tls_verified_against_the_ca(mariadb, run_playbook, tls_files):
    server = mariadb("tls", server_id=1, tls=tls_files)
    # An account that exists only for TLS sessions with a client certificate: logging in proves the TLS options arrived.
    server.sql("CREATE USER 'ops'@'127.0.0.1' IDENTIFIED BY 'ops-pw' REQUIRE X509")
    server.sql("GRANT ALL ON *.* TO 'ops'@'127.0.0.1'")
    login = {"members": [{"name": "db-0", "host": "127.0.0.1", "port": server.port, "primary": True}],
             "login_user": "ops", "login_password": "ops-pw", "timeout": 20, "marker": "tls ok"}
    tls = {"ca_cert": tls_files["ca"], "client_cert": tls_files["client_cert"], "client_key": tls_files["client_key"]}

    def check(**options):
        task = {"name": "check", "statefuldb.k8s.mysql_cluster_check": dict(login, **options), "ignore_errors": True}
        run = run_playbook([task])
        return run.results[0]

    waited = check(action="wait", **tls)
    assert waited.get("failed") is not True, waited
    assert waited["members"][0]["server_id"] == 1 and waited["members"][0]["flavor"] == "mariadb"
    verified = check(action="verify", **tls)
    assert verified.get("failed") is not True, verified
    assert verified["changed"] is True and server.value("SELECT value FROM statefuldb_cluster.marker") == "tls ok"
    assert check(action="verify", **tls)["changed"] is False

    # The same account without TLS: refused by the server, at once (not retried for the 20 s).
    plain = check(action="wait")
    assert plain["failed"] is True and plain["msg"].startswith("db-0 (127.0.0.1:%d): access denied" % server.port)

    # A CA that did not sign the server's certificate: refused by us, at once, naming what to check.
    wrong_ca = check(action="wait", **{**tls, "ca_cert": tls_files["client_cert"]})
    assert wrong_ca["failed"] is True
    assert wrong_ca["msg"].startswith("db-0 (127.0.0.1:%d): TLS handshake with member db-0" % server.port)
    assert "certificate verify failed" in wrong_ca["msg"]

    # A CA file that is not there: named before any connection, no traceback.
    missing = check(action="verify", **{**tls, "ca_cert": tls_files["ca"] + ".gone"})
    assert missing["failed"] is True and missing["msg"] == "ca_cert: %s.gone is not a file (no such file)" % tls_files["ca"]
    assert "module_stderr" not in missing and "Traceback" not in str(missing)
