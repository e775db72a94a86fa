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
    with pytest.raises(CloudSqlError, match="did not finish within wait_timeout=3s"):
        c.wait_operation({"name": "op", "status": "PENDING", "operationType": "UPDATE"})


def test_one_deadline_for_the_whole_task():
    # The deadline is the task's, not the call's: a second call after the first gave up at the
    # deadline does not start another wait_timeout of retries.
    c = client([error(503, "down")] * 200, wait_timeout=5)
    with pytest.raises(CloudSqlError, match="503"):
        c.get_instance()
    first = len(c.session.calls)
    with pytest.raises(CloudSqlError, match="503"):
        c.list_users()
    assert len(c.session.calls) == first + 1


def test_operation_wait_shares_the_deadline_with_the_requests_before_it():
    c = client([error(503, "down")] * 3 + [Response(200, {"name": "op", "status": "RUNNING"})] * 100,
               wait_timeout=4)
    c.get_instance()
    before = c.clock()
    with pytest.raises(CloudSqlError, match="did not finish within wait_timeout=4s"):
        c.wait_operation({"name": "op", "status": "PENDING", "operationType": "UPDATE"})
    assert c.clock() <= 4.0 + 1e-9 and before > 0


class RaisingSession(object):
    def __init__(self, exc):
        self.exc = exc
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs.get("timeout")))
        raise self.exc


def _client_for(session, endpoint="http://127.0.0.1:1/", wait_timeout=600):
    clock = {"t": 0.0}

    def sleep(seconds):
        clock["t"] += seconds

    return CloudSqlClient(session, "proj", "inst", endpoint, wait_timeout=wait_timeout,
                          sleep=sleep, clock=lambda: clock["t"])


def _refused():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed: nobody listens on the port any more.
    return "http://127.0.0.1:%d/" % port


@pytest.mark.parametrize("endpoint, why", [
    (None, "refused"),
    ("https://nonexistent.invalid/", "does not resolve"),
])
def test_unreachable_endpoint_fails_at_once_naming_it(endpoint, why):
    import requests
    endpoint = endpoint or _refused()
    session = requests.Session()
    calls = []
    original = session.request

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    session.request = counting
    c = _client_for(session, endpoint)
    with pytest.raises(CloudSqlError) as info:
        c.get_instance()
    message = str(info.value)
    assert "api_endpoint=%s" % endpoint in message and why in message
    assert "read the instance" in message
    assert len(calls) == 1 and c.clock() == 0.0  # no retry, no sleep


def test_connect_timeout_before_any_answer_is_permanent_after_one_is_transient():
    import requests
    c = _client_for(RaisingSession(requests.exceptions.ConnectTimeout("timed out")))
    with pytest.raises(CloudSqlError, match="no connection within the request timeout"):
        c.get_instance()
    assert len(c.session.calls) == 1
    c.reached = True
    with pytest.raises(CloudSqlError, match="gave up after wait_timeout=600s"):
        c.get_instance()
    assert len(c.session.calls) > 10


def test_request_timeout_never_exceeds_the_time_left():
    import requests
    c = _client_for(RaisingSession(requests.exceptions.ConnectionError("reset")), wait_timeout=10)
    c.reached = True
    with pytest.raises(CloudSqlError):
        c.get_instance()
    assert c.session.calls[0][2] == 10
    assert all(timeout <= 10 for _m, _u, timeout in c.session.calls)
    assert c.clock() <= 10 + 1e-9


def test_connection_reset_is_retried():
    import requests

    class Flaky(object):
        calls = 0

        def request(self, method, url, **kwargs):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
            return Response(200, {"name": "inst"})

    c = _client_for(Flaky())
    assert c.get_instance() == {"name": "inst"}
    assert Flaky.calls == 2


class LostResponseSession(object):
    """The first POST reaches the API and is applied, but its response is lost (a reset); the
    retried POST then meets the object the first one created."""

    def __init__(self, conflict):
        self.conflict = conflict
        self.calls = []
        self.users = []

    def request(self, method, url, **kwargs):
        import requests
        self.calls.append((method, url))
        if method == "GET" and url.endswith("/users"):
            return Response(200, {"items": list(self.users)})
        if method == "GET":
            return Response(200, {"name": "op", "status": "DONE"})
        if len([c for c in self.calls if c[0] == "POST"]) == 1:
            self.users.append({"name": kwargs["json"]["name"], "host": "%", "type": "BUILT_IN"})
            raise requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
        if self.conflict == "http":
            return error(409, "User app already exists.", "alreadyExists")
        return Response(200, {"name": "op2", "status": "DONE", "operationType": "CREATE_USER",
                              "error": {"errors": [{"code": "ALREADY_EXISTS", "message": "User app already exists."}]}})


@pytest.mark.parametrize("conflict", ["http", "operation"])
def test_a_retried_create_that_finds_the_object_succeeds(conflict):
    from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.users import ensure_user
    session = LostResponseSession(conflict)
    c = _client_for(session)
    c.reached = True
    result = ensure_user(c, "app", password="pw")
    assert result["changed"] is True and result["user"] == {"name": "app", "host": "%", "type": "BUILT_IN"}
    assert [m for m, _u in session.calls].count("POST") == 2


def test_already_exists_without_the_object_still_fails():
    c = client([error(409, "User app already exists.", "alreadyExists"),
                Response(200, {"items": []})])
    with pytest.raises(CloudSqlError, match="already exists"):
        c.create(lambda: c.insert_user({"name": "app"}), lambda: None)


def test_busy_is_not_already_exists():
    from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import (
        OperationInProgressError,
        already_exists,
    )
    assert not already_exists(OperationInProgressError("busy", 409, "operationInProgress"))
    assert already_exists(CloudSqlError("x", 409, "alreadyExists"))
    assert already_exists(OperationFailedError("Operation op failed: ALREADY_EXISTS: x"))
    assert not already_exists(OperationFailedError("Operation op failed: INTERNAL_ERROR: boom"))


def test_an_endpoint_without_scheme_fails_at_once():
    import requests
    c = _client_for(requests.Session(), "sqladmin.example.invalid")
    with pytest.raises(CloudSqlError, match="api_endpoint=sqladmin.example.invalid: the URL is not valid"):
        c.get_instance()
    assert c.clock() == 0.0


def test_retry_after_of_a_429_is_honoured():
    throttled = error(429, "slow down")
    throttled.headers = {"Retry-After": "7"}
    c = client([throttled, Response(200, {"name": "inst"})])
    assert c.get_instance() == {"name": "inst"}
    assert c.clock() == 7.0


def test_retry_after_longer_than_the_time_left_fails_at_once():
    """Re-sending before Retry-After only earns another 429: fail now, saying so, instead of
    sleeping to the deadline and re-sending early."""
    throttled = error(429, "Quota exceeded", "rateLimitExceeded")
    throttled.headers = {"Retry-After": "30"}
    c = client([throttled, Response(200, {"name": "inst"})], wait_timeout=5)
    with pytest.raises(CloudSqlError, match=r"429: Quota exceeded.*retry after 30s \(Retry-After\).*wait_timeout=5s"):
        c.get_instance()
    assert len(c.session.calls) == 1
    assert c.clock() == 0.0


def test_a_long_retry_after_within_the_deadline_is_honoured_in_full():
    throttled = error(429, "slow down")
    throttled.headers = {"Retry-After": "60"}
    c = client([throttled, Response(200, {"name": "inst"})], wait_timeout=600)
    assert c.get_instance() == {"name": "inst"}
    assert c.clock() == 60.0


def test_writes_whose_answer_was_lost_are_counted():
    import requests

    class ResetOnce(object):
        calls = []

        def request(self, method, url, **kwargs):
            ResetOnce.calls.append(method)
            if ResetOnce.calls.count(method) == 1:
                raise requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
            return Response(200, {"name": "op", "status": "DONE"})

    c = _client_for(ResetOnce())
    c.reached = True
    c.get_instance()
    assert c.unanswered_writes == 0, "a lost read changes nothing"
    c.patch_instance({"settings": {}})
    assert c.unanswered_writes == 1
