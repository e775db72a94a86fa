# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""statefuldb.k8s.cloudsql_database through real ansible-playbook runs against the Admin API fake."""

from statefuldb_dev.cloudsql_support import PROJECT, last_result, results_changed


def _database(gcp, **options):
    return [{"name": "cloudsql database", "statefuldb.k8s.cloudsql_database": dict(gcp, **options)}]


def test_database_create_update_delete_four_runs_each(run_playbook, fake_api, gcp):
    create = _database(gcp, name="orders", charset="utf8mb4", collation="utf8mb4_unicode_ci")
    check = run_playbook(create, check=True, diff=True)
    assert check.rc == 0, check.stdout
    expected = {"name": "orders", "charset": "utf8mb4", "collation": "utf8mb4_unicode_ci"}
    assert last_result(check)["diff"] == {"before": None, "after": expected}
    assert fake_api.database(PROJECT, gcp["instance"], "orders") is None
    runs = [check, run_playbook(create), run_playbook(create, check=True), run_playbook(create)]
    assert results_changed(runs) == [True, True, False, False]
    db = fake_api.database(PROJECT, gcp["instance"], "orders")
    assert (db["charset"], db["collation"]) == ("utf8mb4", "utf8mb4_unicode_ci")

    change = _database(gcp, name="orders", charset="utf8mb4", collation="utf8mb4_bin")
    runs = [run_playbook(change, check=True)]
    assert fake_api.database(PROJECT, gcp["instance"], "orders")["collation"] == "utf8mb4_unicode_ci"
    runs += [run_playbook(change), run_playbook(change, check=True), run_playbook(change)]
    assert results_changed(runs) == [True, True, False, False]
    assert fake_api.database(PROJECT, gcp["instance"], "orders")["collation"] == "utf8mb4_bin"

    absent = _database(gcp, name="orders", state="absent")
    runs = [run_playbook(absent, check=True)]
    assert fake_api.database(PROJECT, gcp["instance"], "orders") is not None
    runs += [run_playbook(absent), run_playbook(absent, check=True), run_playbook(absent)]
    assert results_changed(runs) == [True, True, False, False]
    assert fake_api.database(PROJECT, gcp["instance"], "orders") is None


def test_database_bad_collation_writes_nothing(run_playbook, fake_api, gcp):
    writes = fake_api.write_count
    run = run_playbook(_database(gcp, name="orders", charset="utf8mb4", collation="latin1_swedish_ci"))
    assert run.rc != 0
    assert "collation 'latin1_swedish_ci' does not belong to charset 'utf8mb4'" in last_result(run)["msg"]
    assert fake_api.write_count == writes


def test_create_whose_response_was_lost_succeeds_as_created(run_playbook, fake_api, gcp):
    # The first POST is applied but its response never arrives; the retried POST finds the database.
    fake_api.lose_next_response("POST", "/instances/%s/databases" % gcp["instance"])
    before = len(fake_api.writes)
    create = _database(gcp, name="orders", charset="utf8mb4", collation="utf8mb4_unicode_ci")
    run = run_playbook(create)
    assert run.rc == 0, run.stdout
    result = last_result(run)
    assert result["changed"] is True
    assert result["database"] == {"name": "orders", "charset": "utf8mb4", "collation": "utf8mb4_unicode_ci"}
    # The retried POST may first meet 409 operationInProgress (the first create still running).
    assert [w[0] for w in fake_api.writes[before:]].count("POST") >= 2
    assert last_result(run_playbook(create))["changed"] is False
