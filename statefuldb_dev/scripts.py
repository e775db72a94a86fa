"""The scripts of tools/ and tools/localkube/ as modules, for the tests and benchmarks that drive them.

Those folders hold scripts that import their neighbours by name (tools/localkube/localkube.py puts its
own folder on sys.path), not packages; this is the one place outside them that puts a folder of
theirs on sys.path, so the same module object is shared by everyone in a process.
"""
import importlib
import os
import sys

from statefuldb_dev import REPO

TOOLS = os.path.join(REPO, "tools")
LOCALKUBE = os.path.join(TOOLS, "localkube")


def _load(folder, name):
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def tool(name):
    """tools/<name>.py as module ``name`` (e.g. ``tool("faultproxy")``)."""
    return _load(TOOLS, name)


def localkube(name="localkube"):
    """tools/localkube/<name>.py as module ``name`` (localkube, hoststate, podnet, bridge, ...)."""
    return _load(LOCALKUBE, name)
