# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloudsql_access role through playbooks/cloudsql_access.yml.

- Without a cluster: networks, SSL mode, users and databases through the Admin API fake, whose
  user/database operations really happen in the throwaway MariaDB; then the role's TLS login.
- With the local control plane (fixture `kubeconfig`): a node's ExternalIP is authorized and the
  connection Secret is written and read back through the Kubernetes API.
"""

import base64
import os
import uuid

from statefuldb_dev.cloudsql_support import PROJECT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, "playbooks", "cloudsql_access.yml")


def _role_vars(gcp, mariadb, suffix, **extra):
    values = {
        "cloudsql_access_project": gcp["project"],
        "cloudsql_access_instance": gcp["instance"],
        "cloudsql_access_auth_kind": "serviceaccount",
        "cloudsql_access_service_account_file": gcp["service_account_file"],
        "cloudsql_access_api_endpoint": gcp["api_endpoint"],
        "cloudsql_access_wait_timeout": 30,
        "cloudsql_access_authorized_networks": [{"name": "office", "value": "203.0.113.0/24"}],
        "cloudsql_access_ssl_mode": "ENCRYPTED_ONLY",
        "cloudsql_access_users": [{"name": "u_" + suffix, "password": "Pw-" + uuid.uuid4().hex}],
        "cloudsql_access_databases": [{"name": "db_" + suffix, "charset": "utf8mb4",
                                       "collation": "utf8mb4_unicode_ci"}],
        "cloudsql_access_secret_name": "",
        "cloudsql_access_port": mariadb.port,
    }
    values.update(extra)
    return values


def _task(run, name):
    matches = [r for r in run.results if r["_task"].endswith(" : " + name)]
    assert matches, "task %r did not run: %s" % (name, [r["_task"] for r in run.results])
    return matches[-1]


def _mariadb_has(mariadb, user, database):
    users = mariadb.execute("SELECT COUNT(*) FROM mysql.user WHERE user = %s", (user,))[0][0]
    dbs = mariadb.execute("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (database,))[0][0]
    return users == 1, dbs == 1


def test_role_without_cluster_four_runs_and_tls_login(run_playbook, fake_api, gcp, mariadb, mysql_backed_instance):
    suffix = uuid.uuid4().hex[:8]
    extra = _role_vars(gcp, mariadb, suffix)
    user, database = "u_" + suffix, "db_" + suffix

    check = run_playbook(PLAYBOOK, check=True, extra_vars=extra)
    assert check.rc == 0, check.stdout[-4000:]
    assert check.stats["changed"] > 0
    assert fake_api.authorized_networks(PROJECT, gcp["instance"]) == []
    assert _mariadb_has(mariadb, user, database) == (False, False)

    real = run_playbook(PLAYBOOK, extra_vars=extra)
    assert real.rc == 0, real.stdout[-4000:]
    assert real.stats["changed"] > 0
    assert [(e["name"], e["value"]) for e in fake_api.authorized_networks(PROJECT, gcp["instance"])] == [
        ("office", "203.0.113.0/24")]
    assert fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
    assert _mariadb_has(mariadb, user, database) == (True, True)
    connected = _task(real, "Connect over TLS and run SELECT 1")
    assert connected["select_1"] == 1 and "MariaDB" in connected["server_version"]
    assert connected["database"] == database

    again_check = run_playbook(PLAYBOOK, check=True, extra_vars=extra)
    assert again_check.rc == 0 and again_check.stats["changed"] == 0, again_check.stdout[-4000:]
    writes = fake_api.write_count
    again = run_playbook(PLAYBOOK, extra_vars=extra)
    assert again.rc == 0 and again.stats["changed"] == 0, again.stdout[-4000:]
    assert fake_api.write_count == writes
    assert _task(again, "Connect over TLS and run SELECT 1")["select_1"] == 1


def test_role_reports_a_wrong_password_at_the_connection_check(
        run_playbook, fake_api, gcp, mariadb, mysql_backed_instance):
    suffix = uuid.uuid4().hex[:8]
    extra = _role_vars(gcp, mariadb, suffix)
    assert run_playbook(PLAYBOOK, extra_vars=extra).rc == 0
    # The password in the inventory no longer matches the user's (update_password is on_create).
    extra["cloudsql_access_users"][0]["password"] = "changed-in-inventory-only"
    run = run_playbook(PLAYBOOK, extra_vars=extra)
    assert run.rc != 0
    failed = _task(run, "Connect over TLS and run SELECT 1")
    assert "Access denied" in failed["msg"]


def test_role_with_cluster_node_addresses_and_secret(playbook, k8s_client, namespace, fake_api, gcp, mariadb,
                                                     mysql_backed_instance):
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    suffix = uuid.uuid4().hex[:8]
    node_name = "cloudsql-egress-" + suffix
    label = "statefuldb.io/cloudsql-test=" + suffix
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(
        name=node_name, labels={"statefuldb.io/cloudsql-test": suffix})))
    try:
        core.patch_node_status(node_name, {"status": {"addresses": [
            {"type": "InternalIP", "address": "10.250.0.9"},
            {"type": "ExternalIP", "address": "198.51.100.42"},
            {"type": "Hostname", "address": node_name}]}})
        extra = _role_vars(gcp, mariadb, suffix,
                           cloudsql_access_authorize_node_ips=True,
                           cloudsql_access_node_label_selectors=[label],
                           cloudsql_access_secret_name="orders-db",
                           cloudsql_access_secret_namespace=namespace)
        password = extra["cloudsql_access_users"][0]["password"]
        runs = [playbook(PLAYBOOK, check=True, extra_vars=extra),
                playbook(PLAYBOOK, extra_vars=extra, verbosity=3, json_output=False)]
        assert runs[0].rc == 0, runs[0].stdout[-4000:]
        assert runs[1].rc == 0, runs[1].stdout[-4000:]
        for secret in (password, mariadb.app_password):
            assert secret not in runs[1].stdout + runs[1].stderr
        networks = {(e["name"], e["value"]) for e in fake_api.authorized_networks(PROJECT, gcp["instance"])}
        assert networks == {("office", "203.0.113.0/24"), ("statefuldb-node-" + node_name, "198.51.100.42")}

        secret = core.read_namespaced_secret("orders-db", namespace)
        data = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
        assert data["host"] == "127.0.0.1"
        assert data["port"] == str(mariadb.port)
        assert data["user"] == "u_" + suffix
        assert data["password"] == password
        assert data["database"] == "db_" + suffix
        assert data["ca.crt"] == fake_api.instance(PROJECT, gcp["instance"])["serverCaCert"]["cert"]

        again = [playbook(PLAYBOOK, check=True, extra_vars=extra), playbook(PLAYBOOK, extra_vars=extra)]
        assert [r.rc for r in again] == [0, 0]
        assert [r.stats["changed"] for r in again] == [0, 0], again[1].stdout[-4000:]

        # The node leaves (its address may go to someone else) and another one joins: the role
        # removes its own entry for the old node and never touches entries it did not add.
        fake_api.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]["authorizedNetworks"].append(
            {"kind": "sql#aclEntry", "name": "k8s-node-added-by-hand", "value": "192.0.2.55"})
        core.delete_node(node_name)
        core.create_node(client.V1Node(metadata=client.V1ObjectMeta(
            name=node_name + "-b", labels={"statefuldb.io/cloudsql-test": suffix})))
        core.patch_node_status(node_name + "-b", {"status": {"addresses": [
            {"type": "ExternalIP", "address": "198.51.100.43"}]}})
        recycled = playbook(PLAYBOOK, extra_vars=extra)
        assert recycled.rc == 0, recycled.stdout[-4000:]
        networks = {(e["name"], e["value"]) for e in fake_api.authorized_networks(PROJECT, gcp["instance"])}
        assert networks == {("office", "203.0.113.0/24"), ("k8s-node-added-by-hand", "192.0.2.55"),
                            ("statefuldb-node-" + node_name + "-b", "198.51.100.43")}
    finally:
        for name in (node_name, node_name + "-b"):
            try:
                core.delete_node(name)
            except client.exceptions.ApiException as exc:
                if exc.status != 404:
                    raise


def test_role_with_only_networks_adds_a_temporary_controller_entry(run_playbook, fake_api, gcp, mariadb):
    extra = _role_vars(gcp, mariadb, "x", cloudsql_access_users=[], cloudsql_access_databases=[],
                       cloudsql_access_secret_name="cloudsql-connection",
                       cloudsql_access_controller_address="198.51.100.200")
    runs = [run_playbook(PLAYBOOK, check=True, extra_vars=extra), run_playbook(PLAYBOOK, extra_vars=extra),
            run_playbook(PLAYBOOK, check=True, extra_vars=extra), run_playbook(PLAYBOOK, extra_vars=extra)]
    assert [r.rc for r in runs] == [0, 0, 0, 0], runs[1].stdout[-3000:]
    assert [r.stats["changed"] > 0 for r in runs] == [True, True, False, False]
    entries = {e["name"]: e for e in fake_api.authorized_networks(PROJECT, gcp["instance"])}
    assert set(entries) == {"office", "ansible-controller"}
    assert entries["ansible-controller"]["value"] == "198.51.100.200"
    assert entries["ansible-controller"]["expirationTime"].endswith("Z")
    assert "skipped" in _task(runs[1], "Say why there is no Secret and no connection check")["msg"]


def test_playbook_at_vvv_with_diff_shows_no_key_or_password(run_playbook, fake_api, gcp, mariadb,
                                                            mysql_backed_instance, service_account, tls_material):
    """The whole playbook (users with passwords, the TLS login) at -vvv --diff: no user password, no
    service-account private key and no TLS private key anywhere in the output."""
    suffix = uuid.uuid4().hex[:8]
    extra = _role_vars(gcp, mariadb, suffix)
    password = extra["cloudsql_access_users"][0]["password"]
    key_lines = [line for line in service_account["info"]["private_key"].splitlines() if "PRIVATE KEY" not in line]
    tls_key_lines = []
    for name in ("server-key.pem", "client-key.pem"):
        with open(tls_material["paths"][name]) as f:
            tls_key_lines += [line for line in f.read().splitlines() if "PRIVATE KEY" not in line]

    run = run_playbook(PLAYBOOK, extra_vars=extra, verbosity=3, diff=True, json_output=False)
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # The run really created the user and logged in over TLS, so every secret was in play.
    assert _mariadb_has(mariadb, "u_" + suffix, "db_" + suffix) == (True, True)
    assert "SELECT 1" in run.stdout or "server_version" in run.stdout

    output = run.stdout + run.stderr
    assert password not in output
    assert not [line for line in key_lines if line in output], "a line of the service-account key was printed"
    assert not [line for line in tls_key_lines if line in output], "a line of a TLS private key was printed"


def test_role_leaves_an_instance_that_requires_client_certificates_alone(run_playbook, fake_api, gcp, mariadb):
    """The role's default used to be ssl_mode ENCRYPTED_ONLY, which stopped requiring client
    certificates; now the mode is left as it is unless asked, and a weaker one is refused."""
    conf = fake_api.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]
    conf.update(sslMode="TRUSTED_CLIENT_CERTIFICATE_REQUIRED", requireSsl=True)
    extra = _role_vars(gcp, mariadb, "c", cloudsql_access_users=[], cloudsql_access_databases=[])
    del extra["cloudsql_access_ssl_mode"]
    run = run_playbook(PLAYBOOK, extra_vars=extra)
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-4000:]
    after = fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]
    assert after["sslMode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" and after["requireSsl"] is True
    assert ("office", "203.0.113.0/24") in {(e["name"], e["value"]) for e in after["authorizedNetworks"]}

    writes = fake_api.write_count
    weaker = dict(extra, cloudsql_access_ssl_mode="ENCRYPTED_ONLY",
                  cloudsql_access_authorized_networks=[{"name": "new", "value": "203.0.113.77"}])
    refused = run_playbook(PLAYBOOK, extra_vars=weaker)
    assert refused.rc != 0
    assert "would weaken" in _task(refused, "Authorize networks and set the SSL mode")["msg"]
    assert fake_api.write_count == writes
    allowed = run_playbook(PLAYBOOK, extra_vars=dict(weaker, cloudsql_access_allow_ssl_downgrade=True))
    assert allowed.rc == 0, allowed.stdout[-4000:]
    assert fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
