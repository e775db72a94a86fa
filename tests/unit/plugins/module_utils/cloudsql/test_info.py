# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.info import summarize_instance


def test_summary_groups_addresses_and_keeps_the_ca():
    summary = summarize_instance({
        "name": "db", "state": "RUNNABLE", "connectionName": "p:r:db",
        "ipAddresses": [{"type": "PRIMARY", "ipAddress": "203.0.113.5"}, {"type": "PRIVATE", "ipAddress": "10.1.0.5"},
                        {"type": "OUTGOING", "ipAddress": "203.0.113.6"}],
        "serverCaCert": {"cert": "PEM", "commonName": "CA", "expirationTime": "2030-01-01T00:00:00Z"},
        "settings": {"settingsVersion": "4", "ipConfiguration": {
            "requireSsl": True, "authorizedNetworks": [{"value": "198.51.100.0/24", "name": "x", "kind": "sql#aclEntry"}]}},
    })
    assert summary["public_ip_address"] == "203.0.113.5"
    assert summary["private_ip_address"] == "10.1.0.5"
    assert summary["outgoing_ip_address"] == "203.0.113.6"
    assert summary["ssl_mode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert summary["authorized_networks"] == [{"value": "198.51.100.0/24", "name": "x"}]
    assert summary["server_ca_cert"]["cert"] == "PEM"
    assert summary["connection_name"] == "p:r:db"


def test_summary_of_a_private_only_instance():
    summary = summarize_instance({"name": "db", "ipAddresses": [{"type": "PRIVATE", "ipAddress": "10.1.0.5"}]})
    assert summary["public_ip_address"] is None
    assert summary["server_ca_cert"] is None
