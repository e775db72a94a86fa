"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads from a host these
machines cannot reach. It installs the pip wheel that CPython bundles (ensurepip), then the pip
version ansible-test asked for from PyPI, with the same arguments minus get-pip's own flags."""
import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the install below must see the
# machine's pip configuration (index, certificates) as any pip would.
environment = dict(os.environ)
ensurepip.bootstrap()
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args, env=environment)
