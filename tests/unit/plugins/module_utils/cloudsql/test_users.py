# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import CloudSqlClient

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.users import UserInputError, ensure_user


class Client(object):
    def __init__(self, users):
        self.users = users
        self.calls = []

    def get_instance(self):
        return {}

    def list_users(self):
        return self.users

    def insert_user(self, body):
        self.calls.append(("insert", body))
        return {"name": "op"}

    def update_user(self, name, host, body):
        self.calls.append(("update", name, host, body))
        return {"name": "op"}

    def delete_user(self, name, host):
        self.calls.append(("delete", name, host))
        return {"name": "op"}

    def wait_operation(self, op):
        return op

    create = CloudSqlClient.create  # the real create-and-wait logic over this scripted client


def test_create_builtin_user_defaults_host_and_sends_password():
    client = Client([])
    result = ensure_user(client, "app", password="pw")
    assert result["changed"] is True
    assert client.calls == [("insert", {"name": "app", "type": "BUILT_IN", "host": "%", "password": "pw"})]
    assert "pw" not in repr(result)


def test_existing_user_matches_on_name_and_host():
    client = Client([{"name": "app", "host": "10.0.0.%", "type": "BUILT_IN"}])
    assert ensure_user(client, "app", host="10.0.0.%", password="pw")["changed"] is False
    assert ensure_user(client, "app", host="%", password="pw")["changed"] is True


def test_password_update_only_when_always():
    client = Client([{"name": "app", "host": "%", "type": "BUILT_IN"}])
    assert ensure_user(client, "app", password="pw")["changed"] is False
    result = ensure_user(client, "app", password="pw2", update_password="always")
    assert result["changed"] is True and client.calls[0][0] == "update"
    assert "pw2" not in repr(result)


def test_check_mode_writes_nothing():
    client = Client([{"name": "old", "host": "%", "type": "BUILT_IN"}])
    assert ensure_user(client, "new", password="pw", check_mode=True)["changed"] is True
    assert ensure_user(client, "old", state="absent", check_mode=True)["changed"] is True
    assert client.calls == []


def test_type_cannot_change_and_inputs_are_checked():
    client = Client([{"name": "a@b.iam", "host": "", "type": "CLOUD_IAM_USER"}])
    with pytest.raises(UserInputError, match="cannot change"):
        ensure_user(client, "a@b.iam", user_type="CLOUD_IAM_SERVICE_ACCOUNT")
    with pytest.raises(UserInputError, match="host is only for type BUILT_IN"):
        ensure_user(client, "a@b.iam", user_type="CLOUD_IAM_USER", host="%")
    with pytest.raises(UserInputError, match="at most 32"):
        ensure_user(client, "x" * 33, password="pw")
