"""Unit tests of the real nodes' pure parts: configs (tools/localkube/nodes.py, coredns.py) and the
host-state bookkeeping of `reset` (hoststate.py)."""
import ipaddress
import json
import os

import pytest

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

bridge = load_script("tools/localkube", "bridge")
coredns = load_script("tools/localkube", "coredns")
hoststate = load_script("tools/localkube", "hoststate")
nodes = load_script("tools/localkube", "nodes")


@pytest.fixture
def node(tmp_path):
    return nodes.Layout(str(tmp_path / "state"), str(tmp_path / "cache"), 1)


def test_layout_is_per_node(node, tmp_path):
    assert node.name == "node-1" and node.ip == "10.244.255.12"
    assert node.cgroup == "/localkube-node-1"
    assert node.socket.startswith(str(tmp_path / "state" / "nodes" / "node-1"))
    assert node.containerd_root.startswith(str(tmp_path / "cache"))  # the image store is a cache
    assert node.component("kubelet") == "kubelet-node-1"


def test_cni_config_keeps_pods_on_the_bridge_without_gateway_or_nat(node):
    conf = json.loads(nodes.cni_config(node, "10.244.3.0/24"))
    plugin = conf["plugins"][0]
    assert plugin["type"] == "bridge" and plugin["bridge"] == bridge.BRIDGE
    assert plugin["isGateway"] is False and plugin["ipMasq"] is False and plugin["isDefaultGateway"] is False
    rng = plugin["ipam"]["ranges"][0][0]
    # Addresses only from the node's /24, but the /16 as prefix: every pod and host address is on-link.
    assert rng["subnet"] == "10.244.0.0/16"
    assert (rng["rangeStart"], rng["rangeEnd"]) == ("10.244.3.2", "10.244.3.254")
    assert ipaddress.ip_address(bridge.HOST_IP) in ipaddress.ip_network(rng["subnet"])
    assert "routes" not in plugin["ipam"]  # no default route: nothing leaves the machine
    assert plugin["ipam"]["dataDir"] == node.cni_data_dir  # not the shared /var/lib/cni


def test_containerd_config_has_the_settings_this_machine_needs(node):
    text = nodes.containerd_config(node, "localhost/statefuldb/pause:3.10")
    for line in ("restrict_oom_score_adj = true", "disable_apparmor = true", "SystemdCgroup = false",
                 'sandbox_image = "localhost/statefuldb/pause:3.10"', 'bin_dir = "/usr/lib/cni"',
                 "netns_mounts_under_state_dir = true", 'address = "%s"' % node.socket,
                 'root = "%s"' % node.containerd_root, 'state = "%s"' % node.containerd_state):
        assert line in text, line


def test_containerd_never_reaches_a_registry():
    env = nodes.containerd_env()
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://127.0.0.1:9" and env["NO_PROXY"] == ""


def test_kubelet_config(node):
    conf = json.loads(nodes.kubelet_config(node, "/ca.crt", "/c.crt", "/c.key"))
    assert conf["failCgroupV1"] is False and conf["cgroupDriver"] == "cgroupfs"
    assert conf["cgroupRoot"] == node.cgroup and conf["makeIPTablesUtilChains"] is False
    assert conf["clusterDNS"] == [bridge.HOST_IP] and conf["clusterDomain"] == "cluster.local"
    assert conf["address"] == node.ip and conf["readOnlyPort"] == 0
    assert conf["authentication"]["anonymous"]["enabled"] is False and conf["authorization"]["mode"] == "Webhook"
    assert conf["imageGCHighThresholdPercent"] == 100  # imported images cannot be pulled again


def test_prepare_dry_run_writes_nothing_and_reports_changes(node, monkeypatch):
    monkeypatch.setattr(nodes, "v1_hierarchies", lambda: [])
    pki = {"ca": "/ca", "cert": "/c", "key": "/k"}
    assert nodes.prepare(node, pki, "p:1", "10.244.1.0/24", dry_run=True) == ["containerd", "cni", "kubelet", "kubelet"]
    assert not os.path.exists(node.dir)
    assert nodes.prepare(node, pki, "p:1", "10.244.1.0/24") == ["containerd", "cni", "kubelet", "kubelet"]
    assert nodes.prepare(node, pki, "p:1", "10.244.1.0/24", dry_run=True) == []
    assert nodes.prepare(node, pki, "p:1", "10.244.2.0/24", dry_run=True) == ["cni"]


def test_pending_images_follow_the_tar(node, tmp_path):
    tar = tmp_path / "pause.tar"
    tar.write_text("x")
    os.makedirs(node.dir)
    images = [("localhost/statefuldb/pause:3.10", str(tar)), ("gone:1", str(tmp_path / "missing.tar"))]
    assert nodes.pending_images(node, images) == ["localhost/statefuldb/pause:3.10"]
    st = os.stat(tar)
    with open(node.imported, "w") as f:
        json.dump({"localhost/statefuldb/pause:3.10": "%d:%d" % (st.st_size, int(st.st_mtime))}, f)
    assert nodes.pending_images(node, images) == []
    tar.write_text("rebuilt")
    os.utime(tar, (st.st_mtime + 5, st.st_mtime + 5))
    assert nodes.pending_images(node, images) == ["localhost/statefuldb/pause:3.10"]


def test_corefile_serves_only_the_cluster_zones():
    text = coredns.corefile("10.244.255.1", 1, 2, "/kc")
    assert text.startswith("cluster.local in-addr.arpa ip6.arpa {")
    assert "bind 10.244.255.1" in text and "kubeconfig /kc localkube" in text
    assert "forward" not in text  # nothing leaves the machine


def test_restore_removes_only_paths_that_did_not_exist_and_resets_sysctls(tmp_path, monkeypatch):
    created, kept = tmp_path / "created", tmp_path / "kept"
    created.mkdir()
    kept.mkdir()
    sysctl = tmp_path / "sysctl"
    sysctl.write_text("1\n")
    monkeypatch.setattr(hoststate, "_sysctl_path", lambda name: str(sysctl))
    monkeypatch.setattr(hoststate, "unmount_under", lambda *roots: [])
    before = {"paths": {str(created): False, str(kept): True}, "sysctls": {"vm.overcommit_memory": "0"},
              "cgroups": {}}
    undone = hoststate.restore(before)
    assert not created.exists() and kept.exists()
    assert sysctl.read_text() == "0\n"
    assert "vm.overcommit_memory=0" in undone


def test_snapshot_is_json_and_names_what_teardown_compares():
    snap = json.loads(json.dumps(hoststate.snapshot()))
    assert set(snap) >= {"sysctls", "paths", "cgroups", "links", "routes", "mounts", "iptables", "processes"}
    assert "/var/lib/kubelet" in snap["paths"] and "kernel.panic" in snap["sysctls"]
