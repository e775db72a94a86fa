"""What Galaxy and ansible-doc show about every module stays complete.

- every module has ``version_added`` (a version up to galaxy.yml's), and every option that has one
  (in the module or a fragment it uses) is no older than its module and no newer than galaxy.yml;
- every module documents check_mode, diff_mode and platform support through the
  ``statefuldb.k8s.attributes`` fragment (a variant or the module's own block sets ``support``);
- every return value of type dict or list, at any depth, has ``sample`` or ``contains``.
"""
import importlib
import os

import pytest
import yaml
from ansible.module_utils.compat.version import LooseVersion

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
PKG = "ansible_collections.statefuldb.k8s.plugins."
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))
with open(os.path.join(ROOT, "galaxy.yml")) as f:
    COLLECTION_VERSION = yaml.safe_load(f)["version"]


def docs(name):
    module = importlib.import_module(PKG + "modules." + name)
    return yaml.safe_load(module.DOCUMENTATION), yaml.safe_load(module.RETURN or "") or {}


def fragment(ref):
    """The YAML of fragment ``statefuldb.k8s.NAME[.VARIANT]``."""
    name, dummy, variant = ref[len("statefuldb.k8s."):].partition(".")
    cls = importlib.import_module(PKG + "doc_fragments." + name).ModuleDocFragment
    return yaml.safe_load(getattr(cls, variant.upper() if variant else "DOCUMENTATION"))


def options_with_version(options, path=""):
    for key, spec in (options or {}).items():
        if "version_added" in spec:
            yield path + key, str(spec["version_added"])
        yield from options_with_version(spec.get("suboptions"), path + key + ".")


def test_modules_found():
    assert len(MODULES) >= 12


@pytest.mark.parametrize("name", MODULES)
def test_version_added(name):
    doc, dummy = docs(name)
    assert "version_added" in doc, f"{name}: DOCUMENTATION has no version_added"
    added = LooseVersion(str(doc["version_added"]))
    assert added <= LooseVersion(COLLECTION_VERSION), f"{name}: version_added {added} is after galaxy.yml's {COLLECTION_VERSION}"
    sources = [(name, doc.get("options"))] + [
        (ref, fragment(ref).get("options")) for ref in doc.get("extends_documentation_fragment", [])]
    for where, options in sources:
        for option, version in options_with_version(options):
            assert added <= LooseVersion(version) <= LooseVersion(COLLECTION_VERSION), (
                f"{name}: option {option} ({where}) has version_added {version}; it must lie between the "
                f"module's {added} and galaxy.yml's {COLLECTION_VERSION}")


@pytest.mark.parametrize("name", MODULES)
def test_attributes_through_the_fragment(name):
    doc, dummy = docs(name)
    refs = doc.get("extends_documentation_fragment", [])
    assert "statefuldb.k8s.attributes" in refs, f"{name}: extend statefuldb.k8s.attributes"
    merged = {}
    # ansible-core merges per attribute: the module's own keys win over fragments', earlier over later.
    for ref in reversed([r for r in refs if r.startswith("statefuldb.k8s.attributes")]):
        for key, value in fragment(ref)["attributes"].items():
            merged.setdefault(key, {}).update(value)
    for key, value in (doc.get("attributes") or {}).items():
        merged.setdefault(key, {}).update(value)
    for key in ("check_mode", "diff_mode", "platform"):
        assert key in merged, f"{name}: attribute {key} missing"
        assert merged[key].get("support") in ("full", "partial", "none", "N/A"), f"{name}: {key} has no support"
        assert merged[key].get("description"), f"{name}: {key} has no description"


def missing_samples(returns, path=""):
    for key, spec in (returns or {}).items():
        if spec.get("type") in ("dict", "list") and "sample" not in spec and "contains" not in spec:
            yield path + key
        yield from missing_samples(spec.get("contains"), path + key + ".")


@pytest.mark.parametrize("name", MODULES)
def test_dict_and_list_returns_have_sample_or_contains(name):
    dummy, returns = docs(name)
    missing = list(missing_samples(returns))
    assert not missing, f"{name}: RETURN values without sample or contains: {', '.join(missing)}"


def test_missing_samples_is_found():
    returns = {"a": {"type": "dict", "contains": {"b": {"type": "list", "elements": "str"}}},
               "c": {"type": "str"}, "d": {"type": "list", "sample": []}}
    assert list(missing_samples(returns)) == ["a.b"]


def test_the_members_fragment_variant_repeats_the_shared_text():
    """ansible-test reads doc fragments as literals, so mysql_members.with_primary repeats the shared text."""
    from ansible_collections.statefuldb.k8s.plugins.doc_fragments.mysql_members import ModuleDocFragment

    assert ModuleDocFragment.WITH_PRIMARY.startswith(ModuleDocFragment.DOCUMENTATION)
    assert "primary:" in ModuleDocFragment.WITH_PRIMARY[len(ModuleDocFragment.DOCUMENTATION):]
