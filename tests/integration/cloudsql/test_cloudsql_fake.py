# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Admin API fake keeps the documented semantics the modules rely on (raw HTTP, no Ansible)."""

import time

import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account as google_sa

from statefuldb_dev.cloudsql_support import PROJECT


def _session(service_account):
    creds = google_sa.Credentials.from_service_account_info(
        service_account["info"], scopes=["https://www.googleapis.com/auth/sqlservice.admin"])
    return AuthorizedSession(creds)


def _url(fake_api, instance, suffix=""):
    return "%sv1/projects/%s/instances/%s%s" % (fake_api.base_url, PROJECT, instance, suffix)


def test_every_call_needs_a_bearer_token(fake_api, instance_name):
    response = requests.get(_url(fake_api, instance_name), timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    response = requests.get(_url(fake_api, instance_name), headers={"Authorization": "Bearer made-up"}, timeout=5)
    assert response.status_code == 401


def test_token_endpoint_only_accepts_a_signed_jwt_bearer_grant(fake_api):
    response = requests.post(fake_api.token_uri, data={"grant_type": "client_credentials"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    response = requests.post(fake_api.token_uri, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_patch_semantics_settings_version_and_operations(fake_api, service_account, instance_name):
    session = _session(service_account)
    instance = session.get(_url(fake_api, instance_name), timeout=5).json()
    assert instance["kind"] == "sql#instance"
    assert {a["type"] for a in instance["ipAddresses"]} == {"PRIMARY", "OUTGOING"}
    version = instance["settings"]["settingsVersion"]

    conflicting = {"settings": {"settingsVersion": version, "ipConfiguration": {
        "sslMode": "ENCRYPTED_ONLY", "requireSsl": True}}}
    assert session.patch(_url(fake_api, instance_name), json=conflicting, timeout=5).status_code == 400

    body = {"settings": {"settingsVersion": version, "ipConfiguration": {
        "authorizedNetworks": [{"value": "198.51.100.0/24", "name": "a", "kind": "sql#aclEntry"}]}}}
    op = session.patch(_url(fake_api, instance_name), json=body, timeout=5).json()
    assert op["kind"] == "sql#operation" and op["status"] == "PENDING" and op["operationType"] == "UPDATE"
    busy = session.patch(_url(fake_api, instance_name), json=body, timeout=5)
    assert busy.status_code == 409
    assert busy.json()["error"]["errors"][0]["reason"] == "operationInProgress"
    seen = set()
    deadline = time.time() + 5
    while time.time() < deadline:
        op = session.get("%sv1/projects/%s/operations/%s" % (fake_api.base_url, PROJECT, op["name"]), timeout=5).json()
        seen.add(op["status"])
        if op["status"] == "DONE":
            break
        time.sleep(0.05)
    assert seen >= {"RUNNING", "DONE"} and "error" not in op
    after = session.get(_url(fake_api, instance_name), timeout=5).json()
    assert int(after["settings"]["settingsVersion"]) == int(version) + 1
    # ipConfiguration fields not sent are kept; the list was replaced as a whole.
    assert after["settings"]["ipConfiguration"]["ipv4Enabled"] is True
    assert [e["name"] for e in after["settings"]["ipConfiguration"]["authorizedNetworks"]] == ["a"]

    stale = session.patch(_url(fake_api, instance_name), json=body, timeout=5)
    assert stale.status_code == 412


def test_users_never_return_passwords(fake_api, service_account, instance_name):
    session = _session(service_account)
    op = session.post(_url(fake_api, instance_name, "/users"), json={"name": "u", "host": "%", "password": "pw"},
                      timeout=5).json()
    assert op["operationType"] == "CREATE_USER"
    fake_api.wait_idle(instance=instance_name)
    users = session.get(_url(fake_api, instance_name, "/users"), timeout=5).json()
    assert users["kind"] == "sql#usersList"
    assert all("password" not in u for u in users["items"])
    assert fake_api.user(PROJECT, instance_name, "u")["password"] == "pw"


def test_scheduled_429_and_503_look_like_googles_and_act_on_nothing(fake_api, service_account, instance_name):
    session = _session(service_account)
    url = _url(fake_api, instance_name)
    fake_api.inject_errors(429, first=2, limit=1, retry_after=3, path_suffix="/instances/" + instance_name)
    try:
        assert session.get(url, timeout=5).status_code == 200, "the first matching request passes"
        writes = fake_api.write_count
        throttled = session.patch(url, json={"settings": {"ipConfiguration": {"ipv4Enabled": False}}}, timeout=5)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        error = throttled.json()["error"]
        assert (error["code"], error["status"], error["errors"][0]["reason"]) == (
            429, "RESOURCE_EXHAUSTED", "rateLimitExceeded")
        assert {"type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.RetryInfo"} == {
            d["@type"] for d in error["details"]}
        assert fake_api.write_count == writes, "a throttled write is not applied"
        assert session.get(url, timeout=5).status_code == 200, "limit=1: the schedule is spent"
        fake_api.clear_faults()
        fake_api.inject_errors(503, path_suffix="/instances/" + instance_name)
        unavailable = session.get(url, timeout=5)
        assert unavailable.status_code == 503 and "Retry-After" not in unavailable.headers
        assert unavailable.json()["error"]["status"] == "UNAVAILABLE"
        assert [r["status"] for r in fake_api.request_log if r["path"].endswith(instance_name)][-4:] == [
            200, 429, 200, 503]
    finally:
        fake_api.clear_faults()
    assert fake_api.instance(PROJECT, instance_name)["settings"]["ipConfiguration"]["ipv4Enabled"] is True
