"""Unit tests of the sandbox database runner's pure parts (tools/localkube/dbrunner.py)."""
import importlib.util
import os
from types import SimpleNamespace as NS

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
_spec = importlib.util.spec_from_file_location("dbrunner", os.path.join(REPO, "tools", "localkube", "dbrunner.py"))
dbrunner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dbrunner)


def pod(name, ns="db", ip="10.244.0.5", ready=True, subdomain="mysql", labels=None, deleting=False):
    return NS(
        metadata=NS(name=name, namespace=ns, labels=labels or {}, deletion_timestamp="now" if deleting else None,
                    uid="uid-" + name),
        spec=NS(hostname=name, subdomain=subdomain, containers=[], volumes=[]),
        status=NS(pod_ip=ip, conditions=[NS(type="Ready", status="True" if ready else "False")]),
    )


def test_ready_means_ready_condition_an_ip_and_not_deleting():
    assert dbrunner.pod_is_ready(pod("mysql-0"))
    assert not dbrunner.pod_is_ready(pod("mysql-0", ready=False))
    assert not dbrunner.pod_is_ready(pod("mysql-0", ip=None))
    assert not dbrunner.pod_is_ready(pod("mysql-0", deleting=True))


def test_ordinal_from_the_pod_index_label_or_the_name():
    assert dbrunner.pod_ordinal(pod("mysql-12")) == 12
    assert dbrunner.pod_ordinal(pod("x", labels={"apps.kubernetes.io/pod-index": "3"})) == 3


def test_dns_names_like_cluster_dns():
    assert dbrunner.dns_names(pod("mysql-0")) == [
        "mysql-0.mysql.db.svc.cluster.local", "mysql-0.mysql.db.svc", "mysql-0.mysql.db", "mysql-0.mysql"]
    assert dbrunner.dns_names(pod("lonely", subdomain=None)) == []


def test_short_names_only_within_the_namespace():
    pods = [pod("mysql-0", ns="a", ip="10.244.0.1"), pod("mysql-0", ns="b", ip="10.244.0.2")]
    per_a = dict(dbrunner.hosts_entries(pods, "a"))
    assert "mysql-0.mysql" in per_a["10.244.0.1"]
    assert per_a["10.244.0.2"] == ["mysql-0.mysql.b.svc.cluster.local"]


def test_render_hosts_replaces_only_its_block():
    before = "127.0.0.1\tlocalhost\n# BEGIN statefuldb dbrunner (managed, rewritten on every pod change)\n" \
             "10.244.9.9\told\n# END statefuldb dbrunner\n10.1.1.1 kept\n"
    out = dbrunner.render_hosts(before, [("10.244.0.1", ["mysql-0.mysql"])])
    assert "old" not in out and "10.1.1.1 kept" in out and "10.244.0.1\tmysql-0.mysql" in out
    assert out.count(dbrunner.HOSTS_BEGIN) == 1


def test_first_start_sets_the_root_password_quoted_and_outside_the_binary_log():
    sql = dbrunner.first_start_sql("it's\\x").splitlines()
    assert sql[0] == "SET SESSION sql_log_bin = 0;"
    assert "ALTER USER 'root'@'localhost' IDENTIFIED BY 'it\\'s\\\\x';" in sql
    assert "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY 'it\\'s\\\\x';" in sql
    assert sql[-1] == "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"


def test_a_second_pod_with_the_same_ip_gets_no_server_and_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(dbrunner, "STATUS_FILE", str(tmp_path / "status.json"))
    monkeypatch.setattr(dbrunner, "RUNNER_DIR", str(tmp_path))
    runner = dbrunner.Runner.__new__(dbrunner.Runner)
    runner.hosts_path = str(tmp_path / "netns-hosts")
    runner.duplicates = {}
    holder = NS(key="demo/mysql-0", ip="10.244.2.6", uid="uid-mysql-0", exited=lambda: False, proc=object(),
                finish_first_start=lambda: None,
                status=lambda: {"pod": "demo/mysql-0"})
    runner.servers = {"demo/mysql-0": holder}
    runner.pods = {"demo/mysql-0": pod("mysql-0", ns="demo", ip="10.244.2.6"),
                   "bench/mysql-0": pod("mysql-0", ns="bench", ip="10.244.2.6")}
    runner.reconcile()
    assert list(runner.servers) == ["demo/mysql-0"]
    assert runner.duplicates == {
        "bench/mysql-0": "pod IP 10.244.2.6 is also the IP of demo/mysql-0; not starting a second server on it"}
