"""The role's manifests as the API would receive them, per flavor (real ansible-playbook, renders only;
no cluster needed). The pods themselves run in test_e2e.py, for every flavor."""
import os

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "mysql_cluster")


def render(offline_playbook, flavor, **extra):
    """Render the ConfigMap and StatefulSet templates with the role's defaults and vars."""
    tasks = [
        {"name": "Role defaults", "ansible.builtin.include_vars": os.path.join(ROLE, "defaults", "main.yml")},
        {"name": "Role vars", "ansible.builtin.include_vars": os.path.join(ROLE, "vars", "main.yml")},
        {"name": "Render", "ansible.builtin.set_fact": {
            "configmap": "{{ lookup('ansible.builtin.template', '%s/templates/configmap.yml.j2') | from_yaml }}" % ROLE,
            "statefulset": "{{ lookup('ansible.builtin.template', '%s/templates/statefulset.yml.j2') | from_yaml }}" % ROLE,
        }},
    ]
    run = offline_playbook(tasks, extra_vars=dict({"mysql_cluster_flavor": flavor, "role_path": ROLE}, **extra))
    assert run.rc == 0, run.stdout[-3000:]
    return run.results[-1]["ansible_facts"]


def cnf(text):
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(("#", "["))]
    return {k.strip(): v.strip() for k, v in (line.split("=", 1) for line in lines)}


@pytest.mark.parametrize("flavor, image, server, admin, client, replica_only", [
    ("mariadb", "mariadb:10.11", "mariadbd", "mariadb-admin", "mariadb",
     {"read_only": "ON", "skip_slave_start": "ON"}),
    ("mysql", "mysql:8.4", "mysqld", "mysqladmin", "mysql",
     {"read_only": "ON", "super_read_only": "ON", "skip_replica_start": "ON"}),
])
def test_flavor_configuration(offline_playbook, flavor, image, server, admin, client, replica_only):
    facts = render(offline_playbook, flavor)
    data = facts["configmap"]["data"]
    primary, replica = cnf(data["primary.cnf"]), cnf(data["replica.cnf"])
    assert data["server-id-base"] == "100"
    for conf in (primary, replica):
        assert conf["log_bin"] == "mysql-bin"
        assert (conf["user"], conf["datadir"], conf["port"], conf["bind_address"]) == (
            "mysql", "/var/lib/mysql/data", "3306", "0.0.0.0")
        assert conf["socket"] == "/run/mysqld/mysqld.sock"
    if flavor == "mariadb":
        assert primary["gtid_strict_mode"] == "ON" and primary["log_slave_updates"] == "ON"
        assert "super_read_only" not in replica
    else:
        assert (primary["gtid_mode"], primary["enforce_gtid_consistency"]) == ("ON", "ON")
        assert primary["log_replica_updates"] == "ON" and primary["super_read_only"] == "OFF"
    assert primary["read_only"] == "OFF"
    for key, value in replica_only.items():
        assert replica[key] == value, key
    # The pods' scripts are the role's files, verbatim.
    for script in ("init-datadir.sh", "start-server.sh", "readiness.sh"):
        with open(os.path.join(ROLE, "files", script)) as f:
            assert data[script].rstrip("\n") == f.read().rstrip("\n"), script
    # Semi-synchronous replication by default (3 members): both sides enabled on every member, so
    # whichever member is promoted waits for a replica's acknowledgement.
    semi = ("rpl_semi_sync_master", "rpl_semi_sync_slave") if flavor == "mariadb" else (
        "rpl_semi_sync_source", "rpl_semi_sync_replica")
    for conf in (primary, replica):
        assert (conf[semi[0] + "_enabled"], conf[semi[1] + "_enabled"]) == ("ON", "ON")
        assert conf[semi[0] + "_timeout"] == "10000" and conf[semi[0] + "_wait_point"] == "AFTER_SYNC"
    single = cnf(render(offline_playbook, flavor, mysql_cluster_replicas=1)["configmap"]["data"]["primary.cnf"])
    assert not any(key.startswith("rpl_semi_sync") for key in single), "one member has no replica to wait for"

    spec = facts["statefulset"]["spec"]
    pod = spec["template"]["spec"]
    init, = pod["initContainers"]
    container, = pod["containers"]
    assert init["image"] == container["image"] == image
    # No image entrypoint: the init container prepares, the server reads only the role's file.
    assert init["command"] == ["sh", "/mnt/config-map/init-datadir.sh"]
    # The main container writes the configuration of the member's recorded role at every start.
    assert container["command"] == ["sh", "/mnt/config-map/start-server.sh"]
    main_env = {e["name"]: e["value"] for e in container["env"]}
    assert main_env["DB_SERVER"] == server and main_env["TOPOLOGY"] == "/mnt/topology"
    assert main_env["DB_GTID_POSITION"] == ("@@GLOBAL.gtid_binlog_pos" if flavor == "mariadb" else "@@GLOBAL.gtid_executed")
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in init["env"]}
    assert env["ROOT_PASSWORD"] == {"secretKeyRef": {"name": "mysql-credentials", "key": "root-password"}}
    assert (env["DB_FLAVOR"], env["DB_SERVER"], env["DB_CLIENT"]) == (flavor, server, client)
    assert "--initialize-insecure" in env["DB_INSTALL"] if flavor == "mysql" else "mariadb-install-db" in env["DB_INSTALL"]
    assert not any("valueFrom" in e or "PASSWORD" in e["name"] for e in container["env"]), \
        "the server container needs no password in its environment"
    # The probes log in with the option file the init container wrote; no password on argv.
    login = "--defaults-file=/run/statefuldb/client.cnf"
    assert container["startupProbe"]["exec"]["command"] == [admin, login, "ping"]
    assert container["livenessProbe"]["exec"]["command"] == [admin, login, "ping"]
    assert container["readinessProbe"]["exec"]["command"] == ["sh", "/mnt/config-map/readiness.sh"]
    assert (main_env["DB_CLIENT"], main_env["LOGIN_FILE"], main_env["DB_PORT"]) == (
        client, "/run/statefuldb/client.cnf", "3306")
    assert all(c["terminationMessagePolicy"] == "FallbackToLogsOnError" for c in (init, container))
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == "/var/lib/mysql"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["login"]["emptyDir"]["medium"] == "Memory"
    # The record of the primary: optional, as it does not exist before the first run wrote it.
    assert volumes["topology"]["configMap"] == {"name": "mysql-topology", "optional": True}
    assert mounts["topology"] == "/mnt/topology"
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenScaled": "Retain", "whenDeleted": "Retain"}
    assert set(spec["template"]["metadata"]["labels"]) == {
        "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"}


def test_storage_class_extra_config_and_config_checksum(offline_playbook):
    plain = render(offline_playbook, "mariadb")
    facts = render(offline_playbook, "mariadb", mysql_cluster_storage_class="fast",
                   mysql_cluster_extra_config="max_connections = 50", mysql_cluster_replica_skip_start=False)
    spec = facts["statefulset"]["spec"]
    assert spec["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    replica = cnf(facts["configmap"]["data"]["replica.cnf"])
    assert replica["max_connections"] == "50" and "skip_slave_start" not in replica
    # A changed configuration changes the pod template, so the pods restart with it.
    checksum = "statefuldb.io/config-checksum"
    assert spec["template"]["metadata"]["annotations"][checksum] != \
        plain["statefulset"]["spec"]["template"]["metadata"]["annotations"][checksum]
    assert render(offline_playbook, "mariadb")["statefulset"] == plain["statefulset"]  # stable
    assert yaml.safe_dump(facts["statefulset"])  # plain data, ready for the API
