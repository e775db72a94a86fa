# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the real nodes change on the host, recorded before the first `up` and undone by `reset`.

`snapshot()` records the host state that kubelets, containerd and CNI can touch: the kernel
settings the kubelet changes, the fixed paths they create, top-level cgroups, network links and
routes, mounts, iptables rules and node processes. (Kernel modules that first use loads, such as
`bridge`, `veth` or `overlay`, stay loaded: unloading them is not safe on a shared machine.) `up` stores one in
<state>/host-before.json before it changes anything (only when none exists, i.e. after a `reset`
or on a fresh machine); `reset` undoes (`restore`) and the integration test compares
`snapshot()` with the stored one.

The KWOK pod network (podnet.py: network namespace, veth, its routes) is left out: it predates
the real nodes and `reset` removes it by itself.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

# The kubelet sets these (unless protectKernelDefaults); reset puts the old values back.
SYSCTLS = ["vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
           "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes"]
# Fixed paths the kubelet, containerd 1.6 and CNI use whatever their configured directories.
PATHS = ["/var/lib/kubelet", "/var/lib/cni", "/run/containerd", "/run/containerd/s", "/run/containerd/fifo",
         "/run/containerd/runc", "/var/log/containers", "/var/log/pods", "/etc/cni", "/opt/cni",
         "/opt/containerd", "/var/lib/containerd", "/usr/libexec/kubernetes", "/etc/kubernetes",
         "/var/run/kubernetes"]
NODE_PROCESSES = {"kubelet", "containerd", "containerd-shim", "containerd-shim-runc-v2", "coredns", "pause"}
IGNORED_LINK_PREFIXES = ("sdbpods",)  # podnet.py's veth
CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _sysctl_path(name: str) -> str:
    return "/proc/sys/" + name.replace(".", "/")


def _run(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cgroup_mounts() -> list[str]:
    found = []
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] in ("cgroup", "cgroup2") and parts[1].startswith(CGROUP_ROOT + "/"):
            found.append(parts[1])
    return found


def mount_points() -> list[str]:
    points = []
    for line in _read("/proc/self/mountinfo").splitlines():
        parts = line.split()
        if len(parts) > 4:
            points.append(parts[4].replace("\\040", " "))
    return points


def _routes() -> list[str]:
    keep = []
    for line in _run("ip", "route", "show").splitlines():
        if "sdbpods" in line or line.startswith(("blackhole 10.244.0.0/16", "blackhole 10.96.0.0/12")):
            continue
        keep.append(line.strip())
    return sorted(keep)


def _processes(state_dir: str | None) -> list[str]:
    """Node processes (by name) whose command line names `state_dir` (all of them when None):
    another program's own containerd on the machine is not ours to count."""
    names = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            comm = _read("/proc/%s/comm" % pid)
            if comm in NODE_PROCESSES:
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmdline = f.read().decode(errors="replace")
                except OSError:
                    continue
                if state_dir is None or state_dir in cmdline:
                    names.append(comm)
    return sorted(names)


def snapshot(state_dir: str | None = None) -> dict:
    links = []
    for line in _run("ip", "-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if not name.startswith(IGNORED_LINK_PREFIXES):
            links.append(name)
    return {
        "sysctls": {name: _read(_sysctl_path(name)) for name in SYSCTLS},
        "paths": {path: os.path.lexists(path) for path in PATHS},
        "cgroups": {m: sorted(e for e in os.listdir(m) if os.path.isdir(os.path.join(m, e)))
                    for m in cgroup_mounts()},
        "links": sorted(links),
        "routes": _routes(),
        "mounts": sorted(set(mount_points())),
        # Counters change all the time; rules do not.
        "iptables": [line.split(" [")[0] for line in _run("iptables-save").splitlines() if not line.startswith("#")],
        "processes": _processes(state_dir),
    }


def save(path: str) -> None:
    """Record the host state once (kept until `reset` has restored it); `path` is in the state
    folder."""
    if os.path.exists(path):
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(snapshot(os.path.dirname(os.path.abspath(path))), f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def load(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def kill_cgroup(rel: str, timeout: float = 10) -> None:
    """SIGKILL every process left in cgroup `rel` (and below) of every hierarchy, then remove
    those cgroups bottom-up."""
    deadline = time.monotonic() + timeout
    for mount in cgroup_mounts():
        top = mount + rel
        if not os.path.isdir(top):
            continue
        while True:
            pids = set()
            for dirpath, _dirs, _files in os.walk(top):
                pids.update(p for p in _read(os.path.join(dirpath, "cgroup.procs")).split() if p)
            if not pids or time.monotonic() > deadline:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            time.sleep(0.2)
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def unmount_under(*roots: str) -> list[str]:
    """Unmount everything mounted at or below the given directories, deepest first (lazily if a
    plain unmount is refused). Returns what was unmounted."""
    prefixes = [os.path.abspath(r).rstrip("/") + "/" for r in roots]
    done = []
    # Several passes: the kubelet's root dir is a shared bind mount onto itself, so a volume
    # mounted inside it also has a copy on the directory underneath, visible once the bind is gone.
    for _pass in range(10):
        targets = [p for p in mount_points() if any((p + "/").startswith(pre) for pre in prefixes)]
        if not targets:
            break
        for point in sorted(targets, key=lambda p: -p.count("/")):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
            done.append(point)
    return done


def restore(before: dict | None) -> list[str]:
    """Undo what the nodes changed, per the snapshot `before` (None: no snapshot; only the
    runtime-only containerd directories are removed and kernel settings are left alone)."""
    undone = []
    if before is None:
        paths = ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc"]
    else:
        paths = [p for p, existed in before.get("paths", {}).items() if not existed]
    for path in sorted(paths, key=len, reverse=True):
        if os.path.lexists(path):
            unmount_under(path)
            shutil.rmtree(path, ignore_errors=True)
            undone.append("removed " + path)
    for name, value in ((before or {}).get("sysctls") or {}).items():
        if value and _read(_sysctl_path(name)) != value:
            with open(_sysctl_path(name), "w") as f:
                f.write(value + "\n")
            undone.append("%s=%s" % (name, value))
    if before is not None:
        for mount, entries in before.get("cgroups", {}).items():
            for entry in ("kubepods", "kubepods.slice"):
                if entry not in entries and os.path.isdir(os.path.join(mount, entry)):
                    kill_cgroup("/" + entry)
                    undone.append("removed cgroup %s/%s" % (mount, entry))
    return undone
