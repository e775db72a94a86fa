"""`make cluster-reset` leaves the host as it was before the first `make cluster`.

It resets the shared cluster and deletes everything on it (a `make demo`'s namespace too), so
`make test` never runs it (marker cluster_reset, deselected by the integration gate); `make
test-reset` does. Run with others, it runs after every other test of the session (marker
runs_last), and it brings the cluster back up at the end."""
import os
import subprocess
import sys

import pytest

from localkube_helpers import LOCALKUBE, REPO, STATE

from statefuldb_dev.scripts import localkube as localkube_module

hoststate = localkube_module("hoststate")

# Mounts other programs may make or drop meanwhile (a debootstrap's /proc in its chroot) are not
# the nodes' business; these are where the nodes mount things.
NODE_MOUNT_PREFIXES = (os.path.realpath(STATE) + "/", "/var/lib/kubelet", "/run/containerd", "/sys/fs/cgroup/",
                       os.path.expanduser("~/.cache/statefuldb-localkube/"))


def localkube(*args):
    return subprocess.run([sys.executable, LOCALKUBE, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=1200, check=False)


@pytest.mark.cluster_reset
@pytest.mark.runs_last
def test_reset_restores_the_host_state_from_before_the_first_up(kubeconfig):
    before = hoststate.load(os.path.join(STATE, "host-before.json"))
    assert before is not None, "`up` records the host state before it changes anything"
    state = os.path.realpath(STATE)
    assert hoststate.snapshot(state)["processes"], "the real nodes run before the reset"
    try:
        proc = localkube("reset")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        after = hoststate.snapshot(state)
        for key in ("sysctls", "paths", "cgroups", "links", "routes", "iptables", "processes"):
            assert after[key] == before[key], key
        assert [m for m in after["mounts"] if m.startswith(NODE_MOUNT_PREFIXES)] == \
            [m for m in before["mounts"] if m.startswith(NODE_MOUNT_PREFIXES)]
        assert not os.path.exists(STATE)
    finally:
        proc = localkube("up")
        assert proc.returncode == 0, proc.stdout + proc.stderr
