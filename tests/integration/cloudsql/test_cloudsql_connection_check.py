# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""statefuldb.k8s.cloudsql_connection_check against a real MariaDB server with TLS on loopback,
its CA served by the Admin API fake as the instance's serverCaCert. Needs /usr/sbin/mariadbd."""

from statefuldb_dev.cloudsql_support import last_result


def _tasks(gcp, mariadb, password, **check_options):
    check = {
        "login_host": "{{ db.instance.public_ip_address }}",
        "login_port": mariadb.port,
        "login_user": mariadb.app_user,
        "login_password": password,
        "database": mariadb.app_database,
        "server_ca_cert": "{{ db.instance.server_ca_cert.cert }}",
    }
    check.update(check_options)
    return [
        {"name": "read the instance", "statefuldb.k8s.cloudsql_info": gcp, "register": "db"},
        {"name": "connect", "statefuldb.k8s.cloudsql_connection_check": check},
    ]


def test_connects_over_verified_tls_with_the_instance_ca(run_playbook, gcp, mariadb):
    run = run_playbook(_tasks(gcp, mariadb, mariadb.app_password))
    assert run.rc == 0, run.stdout
    res = last_result(run)
    assert res["changed"] is False
    assert res["select_1"] == 1
    assert "MariaDB" in res["server_version"]
    assert res["tls_version"].startswith("TLSv1.")
    assert res["ssl_cipher"]
    assert res["database"] == "appdb"
    # Seen from the server: the session was TLS (the user is REQUIRE SSL anyway).
    with mariadb.root().cursor() as cur:
        cur.execute("SELECT ssl_type FROM mysql.user WHERE user = 'app'")
        assert cur.fetchone()[0] == "ANY"


def test_check_mode_connects_too(run_playbook, gcp, mariadb):
    run = run_playbook(_tasks(gcp, mariadb, mariadb.app_password), check=True)
    assert run.rc == 0, run.stdout
    assert last_result(run)["select_1"] == 1


def test_wrong_ca_fails_clearly(run_playbook, gcp, mariadb, tls_material):
    run = run_playbook(_tasks(gcp, mariadb, mariadb.app_password, server_ca_cert=tls_material["wrong_ca_pem"]))
    assert run.rc != 0
    msg = last_result(run)["msg"]
    assert "TLS verification failed" in msg and "not signed by the given server CA" in msg


def test_wrong_password_fails_clearly(run_playbook, gcp, mariadb):
    run = run_playbook(_tasks(gcp, mariadb, "not-the-password"))
    assert run.rc != 0
    msg = last_result(run)["msg"]
    assert "Could not connect to 127.0.0.1:%d as app" % mariadb.port in msg
    assert "Access denied" in msg


def test_hostname_check_fails_for_an_ip_not_in_the_certificate(run_playbook, gcp, mariadb):
    run = run_playbook(_tasks(gcp, mariadb, mariadb.app_password, check_hostname=True))
    assert run.rc != 0
    assert "TLS verification failed" in last_result(run)["msg"]


def test_client_certificate_for_a_user_that_requires_one(run_playbook, gcp, mariadb, tls_material):
    paths = tls_material["paths"]
    base = {"login_user": "x509user", "database": None}
    without = run_playbook(_tasks(gcp, mariadb, mariadb.app_password, **base))
    assert without.rc != 0
    assert "Access denied" in last_result(without)["msg"]
    with_cert = run_playbook(_tasks(gcp, mariadb, mariadb.app_password, client_cert=paths["client-cert.pem"],
                                    client_key=paths["client-key.pem"], **base))
    assert with_cert.rc == 0, with_cert.stdout
    assert last_result(with_cert)["select_1"] == 1
