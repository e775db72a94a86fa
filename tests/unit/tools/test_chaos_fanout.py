"""Unit tests of bench/chaos_fanout.py: what it generates, and how it reads per-host times and failures."""

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

chaos_fanout = load_script("bench", "chaos_fanout")


def test_inventory_and_plays_fan_out_over_local_hosts_each_with_its_namespace():
    inventory = chaos_fanout.inventory(["fan-01", "fan-02"], "fanout")
    assert inventory["all"]["vars"]["ansible_connection"] == "local"
    assert inventory["all"]["children"]["fanout"]["hosts"] == {"fan-01": {"fanout_namespace": "fan-01"},
                                                               "fan-02": {"fanout_namespace": "fan-02"}}
    play = chaos_fanout.modules_play(180)[0]
    assert play["strategy"] == "free" and play["environment"] == {"FANOUT_HOST": "{{ inventory_hostname }}"}
    sts = play["tasks"][1]["statefuldb.k8s.statefulset"]
    assert sts["wait"] is True and sts["definition"]["metadata"]["namespace"] == "{{ fanout_namespace }}"
    assert sts["definition"]["spec"]["replicas"] == 3
    db = chaos_fanout.db_play(600)[0]
    assert db["roles"] == [{"role": "statefuldb.k8s.mysql_cluster"}]
    assert db["vars"]["mysql_cluster_namespace"] == "{{ fanout_namespace }}"


def task(name, host, start, end, **result):
    return {"task": {"name": name, "duration": {"start": start, "end": end}}, "hosts": {host: result}}


def test_host_seconds_and_failures_from_the_json_callback():
    data = {"plays": [{"tasks": [
        task("Service", "a", "2026-12-02T01:00:00.000000Z", "2026-12-02T01:00:02.000000Z"),
        task("Service", "b", "2026-12-02T01:00:00.500000Z", "2026-12-02T01:00:01.000000Z"),
        task("StatefulSet", "a", "2026-12-02T01:00:02.000000Z", "2026-12-02T01:00:10.000000Z"),
        task("StatefulSet", "b", "2026-12-02T01:00:01.000000Z", "2026-12-02T01:00:04.500000Z",
             failed=True, msg="timed out"),
        task("ignored", "b", "2026-12-02T01:00:04.500000Z", "2026-12-02T01:00:05.000000Z",
             failed=True, ignore_errors=True, msg="fine"),
    ]}]}
    run = chaos_fanout.Run(2, 10.0, data, "", "", [], [], {})
    assert run.host_seconds() == {"a": 10.0, "b": 4.5}
    assert run.failures() == {"b": "StatefulSet: timed out"}
