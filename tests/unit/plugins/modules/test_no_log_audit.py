"""Every option of every module whose name says "secret" is no_log, and its documentation says it is never logged.

The argument spec is taken the way ansible-test's validate-modules takes it: main() runs with
AnsibleModule.__init__ replaced by a recorder, so the spec is exactly what the module builds.
"""
import importlib
import os
import re

import pytest
import yaml
from ansible.module_utils import basic

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
FRAGMENTS = "ansible_collections.statefuldb.k8s.plugins.doc_fragments."
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))

SECRET_NAME = re.compile(r"pass(word|phrase)?($|_)|token|api_?key|secret|private_?key|credential|kubeconfig|"
                         r"contents|client_key|key_data|(^|_)key$", re.I)

# Secret-looking names that are not secrets, each with the reason (and, where a value can carry a
# secret, the test that proves it is masked another way).
NOT_SECRET = {
    "client_key": "a path to the key file, not the key",
    "update_password": "a choice (always / on_create)",
    "refresh_password": "a boolean switch (give replicas the replication password again)",
    "kubeconfig": "a path, or a dict whose credentials K8sModule masks "
                  "(test_secrets_never_logged.py::test_kubeconfig_dict_credentials_are_masked...); no_log would "
                  "mask every string of the dict (v1, the server) wherever it appears",
}


class Captured(Exception):
    pass


def argument_spec(name, monkeypatch):
    seen = {}

    def record(self, argument_spec=None, *args, **kwargs):
        seen["spec"] = argument_spec
        raise Captured()

    monkeypatch.setattr(basic.AnsibleModule, "__init__", record)
    module = importlib.import_module("ansible_collections.statefuldb.k8s.plugins.modules." + name)
    with pytest.raises(Captured):
        module.main()
    return seen["spec"], module


def walk(spec, prefix=""):
    for option, settings in spec.items():
        yield prefix + option, option, settings
        if settings.get("options"):
            yield from walk(settings["options"], prefix + option + ".")


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        # namespace.collection.name[.section]: a section is an upper-case attribute beside DOCUMENTATION
        parts = fragment.split(".")
        name, section = parts[2], (parts[3].upper() if len(parts) > 3 else "DOCUMENTATION")
        fragment_doc = getattr(importlib.import_module(FRAGMENTS + name).ModuleDocFragment, section)
        options.update(yaml.safe_load(fragment_doc).get("options") or {})
    return options


def doc_for(options, path):
    node = {"suboptions": options}
    for part in path.split("."):
        node = (node.get("suboptions") or node.get("options") or {}).get(part) or {}
    description = node.get("description") or ""
    return " ".join(description) if isinstance(description, list) else description


@pytest.mark.parametrize("name", MODULES)
def test_secret_options_are_no_log_and_documented_as_such(name, monkeypatch):
    spec, module = argument_spec(name, monkeypatch)
    docs = documented_options(module)
    for path, option, settings in walk(spec):
        names = [option] + list(settings.get("aliases") or [])
        if not any(SECRET_NAME.search(n) for n in names):
            continue
        if option in NOT_SECRET:
            assert settings.get("no_log") is not True, "%s %s: see NOT_SECRET" % (name, path)
            continue
        assert settings.get("no_log") is True, "%s: option %s looks secret and is not no_log" % (name, path)
        assert re.search(r"never logged|not logged", doc_for(docs, path), re.I), (
            "%s: the documentation of %s does not say it is never logged" % (name, path))


def test_the_audit_sees_every_kind_of_secret(monkeypatch):
    """The name pattern catches what each family of modules calls its secrets."""
    seen = set()
    for name in MODULES:
        spec, _module = argument_spec(name, monkeypatch)
        seen.update(p for p, option, _s in walk(spec) if SECRET_NAME.search(option))
    for expected in ("api_key", "kubeconfig", "login_password", "password", "access_token",
                     "service_account_contents", "client_key", "replication_password"):
        assert expected in seen or any(p.endswith("." + expected) for p in seen), expected
