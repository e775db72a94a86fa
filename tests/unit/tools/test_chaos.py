"""Unit tests of bench/chaos.py's judging: half-applied objects, early retries, the table."""

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

chaos = load_script("bench", "chaos")


def test_matches_definition_sees_a_half_applied_statefulset():
    definition = chaos.sts_definition("c-x-0", "ns")
    live = {"spec": dict(definition["spec"])}
    assert chaos.matches_definition(live, definition)
    assert not chaos.matches_definition({"spec": dict(definition["spec"], replicas=1)}, definition)
    other = {"spec": dict(definition["spec"], template={"spec": {"containers": [{"name": "db", "image": "old:1"}]}})}
    assert not chaos.matches_definition(other, definition)
    real = chaos.sts_definition("c-x-0", "ns", "real")
    assert real["spec"]["template"]["spec"]["containers"][0]["command"] == ["sleep", "3600"]
    assert "tolerations" in definition["spec"]["template"]["spec"]
    assert "tolerations" not in real["spec"]["template"]["spec"]


def record(t, verb="GET", path="/p", status=200, watch=False):
    return {"t": t, "verb": verb, "path": path, "status": status, "watch": watch}


def test_early_retries_compare_the_same_request_only():
    records = [record(0.0, status=429), record(0.2, path="/other"), record(1.0), record(2.0, status=429),
               record(2.3)]
    assert chaos.early_retries(records, 1) == ["GET /p after 0.30s"]
    assert chaos.early_retries(records, 0) == []
    # A 429 that was never re-sent (the task was done by then) is not an early retry.
    assert chaos.early_retries([record(0.0, status=429), record(0.1, path="/other")], 1) == []


def test_percentile_and_table():
    assert chaos.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 0.95) == 19
    assert chaos.percentile([4.0], 0.95) == 4.0
    row = {"scenario": "503", "rules": ["503:every=3"], "nodes": "kwok", "criterion": "task succeeds", "runs": 20,
           "succeeded": 20, "p50": 1.25, "p95": 2.5, "half_applied": 0, "rows_lost": "n/a"}
    assert chaos.table([row]).splitlines()[-1] == "| 503 | `503:every=3` | kwok | task succeeds | 20 | 20 | 1.2 | 2.5 | 0 | n/a |"


def test_every_scenario_rule_parses_and_quick_subset_is_small():
    for scenario in chaos.SCENARIOS:
        for rule in scenario.rules:
            chaos.faultproxy.parse_rule(rule)
        assert scenario.expect in ("success", "failure")
        assert scenario.expect == "success" or (scenario.message and scenario.bound)
    assert 5 <= len([s for s in chaos.SCENARIOS if s.quick]) <= 10
