# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retry policy, error wording and operation waits of CloudSqlClient (fake session, no network)."""

import json

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import (
    CloudSqlClient,
    CloudSqlError,
    OperationFailedError,
    StaleSettingsError,
)


class Response(object):
    def __init__(self, status, body):
        self.status_code = status
        self.content = json.dumps(body).encode()
        self.text = self.content.decode()
        self.reason = "x"
        self._body = body

    def json(self):
        return self._body


def error(status, message, reason="x"):
    return Response(status, {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}})


class Session(object):
    def __init__(self, responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url))
        return self.responses.pop(0)


def client(responses, wait_timeout=60):
    clock = {"t": 0.0}

    def sleep(seconds):
        clock["t"] += seconds

    return CloudSqlClient(Session(responses), "proj", "inst", "http://127.0.0.1:1/", wait_timeout=wait_timeout,
                          sleep=sleep, clock=lambda: clock["t"])


def test_retries_429_5xx_and_operation_in_progress():
    c = client([error(429, "slow down"), error(503, "unavailable"), error(409, "busy", "operationInProgress"),
                Response(200, {"name": "inst"})])
    assert c.get_instance() == {"name": "inst"}
    assert len(c.session.calls) == 4


def test_other_409_is_not_retried():
    c = client([error(409, "exists", "alreadyExists")])
    with pytest.raises(CloudSqlError, match="409"):
        c.patch_instance({})


def test_412_raises_stale_settings():
    with pytest.raises(StaleSettingsError):
        client([error(412, "Precondition check failed.", "staleData")]).patch_instance({})


def test_401_403_404_messages():
    with pytest.raises(CloudSqlError, match="credentials are missing, invalid or expired"):
        client([error(401, "no")]).get_instance()
    with pytest.raises(CloudSqlError, match="lack permission.*project 'proj'"):
        client([error(403, "denied")]).get_instance()
    with pytest.raises(CloudSqlError, match="'inst' was not found in project 'proj'"):
        client([error(404, "gone")]).get_instance()


def test_gives_up_retrying_at_the_deadline():
    c = client([error(503, "down")] * 100, wait_timeout=5)
    with pytest.raises(CloudSqlError, match="503"):
        c.get_instance()
    assert len(c.session.calls) < 100


def test_operation_wait_reports_the_error_text():
    c = client([Response(200, {"name": "op", "status": "RUNNING"}),
                Response(200, {"name": "op", "status": "DONE", "operationType": "UPDATE",
                               "error": {"errors": [{"code": "BAD", "message": "it broke"}]}})])
    with pytest.raises(OperationFailedError, match="BAD: it broke"):
        c.wait_operation({"name": "op", "status": "PENDING"})


def test_operation_wait_times_out():
    c = client([Response(200, {"name": "op", "status": "RUNNING"})] * 100, wait_timeout=3)
    with pytest.raises(CloudSqlError, match="did not finish within 3s"):
        c.wait_operation({"name": "op", "status": "PENDING", "operationType": "UPDATE"})
