"""Every role option whose name looks secret is no_log in the role's argument spec, so role
validation, AWX surveys (password type) and -vvv never show it."""
import glob
import os
import re

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SECRET_NAME = re.compile(r"pass(word|phrase)?$|token$|api_?key$|private_?key$|_contents$", re.I)
# Secret-looking names that are not secrets, each with the reason.
NOT_SECRET = {
    "update_password": "a choice (always / on_create)",
}


def walk(options, path):
    for name, spec in (options or {}).items():
        yield "%s.%s" % (path, name), name, spec or {}
        yield from walk((spec or {}).get("options"), "%s.%s" % (path, name))


CASES = []
for spec_file in sorted(glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml"))):
    role = spec_file.split(os.sep)[-3]
    with open(spec_file) as handle:
        entry_points = yaml.safe_load(handle)["argument_specs"]
    for entry, data in entry_points.items():
        for where, name, spec in walk(data.get("options"), "%s/%s" % (role, entry)):
            if SECRET_NAME.search(name) and name not in NOT_SECRET:
                CASES.append((where, spec))


def test_some_secret_options_exist():
    assert len(CASES) >= 4


@pytest.mark.parametrize("where,spec", CASES, ids=[c[0] for c in CASES])
def test_secret_role_option_is_no_log(where, spec):
    assert spec.get("no_log") is True, "%s looks secret and is not no_log" % where
