# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ensure_access's read-modify-write loop with a scripted client (no network)."""

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.access import (
    ensure_access,
    plan_ip_configuration,
)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.api import StaleSettingsError
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.networks import normalize_entries
from ansible_collections.statefuldb.k8s.plugins.module_utils.common.retry import RetryPolicy


class ScriptedClient(object):
    wait_timeout = 30

    def __init__(self, instances, patch_errors=(), lost_answers=0):
        self.instances = list(instances)
        self.patch_errors = list(patch_errors)
        self.lost_answers = lost_answers  # PATCHes the API applied whose answer never came back
        self.unanswered_writes = 0
        self.patches = []
        self.now = 0.0
        self.policy = RetryPolicy(self.wait_timeout, clock=self.clock, sleep=self.sleep)

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def get_instance(self):
        return self.instances.pop(0) if len(self.instances) > 1 else self.instances[0]

    def patch_instance(self, body):
        self.patches.append(body)
        if self.lost_answers:  # as CloudSqlClient.request counts a reset after sending, then retries
            self.lost_answers -= 1
            self.unanswered_writes += 1
        if self.patch_errors:
            raise self.patch_errors.pop(0)
        return {"name": "op1", "status": "PENDING", "operationType": "UPDATE"}

    def wait_operation(self, operation):
        return dict(operation, status="DONE")


def instance(version, networks, **conf):
    ip = dict({"ipv4Enabled": True, "authorizedNetworks": networks}, **conf)
    return {"settings": {"settingsVersion": version, "ipConfiguration": ip}}


def test_plan_returns_none_when_nothing_changes():
    conf = {"ipv4Enabled": True, "sslMode": "ENCRYPTED_ONLY", "requireSsl": False,
            "authorizedNetworks": [{"name": "a", "value": "192.0.2.1"}]}
    desired = normalize_entries([{"name": "a", "value": "192.0.2.1"}])
    assert plan_ip_configuration(conf, desired, ssl_mode="ENCRYPTED_ONLY", ipv4_enabled=True) is None


def test_patch_sends_only_ip_configuration_with_the_version_read():
    client = ScriptedClient([instance("7", []), instance("8", [{"name": "a", "value": "192.0.2.1"}])])
    result = ensure_access(client, normalize_entries([{"name": "a", "value": "192.0.2.1"}]))
    assert result["changed"] is True
    [body] = client.patches
    assert list(body) == ["settings"]
    assert set(body["settings"]) == {"settingsVersion", "ipConfiguration"}
    assert body["settings"]["settingsVersion"] == "7"


def test_stale_settings_are_reread_and_remerged():
    first = instance("1", [])
    second = instance("2", [{"name": "theirs", "value": "192.0.2.9"}])
    final = instance("3", [{"name": "theirs", "value": "192.0.2.9"}, {"name": "ours", "value": "192.0.2.1"}])
    client = ScriptedClient([first, second, final], patch_errors=[StaleSettingsError("412", status=412)])
    result = ensure_access(client, normalize_entries([{"name": "ours", "value": "192.0.2.1"}]))
    assert result["attempts"] == 2
    assert client.patches[1]["settings"]["settingsVersion"] == "2"
    assert [e["name"] for e in client.patches[1]["settings"]["ipConfiguration"]["authorizedNetworks"]] == [
        "theirs", "ours"]


def test_a_patch_applied_whose_answer_was_lost_is_reported_as_changed():
    """The PATCH was applied but its answer lost; the retried PATCH met 412 (its settingsVersion
    moved on by our own write) and the re-read finds nothing left to do: the task did change it."""
    ours = [{"name": "ours", "value": "192.0.2.1"}]
    client = ScriptedClient([instance("1", []), instance("2", ours)],
                            patch_errors=[StaleSettingsError("412", status=412)], lost_answers=1)
    result = ensure_access(client, normalize_entries(ours))
    assert result["changed"] is True
    assert len(client.patches) == 1
    assert result["diff"]["before"]["authorized_networks"] == []
    assert result["diff"]["after"]["authorized_networks"] == [{"name": "ours", "value": "192.0.2.1"}]


def test_a_412_with_every_answer_received_and_nothing_left_to_do_is_unchanged():
    """Someone else made exactly our change between our read and our PATCH (refused with 412)."""
    ours = [{"name": "ours", "value": "192.0.2.1"}]
    client = ScriptedClient([instance("1", []), instance("2", ours)],
                            patch_errors=[StaleSettingsError("412", status=412)])
    result = ensure_access(client, normalize_entries(ours))
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_stale_settings_give_up_at_the_deadline():
    client = ScriptedClient([instance("1", [])], patch_errors=[StaleSettingsError("412", status=412)] * 1000)
    client.wait_timeout = 3
    with pytest.raises(StaleSettingsError):
        ensure_access(client, normalize_entries([{"name": "ours", "value": "192.0.2.1"}]))


def test_check_mode_never_patches():
    client = ScriptedClient([instance("1", [])])
    result = ensure_access(client, normalize_entries([{"name": "a", "value": "192.0.2.1"}]),
                           ssl_mode="ENCRYPTED_ONLY", check_mode=True)
    assert result["changed"] is True and client.patches == []
    assert result["diff"]["after"]["authorized_networks"] == [{"name": "a", "value": "192.0.2.1"}]


CERTS = {"ipv4Enabled": True, "sslMode": "TRUSTED_CLIENT_CERTIFICATE_REQUIRED", "requireSsl": True,
         "authorizedNetworks": []}


def test_a_weaker_ssl_mode_is_refused_before_anything_is_written():
    from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.access import SslDowngradeError
    client = ScriptedClient([{"settings": {"settingsVersion": "3", "ipConfiguration": dict(CERTS)}}])
    with pytest.raises(SslDowngradeError, match="ssl_mode=ENCRYPTED_ONLY would weaken .* "
                                                "TRUSTED_CLIENT_CERTIFICATE_REQUIRED.*allow_ssl_downgrade=true"):
        ensure_access(client, normalize_entries([{"name": "a", "value": "192.0.2.1"}]), ssl_mode="ENCRYPTED_ONLY")
    assert client.patches == []


def test_a_weaker_ssl_mode_is_applied_when_allowed():
    plan = plan_ip_configuration(CERTS, None, ssl_mode="ENCRYPTED_ONLY", allow_ssl_downgrade=True)
    assert plan["sslMode"] == "ENCRYPTED_ONLY" and plan["requireSsl"] is False


def test_unset_ssl_mode_leaves_the_instance_mode_and_stronger_is_fine():
    assert plan_ip_configuration(CERTS, None, ssl_mode=None) is None
    plan = plan_ip_configuration(dict(CERTS, sslMode="ENCRYPTED_ONLY", requireSsl=False), None,
                                 ssl_mode="TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
    assert plan["sslMode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
