"""Table-driven tests of plugins/module_utils/cloudsql/validation.py and the escaped request paths."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql import validation as v
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import CloudSqlClient
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.users import UserInputError, validate_user


@pytest.mark.parametrize("value,ok", [("my-project-123", True), ("statefuldb-test", True),
                                      ("example.com:my-project", True), ("abcdef", True), ("abcde", False),
                                      ("a" * 31, False), ("My-Project", False), ("1project", False),
                                      ("project-", False), ("my project", False), ("", False), (None, False),
                                      ("123456789012", False), ("proj/ect", False)])
def test_project(value, ok):
    error = v.project_error(value)
    assert (error is None) == ok
    if not ok:
        assert error.startswith("project")


@pytest.mark.parametrize("value,ok", [("orders", True), ("orders-db-1", True), ("a", True),
                                      ("orders/users", False), ("Orders", False), ("1orders", False),
                                      ("orders-", False), ("orders db", False), ("", False), (None, False),
                                      ("proj:region:orders", False), ("orders%2Fusers", False), ("..", False)])
def test_instance(value, ok):
    error = v.instance_error(value)
    assert (error is None) == ok
    if not ok:
        assert error.startswith("instance")


def test_instance_connection_name_gets_a_hint():
    assert "give only its last part (orders)" in v.instance_error("my-proj:europe-west1:orders")


def test_instance_and_project_length_together():
    assert "too long" in v.instance_error("a" * 80, project="p" * 20)


@pytest.mark.parametrize("value,ok", [("appdb", True), ("app_db$1", True), ("a-b", True), ("bad name;drop", False),
                                      ("a/b", False), ("", False), ("x" * 65, False), ("q'uote", False)])
def test_database(value, ok):
    assert (v.database_error(value) is None) == ok


@pytest.mark.parametrize("name,user_type,ok", [
    ("app", "BUILT_IN", True), ("a" * 32, "BUILT_IN", True), ("a" * 33, "BUILT_IN", False),
    ("svc@proj.iam", "CLOUD_IAM_SERVICE_ACCOUNT", True), ("alice", "CLOUD_IAM_USER", False),
    ("a/b", "BUILT_IN", False), ("", "BUILT_IN", False), ("tab\tname", "BUILT_IN", False)])
def test_user(name, user_type, ok):
    assert (v.user_error(name, "name", user_type) is None) == ok


@pytest.mark.parametrize("host,ok", [(None, True), ("%", True), ("10.0.%", True), ("db.example.com", True),
                                     ("10.0.0.0/255.0.0.0", True), ("h'; DROP", False), ("", False), ("a b", False)])
def test_user_host(host, ok):
    assert (v.user_host_error(host) is None) == ok


@pytest.mark.parametrize("url,ok", [("https://sqladmin.googleapis.com/", True), ("http://127.0.0.1:8080", True),
                                    ("sqladmin.googleapis.com", False), ("https://", False), ("", False),
                                    ("https://host:port/", False), ("https://a b/", False)])
def test_api_endpoint(url, ok):
    error = v.api_endpoint_error(url)
    assert (error is None) == ok
    if not ok:
        assert error.startswith("api_endpoint")


def test_validate_user_uses_the_name_rules():
    with pytest.raises(UserInputError, match="host"):
        validate_user("app", "BUILT_IN", "h'; DROP DATABASE x; --", "pw", "present")
    with pytest.raises(UserInputError, match="email"):
        validate_user("alice", "CLOUD_IAM_USER", None, None, "present")


def test_path_parts_are_escaped():
    assert v.path_part("orders/users") == "orders%2Fusers"
    assert v.path_part("a?b#c%d") == "a%3Fb%23c%25d"
    client = CloudSqlClient(session=None, project="proj-123", instance="orders/users")
    assert client._instance_path("/users") == "/projects/proj-123/instances/orders%2Fusers/users"


class _Recorder(object):
    def __init__(self):
        self.urls = []

    def request(self, method, url, **kwargs):
        self.urls.append(url)

        class Response(object):
            status_code = 200
            content = b"{}"

            @staticmethod
            def json():
                return {}
        return Response()


def test_database_paths_are_escaped():
    session = _Recorder()
    client = CloudSqlClient(session, "proj-123", "orders", api_endpoint="http://127.0.0.1:1/")
    client.get_database("a/b")
    client.patch_database("a/b", {})
    client.delete_database("a/b")
    assert all(url.endswith("/instances/orders/databases/a%2Fb") for url in session.urls)
