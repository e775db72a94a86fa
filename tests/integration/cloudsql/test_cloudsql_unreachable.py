# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A wrong api_endpoint fails within seconds, naming the endpoint (it used to retry connection
errors until wait_timeout, restarting the wait per call). No network beyond loopback and the
local resolver: `.invalid` never resolves (RFC 2606)."""

import socket
import time

import pytest

from statefuldb_dev.cloudsql_support import PROJECT, last_result


def _closed_port_endpoint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "http://127.0.0.1:%d/" % port


@pytest.mark.parametrize("module", ["cloudsql_info", "cloudsql_user"])
@pytest.mark.parametrize("endpoint, why", [
    (None, "connection was refused"),
    ("https://nonexistent.invalid/", "host name does not resolve"),
])
def test_unreachable_endpoint_fails_fast_naming_it(run_playbook, module, endpoint, why):
    endpoint = endpoint or _closed_port_endpoint()
    options = {"project": PROJECT, "instance": "db", "auth_kind": "accesstoken",
               "access_token": "ya29.unused", "api_endpoint": endpoint, "wait_timeout": 120}
    if module == "cloudsql_user":
        options.update(name="app", password="Pw-unused-1")
    started = time.monotonic()
    run = run_playbook([{"name": "unreachable", "statefuldb.k8s.%s" % module: options}])
    elapsed = time.monotonic() - started
    assert run.rc != 0
    message = last_result(run)["msg"]
    assert "api_endpoint=%s" % endpoint in message and why in message, message
    # ansible-playbook itself takes a few seconds to start; one wait_timeout would be 120.
    assert elapsed < 30, elapsed
