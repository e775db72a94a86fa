"""Run a module's main() in-process: arguments through patch_module_args, the API client replaced by a fake."""
import json
import os
import sys

import pytest
from ansible.module_utils import basic
try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (the matrix runs 2.16+): AnsibleModule reads basic._ANSIBLE_ARGS
    import contextlib

    @contextlib.contextmanager
    def patch_module_args(args=None):
        args = dict({"_ansible_remote_tmp": "/tmp", "_ansible_keep_remote_files": False}, **(args or {}))
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

# The Kubernetes fakes live beside the module_utils tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "module_utils", "k8s"))


@pytest.fixture
def run_main(capsys, monkeypatch):
    """run_main(module, args, client=None, **internal) -> (exit code, what main() printed); logging is left alone.

    ``client`` replaces the module's make_client (so no kubeconfig is read and nothing leaves the process);
    ``internal`` are the _ansible_* arguments without the prefix (check_mode=True, diff=True, no_log=True).
    """
    def run(module, args, client=None, **internal):
        if client is not None:
            monkeypatch.setattr(module, "make_client", lambda *unused, **kwargs: client)
        args = dict(args, **{"_ansible_%s" % key: value for key, value in internal.items()})
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exited:
                module.main()
        return exited.value.code, capsys.readouterr().out

    return run


@pytest.fixture
def run_module(run_main, monkeypatch):
    """run_module(module, args, client=None, check_mode=False, diff=False) -> the result dict main() printed."""
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: None)

    def run(module, args, client=None, check_mode=False, diff=False):
        code, out = run_main(module, args, client, check_mode=check_mode, diff=diff)
        result = json.loads(out.strip().splitlines()[-1])
        assert (code != 0) == bool(result.get("failed")), result
        return result

    return run
