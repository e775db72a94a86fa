# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sslMode and the legacy requireSsl flag, kept consistent as the Admin API documents.

IpConfiguration.sslMode documents the only valid pairs with requireSsl:
ALLOW_UNENCRYPTED_AND_ENCRYPTED and ENCRYPTED_ONLY need requireSsl false (or cleared);
TRUSTED_CLIENT_CERTIFICATE_REQUIRED needs requireSsl true (or cleared). sslMode wins.
"""

from __future__ import annotations

REQUIRE_SSL_FOR_MODE = {
    "ALLOW_UNENCRYPTED_AND_ENCRYPTED": False,
    "ENCRYPTED_ONLY": False,
    "TRUSTED_CLIENT_CERTIFICATE_REQUIRED": True,
}
SSL_MODES = tuple(REQUIRE_SSL_FOR_MODE)
# Weakest first: each mode admits every client the next one admits, and more.
SSL_STRENGTH = {mode: rank for rank, mode in enumerate(SSL_MODES)}


class SslModeError(ValueError):
    pass


def validate_ssl_mode(ssl_mode):
    if ssl_mode not in REQUIRE_SSL_FOR_MODE:
        raise SslModeError("ssl_mode %r is not supported; use one of %s"
                           % (ssl_mode, ", ".join(SSL_MODES)))
    return ssl_mode


def effective_ssl_mode(ip_configuration):
    """The mode the instance enforces: sslMode if set, else what legacy requireSsl means."""
    ip_configuration = ip_configuration or {}
    mode = ip_configuration.get("sslMode")
    if mode and mode != "SSL_MODE_UNSPECIFIED":
        return mode
    if ip_configuration.get("requireSsl"):
        return "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    return "ALLOW_UNENCRYPTED_AND_ENCRYPTED"


def ssl_downgrade(ip_configuration, ssl_mode):
    """The instance's current mode when ssl_mode is weaker than it, else None."""
    current = effective_ssl_mode(ip_configuration)
    if SSL_STRENGTH[validate_ssl_mode(ssl_mode)] < SSL_STRENGTH.get(current, 0):
        return current
    return None


def ssl_fields(ssl_mode):
    """The ipConfiguration fields to send for a mode (both set, never conflicting)."""
    validate_ssl_mode(ssl_mode)
    return {"sslMode": ssl_mode, "requireSsl": REQUIRE_SSL_FOR_MODE[ssl_mode]}


def ssl_needs_change(ip_configuration, ssl_mode):
    """True unless sslMode is already ssl_mode and requireSsl does not conflict with it."""
    ip_configuration = ip_configuration or {}
    validate_ssl_mode(ssl_mode)
    if ip_configuration.get("sslMode") != ssl_mode:
        return True
    require_ssl = ip_configuration.get("requireSsl")
    return require_ssl is not None and bool(require_ssl) != REQUIRE_SSL_FOR_MODE[ssl_mode]
