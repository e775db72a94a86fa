"""requirements.txt lists every library the collection's plugins import (what an execution
environment built from the collection installs), and nothing the plugins do not use."""
import ast
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
# import name -> distribution name on PyPI
DISTRIBUTIONS = {"google": "google-auth", "pymysql": "PyMySQL", "yaml": "PyYAML", "kubernetes": "kubernetes",
                 "urllib3": "urllib3", "requests": "requests"}
OPTIONAL = {"socks"}  # PySocks, only for socks5:// proxies; the module names it when missing


def imported_top_level_names():
    names = set()
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for f in files:
            if not f.endswith(".py"):
                continue
            tree = ast.parse(open(os.path.join(folder, f)).read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"ansible", "ansible_collections", "__future__"}


def required():
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        return {re.split(r"[<>=!~ ;\[]", line.strip())[0].lower() for line in f
                if line.strip() and not line.startswith("#")}


def test_every_imported_library_is_a_requirement():
    third_party = imported_top_level_names()
    assert "urllib3" in third_party and "kubernetes" in third_party  # the walk sees the imports
    unknown = third_party - set(DISTRIBUTIONS) - OPTIONAL
    assert not unknown, f"plugins import {sorted(unknown)}: add them to requirements.txt and DISTRIBUTIONS here"
    missing = {DISTRIBUTIONS[n] for n in third_party - OPTIONAL if DISTRIBUTIONS[n].lower() not in required()}
    assert not missing, f"requirements.txt lacks {sorted(missing)}"


def test_no_requirement_the_plugins_do_not_import():
    used = {DISTRIBUTIONS[n].lower() for n in imported_top_level_names() - OPTIONAL}
    assert required() <= used, f"requirements.txt lists {sorted(required() - used)}, which no plugin imports"
