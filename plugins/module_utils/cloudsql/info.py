# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summarize an Instance resource into what a client needs to connect."""

from __future__ import annotations

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.networks import for_display
from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.ssl import effective_ssl_mode

MYSQL_PORT = 3306


def summarize_instance(instance):
    settings = instance.get("settings") or {}
    ip_configuration = settings.get("ipConfiguration") or {}
    addresses = [{"type": a.get("type"), "ip_address": a.get("ipAddress")}
                 for a in instance.get("ipAddresses") or []]
    by_type = {}
    for address in addresses:
        by_type.setdefault(address["type"], []).append(address["ip_address"])
    ca = instance.get("serverCaCert") or {}
    return {
        "name": instance.get("name"),
        "project": instance.get("project"),
        "state": instance.get("state"),
        "database_version": instance.get("databaseVersion"),
        "region": instance.get("region"),
        "connection_name": instance.get("connectionName"),
        "ip_addresses": addresses,
        "ip_addresses_by_type": by_type,
        "public_ip_address": (by_type.get("PRIMARY") or [None])[0],
        "private_ip_address": (by_type.get("PRIVATE") or [None])[0],
        "outgoing_ip_address": (by_type.get("OUTGOING") or [None])[0],
        "port": MYSQL_PORT,
        "ssl_mode": effective_ssl_mode(ip_configuration),
        "require_ssl": bool(ip_configuration.get("requireSsl")),
        "ipv4_enabled": bool(ip_configuration.get("ipv4Enabled")),
        "authorized_networks": for_display(ip_configuration.get("authorizedNetworks")),
        "settings_version": settings.get("settingsVersion"),
        "server_ca_cert": {
            "cert": ca.get("cert"),
            "common_name": ca.get("commonName"),
            "sha1_fingerprint": ca.get("sha1Fingerprint"),
            "expiration_time": ca.get("expirationTime"),
            "cert_serial_number": ca.get("certSerialNumber"),
        } if ca else None,
    }
