# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import json

import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.cloudsql.auth import GcpAuthError, build_credentials


def test_access_token():
    creds = build_credentials("accesstoken", access_token="tok")
    assert creds.token == "tok"
    with pytest.raises(GcpAuthError, match="needs access_token"):
        build_credentials("accesstoken")


def test_service_account_errors_name_the_option(tmp_path):
    with pytest.raises(GcpAuthError, match="needs service_account_file or service_account_contents"):
        build_credentials("serviceaccount")
    with pytest.raises(GcpAuthError, match="does not exist"):
        build_credentials("serviceaccount", service_account_file=str(tmp_path / "nope.json"))
    with pytest.raises(GcpAuthError, match="not valid JSON"):
        build_credentials("serviceaccount", service_account_contents="{nope")
    with pytest.raises(GcpAuthError, match="lacks client_email, private_key, token_uri"):
        build_credentials("serviceaccount", service_account_contents=json.dumps({"type": "service_account"}))
    with pytest.raises(GcpAuthError, match="mutually exclusive"):
        build_credentials("serviceaccount", service_account_file="a", service_account_contents="b")


def test_service_account_keeps_token_uri_and_scopes():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = {"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com",
            "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
            "token_uri": "http://127.0.0.1:9/token"}
    creds = build_credentials("serviceaccount", service_account_contents=json.dumps(info),
                              scopes=["https://www.googleapis.com/auth/sqlservice.admin"])
    assert creds._token_uri == "http://127.0.0.1:9/token"
    assert creds.scopes == ["https://www.googleapis.com/auth/sqlservice.admin"]


def test_application_default_credentials_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(GcpAuthError, match="no Application Default Credentials"):
        build_credentials("application")
