# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import CloudSqlClient

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.databases import (
    DatabaseInputError,
    ensure_database,
)


class Client(object):
    def __init__(self, dbs):
        self.dbs = dbs
        self.calls = []

    def get_instance(self):
        return {}

    def list_databases(self):
        return self.dbs

    def get_database(self, name):
        return next((d for d in self.dbs if d["name"] == name), None)

    def insert_database(self, body):
        self.calls.append(("insert", body))
        self.dbs.append(dict(body))
        return {}

    def patch_database(self, name, body):
        self.calls.append(("patch", name, body))
        return {}

    def delete_database(self, name):
        self.calls.append(("delete", name))
        return {}

    def wait_operation(self, op):
        return op

    create = CloudSqlClient.create  # the real create-and-wait logic over this scripted client


def test_only_given_fields_are_compared_and_patched():
    client = Client([{"name": "orders", "charset": "utf8mb4", "collation": "utf8mb4_0900_ai_ci"}])
    assert ensure_database(client, "orders")["changed"] is False
    assert ensure_database(client, "orders", charset="utf8mb4")["changed"] is False
    result = ensure_database(client, "orders", collation="utf8mb4_bin")
    assert result["changed"] is True
    assert client.calls == [("patch", "orders", {"collation": "utf8mb4_bin"})]
    assert result["diff"]["before"]["collation"] == "utf8mb4_0900_ai_ci"


def test_create_and_absent():
    client = Client([])
    assert ensure_database(client, "orders", charset="utf8mb4")["changed"] is True
    assert client.calls == [("insert", {"name": "orders", "charset": "utf8mb4"})]
    assert ensure_database(client, "gone", state="absent")["changed"] is False


@pytest.mark.parametrize("name, charset, collation, message", [
    ("bad name", None, None, "not a valid MySQL database name"),
    ("x" * 65, None, None, "not a valid MySQL database name"),
    ("ok", "utf8mb4", "latin1_swedish_ci", "does not belong to charset"),
])
def test_invalid_input(name, charset, collation, message):
    with pytest.raises(DatabaseInputError, match=message):
        ensure_database(Client([]), name, charset, collation)
