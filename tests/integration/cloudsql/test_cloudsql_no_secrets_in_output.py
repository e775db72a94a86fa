# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private keys, passwords and bearer tokens never reach ansible-playbook -vvv output."""

import json


def _key_body_lines(pem):
    return [line for line in pem.splitlines() if line and "-----" not in line]


def test_vvv_output_contains_no_key_password_or_token(run_playbook, fake_api, gcp, service_account, mariadb):
    password = "Pw-" + "x9Q" * 6
    options = dict(gcp)
    options.pop("service_account_file")
    options["service_account_contents"] = json.dumps(service_account["info"])
    tasks = [
        {"name": "user", "statefuldb.k8s.cloudsql_user": dict(options, name="vvv", password=password,
                                                              update_password="always")},
        {"name": "access", "statefuldb.k8s.cloudsql_access": dict(options, authorized_networks=[
            {"name": "vvv", "value": "198.51.100.33"}])},
        {"name": "info", "statefuldb.k8s.cloudsql_info": options, "register": "db"},
        {"name": "connect", "statefuldb.k8s.cloudsql_connection_check": {
            "login_host": "127.0.0.1", "login_port": mariadb.port, "login_user": mariadb.app_user,
            "login_password": mariadb.app_password, "server_ca_cert": "{{ db.instance.server_ca_cert.cert }}"}},
    ]
    tokens_before = set(fake_api.tokens)
    for json_output in (True, False):
        run = run_playbook(tasks, verbosity=3, diff=True, json_output=json_output)
        assert run.rc == 0, run.stdout[-3000:]
        output = run.stdout + run.stderr
        # The invocation (module arguments) is in the output, with the secrets masked.
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output
        assert password not in output
        assert mariadb.app_password not in output
        for line in _key_body_lines(service_account["info"]["private_key"]):
            assert line not in output
        issued = set(fake_api.tokens) - tokens_before
        assert issued, "the run must have obtained a token from the fake"
        for token in issued:
            assert token not in output
    assert fake_api.user(gcp["project"], gcp["instance"], "vvv")["password"] == password
