"""Issue 15: no acknowledged row is lost while the role deploys, scales 3 -> 5 -> 3, and heals a deleted replica pod.

One run of bench/chaos_data.py's "no data lost" scenario on MariaDB 11.8 (`make chaos-data` runs
every data scenario N times): a writer inserts numbered rows on the primary the whole time; every
row whose INSERT returned must be on every member afterwards, the replicas identical to the primary
and replicating, the claims of ordinals 3 and 4 kept through the scale-in (same UIDs). The writer's
history (JSON lines) is kept in tests/output/.
"""
import os
import time

from bench import chaos_data
from statefuldb_dev import REPO
from statefuldb_dev.mysql_cluster import FLAVORS, NAME

OUTPUT = os.path.join(REPO, "tests", "output")


def test_no_acknowledged_row_lost_through_scale_pod_deletion_and_reruns(k8s_client):
    flavor = next(f for f in FLAVORS if f[0] == "mariadb-11.8")
    scenario = next(s for s in chaos_data.SCENARIOS if s[0] == "no data lost")
    prefix = os.environ.get("CHAOS_DATA_PREFIX") or "t-no-data-lost"
    outcome = chaos_data.one_run(k8s_client, scenario, 0, flavor, prefix, OUTPUT, time.strftime("%Y%m%dT%H%M%S"))
    print("\nno data lost: %.0f s, history %s, steps %s" % (
        outcome["seconds"], outcome["history"], [(s["step"], s["rc"], s["changed"], s["seconds"]) for s in outcome["steps"]]))
    detail = "%s\nhistory: %s" % ("; ".join(outcome["notes"]), outcome["history"])

    steps = outcome["steps"]
    assert [s["step"] for s in steps] == ["deploy 3", "scale 3 -> 5", "scale 5 -> 3",
                                          "re-run after the pod deletion (restarts its replication)", "re-run"], detail
    assert all(s["rc"] == 0 for s in steps), steps
    assert steps[-1]["changed"] == 0, steps[-1]

    claims = outcome["facts"]["claims_at_5"]
    assert sorted(claims) == ["data-%s-%d" % (NAME, i) for i in range(5)]
    assert outcome["facts"]["claims_at_end"] == claims, "scale-in must keep every claim (same UIDs)"

    data = outcome["data"]
    assert data is not None, detail
    assert data["acknowledged"] > 0, "the writer never got a row in: the test proves nothing"
    assert data["rows_lost"] == 0, detail
    members = data["members"]
    assert sorted(members) == ["%s-%d" % (NAME, i) for i in range(3)]
    primary = members[NAME + "-0"]
    assert primary["count"] >= data["acknowledged"]
    for name in ("%s-1" % NAME, "%s-2" % NAME):
        assert members[name]["missing_acknowledged"] == [], (name, detail)
        assert (members[name]["count"], members[name]["sha256"]) == (primary["count"], primary["sha256"]), name
        assert tuple(members[name]["replication"]) == ("%s-0.%s" % (NAME, NAME), "Yes", "Yes"), members[name]
    assert outcome["ok"], detail
    assert outcome["half_applied"] is False
