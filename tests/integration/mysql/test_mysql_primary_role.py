"""role=primary against real MariaDB servers: the four-run pattern, real grants, refusals.

Needs Debian's mariadb-server (mariadbd, mariadb-install-db); no cluster.
"""

from ansible_collections.statefuldb.k8s.plugins.module_utils.mysql.passwords import ed25519_password_hash

REPL_PASSWORD = "Repl-S3cret-xq81"


def grants_of(server, user, host="%"):
    rows = server.sql("SHOW GRANTS FOR %s@%s", (user, host))
    return [list(row.values())[0] for row in rows]


def user_exists(server, user, host="%"):
    return bool(server.sql("SELECT 1 FROM mysql.user WHERE User=%s AND Host=%s", (user, host)))


def test_primary_four_runs_create_the_replication_user(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    options = dict(primary.login(), role="primary", replication_user="repl",
                   replication_password=REPL_PASSWORD)

    unused, check = replication(check=True, diff=True, **options)
    assert check.get("failed") is not True, check
    assert check["changed"] is True
    assert not user_exists(primary, "repl"), "check mode must not create the user"
    assert "CREATE USER 'repl'@'%' IDENTIFIED BY '********'" in check["queries"]
    assert check["diff"]["before"]["replication_user"]["exists"] is False

    unused, real = replication(**options)
    assert real["changed"] is True, real
    assert real["flavor"] == "mariadb"
    assert real["server_id"] == 1
    assert real["actions"] == ["created replication user repl@% with REPLICATION SLAVE, REPLICATION CLIENT"]
    grants = grants_of(primary, "repl")
    assert len(grants) == 1 and grants[0].startswith("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`%`")
    # The account really works with the given password.
    primary.connect(user="repl", password=REPL_PASSWORD).close()
    # The position reported is the server's, after the CREATE USER/GRANT were binlogged.
    assert real["gtid_executed"] == primary.value("SELECT @@gtid_binlog_pos")
    assert real["gtid_executed"].startswith("0-1-")
    assert real["binlog_file"].startswith("mysql-bin.")

    unused, idem_check = replication(check=True, **options)
    assert idem_check["changed"] is False, idem_check
    unused, idem = replication(**options)
    assert idem["changed"] is False, idem
    assert idem["actions"] == []
    assert not [q for q in idem["queries"] if q.split()[0] in ("CREATE", "GRANT", "ALTER", "REVOKE", "SET")]


def test_primary_repairs_privileges_and_a_wrong_password(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    primary.sql("CREATE USER 'repl'@'%' IDENTIFIED BY 'old-password'")
    primary.sql("GRANT SELECT, REPLICATION SLAVE ON *.* TO 'repl'@'%'")
    options = dict(primary.login(), role="primary", replication_user="repl",
                   replication_password=REPL_PASSWORD)

    unused, check = replication(check=True, **options)
    assert check["changed"] is True
    assert "SELECT" in " ".join(grants_of(primary, "repl")), "check mode must not revoke"

    unused, real = replication(**options)
    assert real["changed"] is True, real
    assert real["actions"][0].startswith("reset privileges of repl@% to REPLICATION SLAVE, REPLICATION CLIENT")
    assert real["actions"][1] == "set the password of repl@% (the given replication_password did not work)"
    grants = grants_of(primary, "repl")
    assert len(grants) == 1 and grants[0].startswith("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO")
    primary.connect(user="repl", password=REPL_PASSWORD).close()

    unused, idem_check = replication(check=True, **options)
    assert idem_check["changed"] is False, idem_check
    unused, idem = replication(**options)
    assert idem["changed"] is False, idem


def test_primary_on_create_keeps_an_existing_password(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    primary.sql("CREATE USER 'repl'@'%' IDENTIFIED BY 'old-password'")
    primary.sql("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'")
    run, result = replication(update_password="on_create", role="primary", replication_user="repl",
                              replication_password=REPL_PASSWORD, **primary.login())
    assert result["changed"] is False, result
    assert any("left unchanged because update_password=on_create" in w for w in result.get("warnings", []))
    primary.connect(user="repl", password="old-password").close()


def test_primary_without_binary_log_is_refused(mariadb, replication):
    primary = mariadb("nobinlog", server_id=1, log_bin=False)
    unused, result = replication(role="primary", replication_user="repl", replication_password=REPL_PASSWORD,
                                 **primary.login())
    assert result["failed"] is True
    assert "cannot be a replication source: binary logging is off" in result["msg"]
    assert "127.0.0.1:%d" % primary.port in result["msg"]
    assert not user_exists(primary, "repl")


def test_primary_read_only_four_runs(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    primary.sql("SET GLOBAL read_only = ON")
    options = dict(primary.login(), role="primary", read_only=False)
    results = [replication(check=True, **options)[1]]
    assert primary.value("SELECT @@GLOBAL.read_only") == 1, "check mode must not change read_only"
    results += [replication(**options)[1], replication(check=True, **options)[1], replication(**options)[1]]
    assert [r["changed"] for r in results] == [True, True, False, False], results
    assert primary.value("SELECT @@GLOBAL.read_only") == 0


def test_login_from_a_client_option_file(mariadb, replication, tmp_path):
    primary = mariadb("primary", server_id=1)
    cnf = tmp_path / "client.cnf"
    cnf.write_text("[client]\nhost=127.0.0.1\nport=%d\nuser=root\npassword=\"%s\"\n" % (primary.port, primary.root_password))
    unused, result = replication(role="primary", config_file=str(cnf))
    assert result.get("failed") is not True, result
    assert result["server_id"] == 1 and result["changed"] is False
    # An explicit option wins over the file.
    unused, wrong = replication(role="primary", config_file=str(cnf), login_password="not-root-pw")
    assert wrong["failed"] is True
    assert wrong["msg"].startswith("Access denied for user 'root' at 127.0.0.1:%d" % primary.port)


def test_login_over_the_unix_socket(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    unused, result = replication(role="primary", login_unix_socket=primary.socket, login_user="root",
                                 login_password=primary.root_password)
    assert result.get("failed") is not True, result
    assert result["server_id"] == 1


def test_missing_privileges_fail_with_the_statement_not_a_traceback(mariadb, replication):
    primary = mariadb("primary", server_id=1)
    primary.sql("CREATE USER 'ops'@'127.0.0.1' IDENTIFIED BY 'ops-pw'")
    primary.sql("GRANT SELECT ON mysql.* TO 'ops'@'127.0.0.1'")
    primary.sql("GRANT BINLOG MONITOR ON *.* TO 'ops'@'127.0.0.1'")
    unused, result = replication(role="primary", login_host="127.0.0.1", login_port=primary.port, login_user="ops",
                                 login_password="ops-pw", replication_user="repl", replication_password=REPL_PASSWORD)
    assert result["failed"] is True
    assert result["msg"].startswith("CREATE USER 'repl'@'%%' IDENTIFIED BY '********' failed on 127.0.0.1:%d: (1227)"
                                    % primary.port), result["msg"]
    assert "Traceback" not in str(result) and REPL_PASSWORD not in str(result)
    assert not user_exists(primary, "repl")


def test_password_check_does_not_depend_on_where_the_controller_is(mariadb, replication):
    """The replication user's host pattern ('10.%') does not admit the controller (127.0.0.1):
    a login from here is refused whatever the password. The stored hash decides instead (native
    and ed25519 here; caching_sha2 in the unit tests). Before, for ed25519 the refused login
    counted as a wrong password and the password was set (changed) on every run, and setting it
    with ALTER USER ... IDENTIFIED BY turned the account into a mysql_native_password one."""
    primary = mariadb("primary", server_id=1)
    primary.sql("INSTALL SONAME 'auth_ed25519'")
    primary.sql("CREATE USER 'repl'@'10.%%' IDENTIFIED BY %s", (REPL_PASSWORD,))
    primary.sql("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'10.%'")
    primary.sql("CREATE USER 'repl_ed'@'10.%%' IDENTIFIED VIA ed25519 USING PASSWORD(%s)", (REPL_PASSWORD,))
    primary.sql("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl_ed'@'10.%'")

    def stored(user):
        return primary.sql("SELECT plugin, authentication_string FROM mysql.user WHERE User=%s", (user,))[0]

    for user in ("repl", "repl_ed"):
        before = stored(user)
        options = dict(primary.login(), role="primary", replication_user=user, replication_user_host="10.%",
                       replication_password=REPL_PASSWORD)
        for unused_run in range(2):
            unused, result = replication(**options)
            assert result.get("failed") is not True, result
            assert result["changed"] is False, result
            assert result["password_changed"] is False
            assert not [q for q in result["queries"] if q.startswith(("ALTER USER", "SET PASSWORD"))]
        assert stored(user) == before

    # A rotation is seen the same way: set once (keeping the ed25519 plugin), then left alone.
    rotated = dict(primary.login(), role="primary", replication_user="repl_ed", replication_user_host="10.%",
                   replication_password="Rotated-ed-77x")
    unused, first = replication(**rotated)
    assert first["changed"] is True and first["password_changed"] is True, first
    assert "SET PASSWORD FOR 'repl_ed'@'10.%' = PASSWORD('********')" in first["queries"]
    assert stored("repl_ed") == {"plugin": "ed25519",
                                 "authentication_string": ed25519_password_hash("Rotated-ed-77x")}
    unused, second = replication(**rotated)
    assert second["changed"] is False, second
