"""The mysql_cluster role reads its credentials Secret in one place (tasks/credentials.yml), which the
deploy (secret.yml) and the switchover/failover (promote.yml) include; every task that reads the Secret
or holds a password is no_log. Static checks of the task files: no cluster, no playbook run."""
import glob
import os

import yaml

TASKS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "mysql_cluster", "tasks")
PASSWORD_FACTS = ("__mysql_cluster_root_pw", "__mysql_cluster_replication_pw")


def tasks(name):
    with open(os.path.join(TASKS, name)) as handle:
        return yaml.safe_load(handle) or []


def flat(task_list):
    for task in task_list:
        yield task
        for key in ("block", "rescue", "always"):
            yield from flat(task.get(key) or [])


def reads_the_secret(task):
    info = task.get("statefuldb.k8s.resource_info") or {}
    return info.get("kind") == "Secret"


def test_only_credentials_yml_reads_the_secret():
    readers = sorted(os.path.basename(path) for path in glob.glob(os.path.join(TASKS, "*.yml"))
                     if any(reads_the_secret(task) for task in flat(tasks(os.path.basename(path)))))
    assert readers == ["credentials.yml"]


def test_deploy_and_promote_include_it():
    for name in ("secret.yml", "promote.yml"):
        includes = [task.get("ansible.builtin.include_tasks") for task in flat(tasks(name))]
        assert "credentials.yml" in includes, name


def test_credentials_yml_only_reads():
    modules = [next(key for key in task if "." in key) for task in tasks("credentials.yml")]
    assert modules == ["statefuldb.k8s.resource_info", "ansible.builtin.fail", "ansible.builtin.set_fact"]


def test_every_task_that_sees_a_password_is_no_log():
    for path in glob.glob(os.path.join(TASKS, "*.yml")):
        for task in flat(tasks(os.path.basename(path))):
            sets_password = any(fact in (task.get("ansible.builtin.set_fact") or {}) for fact in PASSWORD_FACTS)
            if reads_the_secret(task) or sets_password:
                assert task.get("no_log") is True, "%s: %s" % (os.path.basename(path), task.get("name"))
