"""Loads a script of bench/ or tools/ as a module, for its unit tests.

bench/ is a package run from the repository root (``python -m bench.chaos``): its scripts import each
other as ``bench.<name>``, so the root goes on sys.path and the script is imported as ``bench.<name>``.
tools/ is a folder of scripts (not a package): its folder goes on sys.path for their own imports.
Nothing here needs statefuldb_dev (ansible-test runs these tests in a copy where it is not importable).
"""
import importlib
import importlib.util
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load_script(folder, name):
    """bench/<name>.py as module ``bench.<name>``, or tools/<name>.py as module ``name``."""
    if folder == "bench":
        if REPO not in sys.path:
            sys.path.insert(0, REPO)
        return importlib.import_module("bench." + name)
    sys.path.insert(0, os.path.join(REPO, folder))
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, folder, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
