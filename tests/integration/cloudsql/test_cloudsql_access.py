# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""statefuldb.k8s.cloudsql_access through real ansible-playbook runs against the Admin API fake.

No cluster needed. Credentials are real google-auth service-account credentials whose key's
token_uri points at the fake's token endpoint.
"""

import datetime

import pytest

from statefuldb_dev.cloudsql_support import PROJECT


def _access(gcp, **options):
    return [{"name": "cloudsql access", "statefuldb.k8s.cloudsql_access": dict(gcp, **options)}]


def _result(run):
    assert run.results, run.stdout + run.stderr
    return run.results[-1]


def _networks(fake, gcp):
    return {(e.get("name"), e["value"]) for e in fake.authorized_networks(PROJECT, gcp["instance"])}


def test_merge_networks_and_ssl_four_runs(run_playbook, fake_api, gcp):
    fake_api.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]["authorizedNetworks"] = [
        {"kind": "sql#aclEntry", "name": "someone-else", "value": "192.0.2.0/24"}]
    tasks = _access(gcp, ssl_mode="ENCRYPTED_ONLY", authorized_networks=[
        {"name": "office", "value": "203.0.113.0/24"},
        {"name": "admin", "value": "198.51.100.7", "expires_in": "1h"},
    ])
    writes = fake_api.write_count

    check = run_playbook(tasks, check=True, diff=True)
    assert check.rc == 0, check.stdout
    res = _result(check)
    assert res["changed"] is True
    assert [e["name"] for e in res["diff"]["before"]["authorized_networks"]] == ["someone-else"]
    assert [e["name"] for e in res["diff"]["after"]["authorized_networks"]] == ["someone-else", "office", "admin"]
    assert res["diff"]["after"]["ssl_mode"] == "ENCRYPTED_ONLY"
    assert fake_api.write_count == writes, "check mode must not write"
    assert _networks(fake_api, gcp) == {("someone-else", "192.0.2.0/24")}

    real = run_playbook(tasks)
    assert real.rc == 0, real.stdout
    assert _result(real)["changed"] is True
    assert _result(real)["operation"]["status"] == "DONE"
    assert _networks(fake_api, gcp) == {("someone-else", "192.0.2.0/24"), ("office", "203.0.113.0/24"),
                                        ("admin", "198.51.100.7")}
    conf = fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]
    assert conf["sslMode"] == "ENCRYPTED_ONLY" and conf["requireSsl"] is False
    admin = next(e for e in conf["authorizedNetworks"] if e.get("name") == "admin")
    expires = datetime.datetime.fromisoformat(admin["expirationTime"].replace("Z", "+00:00"))
    remaining = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 3300 < remaining <= 3600
    writes = fake_api.write_count

    again_check = run_playbook(tasks, check=True)
    assert again_check.rc == 0 and _result(again_check)["changed"] is False
    again = run_playbook(tasks)
    assert again.rc == 0 and _result(again)["changed"] is False
    assert fake_api.write_count == writes, "an idempotent run must not write"


def test_state_absent_removes_only_named_entries_four_runs(run_playbook, fake_api, gcp):
    conf = fake_api.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]
    conf["authorizedNetworks"] = [{"kind": "sql#aclEntry", "name": "keep", "value": "192.0.2.0/24"},
                                  {"kind": "sql#aclEntry", "name": "drop", "value": "198.51.100.0/24"},
                                  {"kind": "sql#aclEntry", "value": "203.0.113.9"}]
    tasks = _access(gcp, state="absent", authorized_networks=[{"name": "drop"}, {"value": "203.0.113.9/32"}])
    runs = [run_playbook(tasks, check=True), run_playbook(tasks), run_playbook(tasks, check=True), run_playbook(tasks)]
    assert [r.rc for r in runs] == [0, 0, 0, 0], runs[0].stdout
    assert [_result(r)["changed"] for r in runs] == [True, True, False, False]
    assert _networks(fake_api, gcp) == {("keep", "192.0.2.0/24")}


def test_exclusive_makes_the_list_exactly_the_tasks_four_runs(run_playbook, fake_api, gcp):
    conf = fake_api.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]
    conf["authorizedNetworks"] = [{"kind": "sql#aclEntry", "name": "old", "value": "192.0.2.0/24"},
                                  {"kind": "sql#aclEntry", "name": "office", "value": "203.0.113.0/24"}]
    tasks = _access(gcp, exclusive=True, authorized_networks=[{"name": "office", "value": "203.0.113.0/24"},
                                                              {"name": "vpn", "value": "198.51.100.0/28"}])
    check = run_playbook(tasks, check=True)
    assert _result(check)["changed"] is True
    assert _networks(fake_api, gcp) == {("old", "192.0.2.0/24"), ("office", "203.0.113.0/24")}
    runs = [run_playbook(tasks), run_playbook(tasks, check=True), run_playbook(tasks)]
    assert [_result(r)["changed"] for r in runs] == [True, False, False]
    assert _networks(fake_api, gcp) == {("office", "203.0.113.0/24"), ("vpn", "198.51.100.0/28")}


def test_ipv4_and_ssl_mode_pairing_four_runs(run_playbook, fake_api, gcp):
    tasks = _access(gcp, ssl_mode="TRUSTED_CLIENT_CERTIFICATE_REQUIRED", ipv4_enabled=False)
    runs = [run_playbook(tasks, check=True), run_playbook(tasks), run_playbook(tasks, check=True), run_playbook(tasks)]
    assert [_result(r)["changed"] for r in runs] == [True, True, False, False]
    conf = fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]
    assert conf["sslMode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert conf["requireSsl"] is True
    assert conf["ipv4Enabled"] is False


def test_concurrent_change_between_read_and_patch_survives(run_playbook, fake_api, gcp):
    fake_api.race_on_next_read(PROJECT, gcp["instance"], {"name": "added-meanwhile", "value": "192.0.2.77"})
    run = run_playbook(_access(gcp, authorized_networks=[{"name": "ours", "value": "198.51.100.8"}]))
    assert run.rc == 0, run.stdout
    res = _result(run)
    assert res["changed"] is True
    assert res["attempts"] == 2, "the first PATCH was stale (412) and had to be re-merged"
    assert _networks(fake_api, gcp) == {("added-meanwhile", "192.0.2.77"), ("ours", "198.51.100.8")}
    assert {e["name"] for e in res["authorized_networks"]} == {"added-meanwhile", "ours"}


def test_a_patch_applied_whose_answer_was_lost_reports_changed(run_playbook, fake_api, gcp):
    """The API applies the PATCH but the answer never arrives; the retried PATCH meets 409/412
    (bench/chaos_cloudsql.py "lost PATCH response" found changed=false here)."""
    fake_api.lose_next_response("PATCH", "/instances/%s" % gcp["instance"])
    tasks = _access(gcp, authorized_networks=[{"name": "ours", "value": "198.51.100.12"}])
    run = run_playbook(tasks, diff=True)
    assert run.rc == 0, run.stdout
    res = _result(run)
    assert res["changed"] is True
    assert res["diff"]["before"]["authorized_networks"] == []
    assert fake_api.authorized_networks(PROJECT, gcp["instance"]) == [
        {"kind": "sql#aclEntry", "name": "ours", "value": "198.51.100.12"}]
    assert _result(run_playbook(tasks))["changed"] is False


def test_operation_error_text_is_reported(run_playbook, fake_api, gcp):
    fake_api.fail_next_operation(PROJECT, gcp["instance"], "The instance is in maintenance; try later.",
                                 code="INSTANCE_MAINTENANCE")
    run = run_playbook(_access(gcp, authorized_networks=[{"name": "x", "value": "198.51.100.9"}]))
    assert run.rc != 0
    msg = _result(run)["msg"]
    assert "INSTANCE_MAINTENANCE: The instance is in maintenance; try later." in msg
    assert "failed" in msg
    assert _networks(fake_api, gcp) == set()


def test_permission_denied_is_explained(run_playbook, fake_api, gcp, tls_material):
    fake_api.add_instance("forbidden-project", gcp["instance"], server_ca_pem=tls_material["ca_pem"])
    fake_api.deny_project("forbidden-project")
    run = run_playbook(_access(dict(gcp, project="forbidden-project"),
                               authorized_networks=[{"name": "x", "value": "198.51.100.9"}]))
    assert run.rc != 0
    msg = _result(run)["msg"]
    assert "permission denied (403" in msg and "lack" in msg and "forbidden-project" in msg


def test_missing_instance_names_project_and_instance(run_playbook, fake_api, gcp):
    run = run_playbook(_access(dict(gcp, instance="no-such-db"), ssl_mode="ENCRYPTED_ONLY"))
    assert run.rc != 0
    msg = _result(run)["msg"]
    assert "'no-such-db' was not found in project '%s'" % PROJECT in msg
    assert "404" in msg


def test_unknown_signing_key_is_rejected_clearly(run_playbook, fake_api, gcp, tmp_path):
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    info = json.load(open(gcp["service_account_file"]))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()).decode()
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(info))
    run = run_playbook(_access(dict(gcp, service_account_file=str(path)), ssl_mode="ENCRYPTED_ONLY"))
    assert run.rc != 0
    msg = _result(run)["msg"]
    assert "Could not obtain an access token" in msg and "Invalid JWT Signature" in msg


@pytest.mark.parametrize("options, expected", [
    ({"authorized_networks": [{"name": "x", "value": "300.1.2.3/24"}]}, "not a valid IPv4 address or CIDR"),
    ({"authorized_networks": [{"name": "x", "value": "10.1.2.3/8"}]}, "has host bits set; use 10.0.0.0/8"),
    ({"authorized_networks": [{"name": "n" * 256, "value": "198.51.100.1"}]}, "name is 256 characters long; use at most 255"),
    ({"ssl_mode": "REQUIRED"}, "ssl_mode"),
    ({"authorized_networks": [{"name": "x", "value": "198.51.100.1",
                               "expiration_time": "2020-01-01T00:00:00Z"}]}, "is in the past"),
    ({"authorized_networks": [{"name": "x", "value": "198.51.100.1", "expires_in": "soon"}]}, "is not a duration"),
    ({"project": None}, "missing required arguments: project"),
], ids=["invalid-cidr", "host-bits", "name-too-long", "unknown-ssl-mode", "expired", "bad-duration",
        "missing-project"])
def test_bad_input_fails_before_any_write(run_playbook, fake_api, gcp, options, expected, monkeypatch):
    monkeypatch.delenv("GCP_PROJECT", raising=False)
    args = dict(gcp, **options)
    args = {k: v for k, v in args.items() if v is not None}
    writes = fake_api.write_count
    requests_before = len(fake_api.requests)
    run = run_playbook([{"name": "bad", "statefuldb.k8s.cloudsql_access": args}])
    assert run.rc != 0
    res = _result(run)
    assert expected in res["msg"]
    assert "Traceback" not in run.stdout
    assert fake_api.write_count == writes
    assert len(fake_api.requests) == requests_before, "validation happens before any API call"


def test_waits_out_another_clients_operation(run_playbook, fake_api, gcp):
    fake_api.start_busy_operation(PROJECT, gcp["instance"], seconds=6)
    run = run_playbook(_access(gcp, authorized_networks=[{"name": "after-backup", "value": "198.51.100.10"}]))
    assert run.rc == 0, run.stdout
    assert _result(run)["changed"] is True
    assert ("after-backup", "198.51.100.10") in _networks(fake_api, gcp)
    patches = [w for w in fake_api.writes if w[0] == "PATCH" and gcp["instance"] in w[1]]
    assert len(patches) >= 2, "the first PATCH met 409 operationInProgress and was retried"


def test_busy_instance_beyond_wait_timeout_fails_clearly(run_playbook, fake_api, gcp):
    fake_api.start_busy_operation(PROJECT, gcp["instance"], seconds=60)
    run = run_playbook(_access(dict(gcp, wait_timeout=3), authorized_networks=[{"name": "x", "value": "198.51.100.11"}]))
    assert run.rc != 0
    msg = _result(run)["msg"]
    assert "another operation is still running" in msg and gcp["instance"] in msg


def _require_client_certs(fake, gcp):
    conf = fake.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]
    conf.update(sslMode="TRUSTED_CLIENT_CERTIFICATE_REQUIRED", requireSsl=True)


def test_weaker_ssl_mode_is_refused_unless_allowed(run_playbook, fake_api, gcp):
    _require_client_certs(fake_api, gcp)
    writes = fake_api.write_count
    tasks = _access(gcp, ssl_mode="ENCRYPTED_ONLY",
                    authorized_networks=[{"name": "office", "value": "203.0.113.0/24"}])
    for check in (True, False):
        run = run_playbook(tasks, check=check)
        assert run.rc != 0
        assert ("ssl_mode=ENCRYPTED_ONLY would weaken the instance's SSL mode, which is "
                "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") in _result(run)["msg"]
        assert "allow_ssl_downgrade=true" in _result(run)["msg"]
    assert fake_api.write_count == writes
    conf = fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]
    assert conf["sslMode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" and conf["authorizedNetworks"] == []

    allowed = _access(gcp, ssl_mode="ENCRYPTED_ONLY", allow_ssl_downgrade=True)
    run = run_playbook(allowed)
    assert run.rc == 0 and _result(run)["changed"] is True, run.stdout
    conf = fake_api.instance(PROJECT, gcp["instance"])["settings"]["ipConfiguration"]
    assert conf["sslMode"] == "ENCRYPTED_ONLY" and conf["requireSsl"] is False


def test_managed_name_prefix_removes_entries_of_nodes_that_are_gone(run_playbook, fake_api, gcp):
    fake_api.instances[(PROJECT, gcp["instance"])]["settings"]["ipConfiguration"]["authorizedNetworks"] = [
        {"kind": "sql#aclEntry", "name": "k8s-node-not-ours", "value": "192.0.2.9"}]
    nodes = [{"name": "statefuldb-node-a", "value": "198.51.100.1"},
             {"name": "statefuldb-node-b", "value": "198.51.100.2"}]
    first = _access(gcp, managed_name_prefix="statefuldb-node-",
                    authorized_networks=[{"name": "office", "value": "203.0.113.0/24"}] + nodes)
    assert _result(run_playbook(first))["changed"] is True
    # Node b is gone, node c is new (b's address may be recycled to someone else).
    second = _access(gcp, managed_name_prefix="statefuldb-node-", authorized_networks=[
        nodes[0], {"name": "statefuldb-node-c", "value": "198.51.100.3"}])
    check = run_playbook(second, check=True, diff=True)
    assert _result(check)["changed"] is True
    assert ("statefuldb-node-b", "198.51.100.2") in _networks(fake_api, gcp)
    runs = [run_playbook(second), run_playbook(second, check=True), run_playbook(second)]
    assert [_result(r)["changed"] for r in runs] == [True, False, False]
    assert _networks(fake_api, gcp) == {
        ("k8s-node-not-ours", "192.0.2.9"), ("office", "203.0.113.0/24"),
        ("statefuldb-node-a", "198.51.100.1"), ("statefuldb-node-c", "198.51.100.3")}


def test_managed_name_prefix_input_errors(run_playbook, fake_api, gcp):
    writes = fake_api.write_count
    empty = run_playbook(_access(gcp, managed_name_prefix="", authorized_networks=[]))
    assert empty.rc != 0 and "managed_name_prefix must not be empty" in _result(empty)["msg"]
    no_list = run_playbook(_access(gcp, managed_name_prefix="statefuldb-node-"))
    assert no_list.rc != 0 and "managed_name_prefix needs state=present and authorized_networks" in _result(no_list)["msg"]
    assert fake_api.write_count == writes
