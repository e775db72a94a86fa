"""Does the cluster answer? The one opener of the gates that need a running cluster and never start one.

Used by tests/smoke (under every ansible-core of tools/core-matrix.sh: plain imports only) and tests/awx;
found through pytest.ini's ``pythonpath``.
A cluster that is missing or does not answer fails the test (never skips it), naming why.
"""
import os

import pytest


def api_client_or_fail(kubeconfig, hint="start one with `make cluster`"):
    """A kubernetes ApiClient for the cluster of ``kubeconfig``, after one version request it answered."""
    if not os.path.exists(kubeconfig):
        pytest.fail("no cluster: %s does not exist (%s)" % (kubeconfig, hint))
    import urllib3
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig)
    api.configuration.retries = 0
    try:
        client.VersionApi(api).get_code(_request_timeout=5)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        pytest.fail("cluster not reachable through %s: %s" % (kubeconfig, str(exc).splitlines()[0][:200]))
    return api
