"""The role's manifests as the API would receive them, per flavor (real ansible-playbook, renders only).

The MariaDB flavor runs for real in test_e2e.py; the sandbox has no MySQL server, so the MySQL
flavor's configuration is checked here, as rendered.
"""
import os

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "mysql_cluster")


def render(playbook, flavor, **extra):
    """Render the ConfigMap and StatefulSet templates with the role's defaults and vars."""
    tasks = [
        {"name": "Role defaults", "ansible.builtin.include_vars": os.path.join(ROLE, "defaults", "main.yml")},
        {"name": "Role vars", "ansible.builtin.include_vars": os.path.join(ROLE, "vars", "main.yml")},
        {"name": "Render", "ansible.builtin.set_fact": {
            "configmap": "{{ lookup('ansible.builtin.template', '%s/templates/configmap.yml.j2') | from_yaml }}" % ROLE,
            "statefulset": "{{ lookup('ansible.builtin.template', '%s/templates/statefulset.yml.j2') | from_yaml }}" % ROLE,
        }},
    ]
    run = playbook(tasks, extra_vars=dict({"mysql_cluster_flavor": flavor}, **extra))
    assert run.rc == 0, run.stdout[-3000:]
    return run.results[-1]["ansible_facts"]


def cnf(text):
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(("#", "["))]
    return {k.strip(): v.strip() for k, v in (line.split("=", 1) for line in lines)}


@pytest.mark.parametrize("flavor, image, password_env, replica_only", [
    ("mariadb", "mariadb:10.11", "MARIADB_ROOT_PASSWORD", {"read_only": "ON", "skip_slave_start": "ON"}),
    ("mysql", "mysql:8.4", "MYSQL_ROOT_PASSWORD",
     {"read_only": "ON", "super_read_only": "ON", "skip_replica_start": "ON"}),
])
def test_flavor_configuration(playbook, flavor, image, password_env, replica_only):
    facts = render(playbook, flavor)
    data = facts["configmap"]["data"]
    primary, replica = cnf(data["primary.cnf"]), cnf(data["replica.cnf"])
    assert data["server-id-base"] == "100"
    assert primary["log_bin"] == replica["log_bin"] == "mysql-bin"
    if flavor == "mariadb":
        assert primary["gtid_strict_mode"] == "ON" and primary["log_slave_updates"] == "ON"
    else:
        assert (primary["gtid_mode"], primary["enforce_gtid_consistency"]) == ("ON", "ON")
        assert primary["log_replica_updates"] == "ON" and primary["super_read_only"] == "OFF"
    assert primary["read_only"] == "OFF"
    for key, value in replica_only.items():
        assert replica[key] == value, key

    sts = facts["statefulset"]
    spec = sts["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == image
    assert container["env"] == [{"name": password_env, "valueFrom": {
        "secretKeyRef": {"name": "mysql-credentials", "key": "root-password"}}}]
    # The probes log in with the password from the environment, never on the command line.
    probe = container["readinessProbe"]["exec"]["command"][2]
    assert "$%s" % password_env in probe and "MYSQL_PWD=" in probe
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenScaled": "Retain", "whenDeleted": "Retain"}
    assert "statefuldb.io/sandbox-db" not in spec["template"]["metadata"]["labels"]


def test_sandbox_label_storage_class_and_extra_config(playbook):
    facts = render(playbook, "mariadb", mysql_cluster_sandbox_db=True, mysql_cluster_storage_class="fast",
                   mysql_cluster_extra_config="max_connections = 50", mysql_cluster_replica_skip_start=False)
    spec = facts["statefulset"]["spec"]
    assert spec["template"]["metadata"]["labels"]["statefuldb.io/sandbox-db"] == "mariadb"
    assert spec["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    replica = cnf(facts["configmap"]["data"]["replica.cnf"])
    assert replica["max_connections"] == "50" and "skip_slave_start" not in replica
    assert yaml.safe_dump(facts["statefulset"])  # plain data, ready for the API
