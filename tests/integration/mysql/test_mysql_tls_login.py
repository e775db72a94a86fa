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
