# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.ssl import (
    SslModeError,
    effective_ssl_mode,
    ssl_fields,
    ssl_needs_change,
)


@pytest.mark.parametrize("mode, require_ssl", [
    ("ALLOW_UNENCRYPTED_AND_ENCRYPTED", False),
    ("ENCRYPTED_ONLY", False),
    ("TRUSTED_CLIENT_CERTIFICATE_REQUIRED", True),
])
def test_documented_pairs(mode, require_ssl):
    assert ssl_fields(mode) == {"sslMode": mode, "requireSsl": require_ssl}
    assert ssl_needs_change({"sslMode": mode, "requireSsl": require_ssl}, mode) is False
    assert ssl_needs_change({"sslMode": mode}, mode) is False
    assert ssl_needs_change({"sslMode": mode, "requireSsl": not require_ssl}, mode) is True


def test_legacy_require_ssl_maps_to_a_mode():
    assert effective_ssl_mode({"requireSsl": True}) == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert effective_ssl_mode({"requireSsl": False}) == "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    assert effective_ssl_mode({}) == "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    assert effective_ssl_mode({"sslMode": "ENCRYPTED_ONLY", "requireSsl": False}) == "ENCRYPTED_ONLY"


def test_unknown_mode_is_rejected():
    with pytest.raises(SslModeError, match="use one of ALLOW_UNENCRYPTED_AND_ENCRYPTED"):
        ssl_fields("REQUIRED")


def test_ssl_downgrade_names_the_stronger_current_mode():
    from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.ssl import ssl_downgrade
    certs = {"sslMode": "TRUSTED_CLIENT_CERTIFICATE_REQUIRED", "requireSsl": True}
    assert ssl_downgrade(certs, "ENCRYPTED_ONLY") == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert ssl_downgrade(certs, "ALLOW_UNENCRYPTED_AND_ENCRYPTED") == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert ssl_downgrade(certs, "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") is None
    # Legacy requireSsl alone means client certificates are required.
    assert ssl_downgrade({"requireSsl": True}, "ENCRYPTED_ONLY") == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert ssl_downgrade({"sslMode": "ENCRYPTED_ONLY"}, "ALLOW_UNENCRYPTED_AND_ENCRYPTED") == "ENCRYPTED_ONLY"
    assert ssl_downgrade({}, "ENCRYPTED_ONLY") is None
