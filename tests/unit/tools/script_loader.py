"""Loads a script of bench/ or tools/ (not a package) as a module, for its unit tests."""
import importlib.util
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load_script(folder, name):
    """bench/<name>.py or tools/<name>.py as module ``name``; its folder goes on sys.path for its own imports."""
    sys.path.insert(0, os.path.join(REPO, folder))
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, folder, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
