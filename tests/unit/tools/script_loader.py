"""Loads a script of bench/ or tools/ as a module, for its unit tests.

bench/ is a package run from the repository root (``python -m bench.chaos``): its scripts import each
other as ``bench.<name>``, so the root goes on sys.path and the script is imported as ``bench.<name>``.
tools/ and tools/localkube/ are folders of scripts (not packages): the folder goes on sys.path for
their own imports, and the script is executed afresh as module ``name`` (registered in sys.modules
first, as an import would: dataclasses and the scripts' imports of each other look it up there).
Nothing here needs statefuldb_dev (ansible-test runs these tests in a copy where it is not importable).
"""
import importlib
import importlib.util
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load_script(folder, name):
    """bench/<name>.py as module ``bench.<name>``, or <folder>/<name>.py (tools, tools/localkube) as module ``name``."""
    if folder == "bench":
        if REPO not in sys.path:
            sys.path.insert(0, REPO)
        return importlib.import_module("bench." + name)
    path = os.path.join(REPO, folder)
    if path not in sys.path:
        sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location(name, os.path.join(path, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
