# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""statefuldb.k8s.cloudsql_user through real ansible-playbook runs against the Admin API fake."""

from statefuldb_dev.cloudsql_support import PROJECT, last_result, results_changed


def _user(gcp, **options):
    return [{"name": "cloudsql user", "statefuldb.k8s.cloudsql_user": dict(gcp, **options)}]


def test_builtin_user_create_four_runs(run_playbook, fake_api, gcp):
    tasks = _user(gcp, name="app", host="%", password="S3cret-app-pw")
    check = run_playbook(tasks, check=True, diff=True)
    assert check.rc == 0, check.stdout
    assert last_result(check)["changed"] is True
    assert last_result(check)["diff"]["after"] == {"name": "app", "host": "%", "type": "BUILT_IN"}
    assert fake_api.user(PROJECT, gcp["instance"], "app") is None
    runs = [run_playbook(tasks), run_playbook(tasks, check=True), run_playbook(tasks)]
    assert results_changed(runs) == [True, False, False]
    user = fake_api.user(PROJECT, gcp["instance"], "app", "%")
    assert user["type"] == "BUILT_IN" and user["password"] == "S3cret-app-pw"


def test_password_changes_only_with_update_password_always(run_playbook, fake_api, gcp):
    assert run_playbook(_user(gcp, name="app", password="first-pw")).rc == 0
    on_create = run_playbook(_user(gcp, name="app", password="second-pw"))
    assert last_result(on_create)["changed"] is False
    assert fake_api.user(PROJECT, gcp["instance"], "app")["password"] == "first-pw"
    always = _user(gcp, name="app", password="second-pw", update_password="always")
    check = run_playbook(always, check=True)
    assert last_result(check)["changed"] is True
    assert fake_api.user(PROJECT, gcp["instance"], "app")["password"] == "first-pw"
    real = run_playbook(always)
    assert last_result(real)["changed"] is True and last_result(real)["password_updated"] is True
    assert fake_api.user(PROJECT, gcp["instance"], "app")["password"] == "second-pw"


def test_iam_user_and_absent_four_runs(run_playbook, fake_api, gcp):
    iam = _user(gcp, name="app-sa@%s.iam" % PROJECT, type="CLOUD_IAM_SERVICE_ACCOUNT")
    runs = [run_playbook(iam, check=True), run_playbook(iam), run_playbook(iam, check=True), run_playbook(iam)]
    assert results_changed(runs) == [True, True, False, False]
    assert fake_api.user_by_name(PROJECT, gcp["instance"], "app-sa@%s.iam" % PROJECT)["type"] == \
        "CLOUD_IAM_SERVICE_ACCOUNT"
    absent = _user(gcp, name="app-sa@%s.iam" % PROJECT, type="CLOUD_IAM_SERVICE_ACCOUNT", state="absent")
    runs = [run_playbook(absent, check=True)]
    assert fake_api.user_by_name(PROJECT, gcp["instance"], "app-sa@%s.iam" % PROJECT) is not None
    runs += [run_playbook(absent), run_playbook(absent, check=True), run_playbook(absent)]
    assert results_changed(runs) == [True, True, False, False]
    assert fake_api.user_by_name(PROJECT, gcp["instance"], "app-sa@%s.iam" % PROJECT) is None


def test_user_input_errors_write_nothing(run_playbook, fake_api, gcp):
    writes = fake_api.write_count
    no_password = run_playbook(_user(gcp, name="nopw"))
    assert no_password.rc != 0 and "password is required to create the BUILT_IN user 'nopw'" in last_result(no_password)["msg"]
    iam_pw = run_playbook(_user(gcp, name="x@y.iam", type="CLOUD_IAM_USER", password="pw"))
    assert iam_pw.rc != 0 and "password is only for type BUILT_IN" in last_result(iam_pw)["msg"]
    assert fake_api.write_count == writes


def test_create_whose_response_was_lost_succeeds_as_created(run_playbook, fake_api, gcp):
    # The first POST is applied but its response never arrives; the retried POST finds the user.
    fake_api.lose_next_response("POST", "/instances/%s/users" % gcp["instance"])
    posts = [w for w in fake_api.writes if w[0] == "POST"]
    run = run_playbook(_user(gcp, name="app", password="S3cret-app-pw"))
    assert run.rc == 0, run.stdout
    assert last_result(run)["changed"] is True
    # The retried POST may first meet 409 operationInProgress (the first create still running).
    assert len([w for w in fake_api.writes if w[0] == "POST"][len(posts):]) >= 2
    assert fake_api.user(PROJECT, gcp["instance"], "app", "%")["password"] == "S3cret-app-pw"
    again = run_playbook(_user(gcp, name="app", password="S3cret-app-pw"))
    assert last_result(again)["changed"] is False
