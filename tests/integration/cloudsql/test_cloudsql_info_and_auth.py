# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""statefuldb.k8s.cloudsql_info, and the three auth kinds including AWX's GCP_* variables."""

import secrets

from statefuldb_dev.cloudsql_support import PROJECT, last_result


def test_info_returns_what_a_client_needs(run_playbook, fake_api, gcp, tls_material):
    run = run_playbook([{"name": "info", "statefuldb.k8s.cloudsql_info": dict(gcp, gather=["users", "databases"])}],
                       check=True)
    assert run.rc == 0, run.stdout
    res = last_result(run)
    assert res["changed"] is False
    inst = res["instance"]
    assert inst["state"] == "RUNNABLE"
    assert inst["connection_name"] == "%s:europe-west1:%s" % (PROJECT, gcp["instance"])
    assert inst["public_ip_address"] == "127.0.0.1"
    assert inst["ip_addresses_by_type"] == {"PRIMARY": ["127.0.0.1"], "OUTGOING": ["192.0.2.10"]}
    assert inst["ssl_mode"] == "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    assert inst["port"] == 3306
    assert inst["server_ca_cert"]["cert"] == tls_material["ca_pem"]
    assert "root" in [u["name"] for u in res["users"]]
    assert "mysql" in [d["name"] for d in res["databases"]]


def test_awx_environment_variables_with_service_account_contents(run_playbook, fake_api, gcp, service_account):
    import json
    env = {"GCP_PROJECT": PROJECT, "GCP_AUTH_KIND": "serviceaccount",
           "GCP_SERVICE_ACCOUNT_CONTENTS": json.dumps(service_account["info"])}
    run = run_playbook([{"name": "info", "statefuldb.k8s.cloudsql_info": {
        "instance": gcp["instance"], "api_endpoint": gcp["api_endpoint"]}}], env=env)
    assert run.rc == 0, run.stdout
    assert last_result(run)["instance"]["name"] == gcp["instance"]


def test_application_default_credentials(run_playbook, fake_api, gcp, service_account):
    env = {"GOOGLE_APPLICATION_CREDENTIALS": service_account["path"], "GCP_PROJECT": PROJECT}
    run = run_playbook([{"name": "info", "statefuldb.k8s.cloudsql_info": {
        "instance": gcp["instance"], "auth_kind": "application", "api_endpoint": gcp["api_endpoint"]}}], env=env)
    assert run.rc == 0, run.stdout
    assert last_result(run)["instance"]["name"] == gcp["instance"]


def test_access_token_and_a_rejected_token(run_playbook, fake_api, gcp):
    token = "ya29.test-" + secrets.token_urlsafe(16)
    fake_api.add_access_token(token)
    options = {"instance": gcp["instance"], "project": PROJECT, "api_endpoint": gcp["api_endpoint"]}
    ok = run_playbook([{"name": "info", "statefuldb.k8s.cloudsql_info": options}],
                      env={"GCP_AUTH_KIND": "accesstoken", "GCP_ACCESS_TOKEN": token})
    assert ok.rc == 0, ok.stdout
    bad = run_playbook([{"name": "info", "statefuldb.k8s.cloudsql_info": dict(options, auth_kind="accesstoken",
                                                                              access_token="ya29.not-issued")}])
    assert bad.rc != 0
    msg = last_result(bad)["msg"]
    assert "401" in msg and "credentials are missing, invalid or expired" in msg
    missing = run_playbook([{"name": "info", "statefuldb.k8s.cloudsql_info": dict(options, auth_kind="accesstoken")}],
                           env={"GCP_ACCESS_TOKEN": ""})
    assert missing.rc != 0 and "auth_kind=accesstoken needs access_token" in last_result(missing)["msg"]


def test_gcp_scopes_variable_is_used(run_playbook, fake_api, gcp):
    task = [{"name": "info", "statefuldb.k8s.cloudsql_info": gcp}]
    run = run_playbook(task, env={"GCP_SCOPES": "https://www.googleapis.com/auth/userinfo.email"})
    assert run.rc != 0
    assert "invalid_scope" in last_result(run)["msg"]
    run = run_playbook(task, env={"GCP_SCOPES": "https://www.googleapis.com/auth/cloud-platform"})
    assert run.rc == 0, run.stdout
