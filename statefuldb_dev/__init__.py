"""statefuldb_dev: the development harness shared by tests/, bench/ and tools/ (never shipped: galaxy.yml
build_ignore).

What lives here is what more than one of those folders needs: running a real ansible-playbook
(``playbook``), the mysql_cluster helpers on real pods (``mysql_cluster``), the "does the cluster
answer" opener of the smoke and AWX gates (``cluster_answers``), the Cloud SQL Admin API fake
(``cloudsql_api``), and the one door to the scripts of tools/ and tools/localkube/ (``scripts``).

How it is found, one declared way each, always from the repository root:
- pytest: ``pythonpath = .`` in pytest.ini (every venv, including the ansible-core matrix's);
- bench/ and tools/ scripts: run as modules, ``python -m bench.chaos`` (the Makefile and
  tools/test-all.sh do), so the root is on sys.path.
tests/unit never imports it: ansible-test copies tests/unit into an ansible_collections tree
where this package is not importable.
"""
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".collections")
KUBECONFIG = os.path.join(REPO, ".localkube", "kubeconfig")


def use_checkout_collection():
    """Make this checkout importable as ansible_collections.statefuldb.k8s (the .collections link that
    `make venv` makes, and tests/conftest.py for pytest) and the collection path of ansible-playbook."""
    import sys

    link = os.path.join(COLLECTIONS, "ansible_collections", "statefuldb", "k8s")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)
