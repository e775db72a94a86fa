# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container images for the local kubelet nodes, built from Debian's archive without a registry.

    python3 tools/localkube/images.py build [NAME ...]   build what is missing (all without NAME)
    python3 tools/localkube/images.py list               "<ref>\\t<tar>" per cached image
    python3 tools/localkube/images.py verify [NAME ...]  import cached tars into a throw-away containerd

Each image is one OCI image-layout tar (one gzip layer holding the whole root file system) that
`ctr -n k8s.io images import <tar>` names by its `io.containerd.image.name` annotation.
Database images are plain installs of Debian packages (`debootstrap --variant=minbase`, then
`apt-get install --no-install-recommends` in a chroot where policy-rc.d refuses service starts):
no start-up script of ours, no Entrypoint, the server binary as Cmd, and an empty data directory.
Before a database image is packed, its server is initialised and started from a plain data
directory as the package's mysql user, and answers `SELECT VERSION()` (the commands are in
FLAVORS; the README's "Images" section repeats them for the pod specs).

Cache: $STATEFULDB_IMAGE_CACHE or ~/.cache/statefuldb-images/<name>-<recipe hash>.{tar,json}.
The hash covers the recipe and the build steps' version, so a changed recipe builds again; a failed
build says which suite and package failed and keeps the image cached before it. Runs as root
(debootstrap, chroot, mount). Standard library only.
"""
from __future__ import annotations

import argparse
import dataclasses
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PAUSE_SOURCE = os.path.join(HERE, "pause", "pause.go")
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Bump when the build steps change in a way the recipe data below does not show.
STEPS_VERSION = "1"
LABEL = "io.statefuldb.image."


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What one image holds. `kind` picks the build steps: pause, busybox or debian."""
    name: str
    ref: str
    kind: str
    suite: str = ""
    packages: tuple = ()
    cmd: tuple = ()
    flavor: str = ""
    # Directories made world-writable (sticky) so the server runs as whatever uid the pod picks.
    open_dirs: tuple = ()


RECIPES = {r.name: r for r in (
    Recipe("pause", "localhost/statefuldb/pause:3.10", "pause"),
    Recipe("tools", "localhost/statefuldb/tools:1", "busybox", packages=("busybox-static",), cmd=("sh",)),
    Recipe("mariadb-11.8", "localhost/statefuldb/mariadb:11.8", "debian", "trixie",
           ("mariadb-server", "mariadb-client", "mariadb-backup"), ("mariadbd",), "mariadb", ("/run/mysqld", "/var/lib/mysql")),
    Recipe("mariadb-10.11", "localhost/statefuldb/mariadb:10.11", "debian", "bookworm",
           ("mariadb-server", "mariadb-client", "mariadb-backup"), ("mariadbd",), "mariadb", ("/run/mysqld", "/var/lib/mysql")),
    Recipe("mysql-9.7", "localhost/statefuldb/mysql:9.7", "debian", "sid",
           ("mysql-server-core", "mysql-client"), ("mysqld",), "mysql",
           ("/run/mysqld", "/var/lib/mysql", "/var/lib/mysql-files")),
)}

# The commands that initialise and start each flavor from a plain data directory, with no
# entrypoint: the build runs them in the image (as its mysql user) and the README records them.
SMOKE = "/tmp/smoke"
FLAVORS = {
    "mariadb": {
        "init": ["mariadb-install-db", "--datadir=%s/data" % SMOKE, "--auth-root-authentication-method=normal",
                 "--skip-name-resolve",
                 "--skip-test-db"],
        "serve": ["mariadbd", "--datadir=%s/data" % SMOKE, "--socket=%s/mysqld.sock" % SMOKE,
                  "--pid-file=%s/mysqld.pid" % SMOKE, "--skip-networking"],
        "query": ["mariadb", "--socket=%s/mysqld.sock" % SMOKE, "-uroot", "-N", "-e", "SELECT VERSION()"],
        "stop": ["mariadb-admin", "--socket=%s/mysqld.sock" % SMOKE, "-uroot", "shutdown"],
    },
    "mysql": {
        "init": ["mysqld", "--initialize-insecure", "--datadir=%s/data" % SMOKE],
        "serve": ["mysqld", "--datadir=%s/data" % SMOKE, "--socket=%s/mysqld.sock" % SMOKE,
                  "--pid-file=%s/mysqld.pid" % SMOKE, "--skip-networking", "--mysqlx=OFF"],
        "query": ["mysql", "--socket=%s/mysqld.sock" % SMOKE, "-uroot", "-N", "-e", "SELECT VERSION()"],
        "stop": ["mysqladmin", "--socket=%s/mysqld.sock" % SMOKE, "-uroot", "shutdown"],
    },
}

# Left out of every Debian image: documentation (copyright files stay), translations, apt lists.
NODOC = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
"""
TRIM = ("var/lib/apt/lists/*", "var/cache/apt/*", "var/cache/debconf/*-old", "var/log/*.log",
        "var/log/apt/*", "var/cache/ldconfig/*", "tmp/*", "var/tmp/*", "dev/*", "etc/machine-id",
        "usr/share/doc/*/changelog*", "usr/share/doc/*/NEWS*", "usr/share/doc/*/README*")


class BuildError(Exception):
    """A build step failed; the message names the image, suite and package."""


def cache_dir():
    """Where the image tars live."""
    default = os.path.join(os.path.expanduser("~"), ".cache", "statefuldb-images")
    return os.environ.get("STATEFULDB_IMAGE_CACHE") or default


def recipe_key(recipe, pause_source=None):
    """Short hash of everything that decides the image's content."""
    data = dataclasses.asdict(recipe)
    data["steps"] = STEPS_VERSION
    data["flavor_commands"] = FLAVORS.get(recipe.flavor)
    if recipe.kind == "debian":
        data["nodoc"], data["trim"] = NODOC, TRIM
    if recipe.kind == "pause":
        with open(pause_source or PAUSE_SOURCE, "rb") as src:
            data["source"] = hashlib.sha256(src.read()).hexdigest()
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def cached_path(name, key, cache=None):
    """The tar of image `name` built from the recipe whose hash is `key`."""
    return os.path.join(cache or cache_dir(), "%s-%s.tar" % (name, key))


def previous_images(name, cache=None):
    """Cached tars of `name` (any recipe), newest first; each has its metadata file."""
    found = [p for p in glob.glob(os.path.join(cache or cache_dir(), "%s-*.tar" % glob.escape(name)))
             if re.fullmatch(re.escape(name) + r"-[0-9a-f]{12}\.tar", os.path.basename(p))
             and os.path.exists(p[:-4] + ".json")]
    return sorted(found, key=os.path.getmtime, reverse=True)


def find_image(name, cache=None, pause_source=None):
    """(tar path or None, is_current): the current recipe's image, else the newest older one."""
    current = cached_path(name, recipe_key(RECIPES[name], pause_source), cache)
    if os.path.exists(current) and os.path.exists(current[:-4] + ".json"):
        return current, True
    older = previous_images(name, cache)
    return (older[0], False) if older else (None, False)


# ---------------------------------------------------------------------------------------------
# Running commands

def run_command(argv, env=None, timeout=1800):
    """Runs argv, output (stdout and stderr together) captured; never raises for an exit code."""
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                              timeout=timeout, check=False, errors="replace")
    except FileNotFoundError:
        return subprocess.CompletedProcess(argv, 127, "%s: command not found" % argv[0])
    except subprocess.TimeoutExpired as exc:
        out = exc.output or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return subprocess.CompletedProcess(argv, 124, out + "\ntimed out after %d s" % timeout)


def chroot_env(home="/root"):
    """A clean environment for commands run in the image's root file system."""
    return {"PATH": PATH_ENV, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive", "HOME": home}


def tail(text, lines=6):
    """The last lines of a command's output, for an error message."""
    return "\n".join("    " + line for line in (text or "").strip().splitlines()[-lines:])


_PACKAGE_PATTERNS = (
    re.compile(r"Unable to locate package (\S+)"),
    re.compile(r"Package '?([^'\s]+)'? has no installation candidate"),
    re.compile(r"Couldn't download packages?:? ([^\n(]+)"),
    re.compile(r"Failed to fetch \S+/([^/_\s]+)_[^/\s]*\.deb"),
    re.compile(r"dpkg: error processing package ([^\s(]+)"),
    re.compile(r"Couldn't find these debs: ([^\n]+)"),
    re.compile(r"Failure while installing base packages.*?\b(\S+)$", re.M),
)


def failed_packages(output):
    """Names of the packages a debootstrap or apt-get output says failed, in order, once each."""
    names = []
    for pattern in _PACKAGE_PATTERNS:
        for match in pattern.finditer(output or ""):
            for word in match.group(1).split():
                if word not in names:
                    names.append(word)
    return names


def step_error(recipe, what, result, packages=(), mirror=None):
    """A BuildError naming the image, its suite and the package(s) the step failed on."""
    named = failed_packages(result.stdout) or list(packages)
    where = "suite %s" % recipe.suite if recipe.suite else "the host's apt sources"
    if mirror:
        where += " from %s" % mirror
    what_pkgs = " (package%s: %s)" % ("s" if len(named) > 1 else "", ", ".join(named)) if named else ""
    if "Release" in (result.stdout or "") and "Failed getting release" in (result.stdout or ""):
        what_pkgs = " (the suite's Release file: is the mirror reachable?)"
    return BuildError("image %s, %s: %s failed%s, exit %s:\n%s" % (
        recipe.name, where, what, what_pkgs, result.returncode, tail(result.stdout)))


# ---------------------------------------------------------------------------------------------
# Mirror

def apt_mirror(sources_list="/etc/apt/sources.list", sources_dir="/etc/apt/sources.list.d"):
    """The Debian mirror of the machine's apt sources (one-line or deb822 format), not security."""
    texts = []
    for path in [sources_list] + sorted(glob.glob(os.path.join(sources_dir, "*.list"))
                                        + glob.glob(os.path.join(sources_dir, "*.sources"))):
        try:
            with open(path, encoding="utf-8") as src:
                texts.append((path, src.read()))
        except OSError:
            continue
    for path, text in texts:
        if path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
                if "deb" not in fields.get("Types", "").split() or fields.get("Enabled", "yes") == "no":
                    continue
                for uri in fields.get("URIs", "").split():
                    if _is_debian_mirror(uri, fields.get("Suites", "")):
                        return uri.rstrip("/")
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb" and _is_debian_mirror(words[1], words[2]):
                    return words[1].rstrip("/")
    raise BuildError("no Debian mirror in %s or %s: add a 'deb http://<mirror>/debian <suite> main' line"
                     % (sources_list, sources_dir))


def _is_debian_mirror(uri, suites):
    suite_words = suites.split()
    return ("security" not in uri and uri.rstrip("/").endswith("/debian")
            and not all(s.endswith("-security") for s in suite_words))


# ---------------------------------------------------------------------------------------------
# Root file systems

class Mounts:
    """Mounts inside a root file system, always undone (lazily if busy) when the block ends."""

    def __init__(self, runner):
        self.runner = runner
        self.points = []

    def __enter__(self):
        return self

    def proc(self, rootfs):
        """/proc in the chroot: the servers and some package scripts read it."""
        point = os.path.join(rootfs, "proc")
        os.makedirs(point, exist_ok=True)
        result = self.runner(["mount", "-t", "proc", "proc", point])
        if result.returncode != 0:
            raise BuildError("mount -t proc on %s failed:\n%s" % (point, tail(result.stdout)))
        self.points.append(point)

    def __exit__(self, *exc):
        for point in reversed(self.points):
            if self.runner(["umount", point]).returncode != 0:
                self.runner(["umount", "-l", point])
        self.points = []
        return False


def mounts_under(path, mounts_file="/proc/mounts"):
    """Mount points at or below `path` (so a build directory is never removed across a mount)."""
    path = os.path.realpath(path)
    try:
        with open(mounts_file, encoding="utf-8") as src:
            points = [line.split()[1].replace("\\040", " ") for line in src if line.strip()]
    except OSError:
        return []
    return [p for p in points if p == path or p.startswith(path + "/")]


def remove_tree(path):
    """rm -rf, refused while anything is mounted below it."""
    left = mounts_under(path)
    if left:
        raise BuildError("not removing %s: still mounted there: %s (umount them, then remove it)"
                         % (path, ", ".join(left)))
    shutil.rmtree(path, ignore_errors=True)


def passwd_ids(rootfs, user):
    """(uid, gid) of `user` in the root file system's /etc/passwd, or None."""
    try:
        with open(os.path.join(rootfs, "etc", "passwd"), encoding="utf-8") as src:
            for line in src:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 4 and fields[0] == user:
                    return int(fields[2]), int(fields[3])
    except OSError:
        pass
    return None


def trim(rootfs):
    """Removes what a container does not need (docs, apt lists, logs, device nodes)."""
    for pattern in TRIM:
        for path in glob.glob(os.path.join(rootfs, pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):  # not already gone through a symlinked folder
                os.unlink(path)
    for name in ("resolv.conf", "hostname"):
        # The host's own files (debootstrap copies them); the kubelet mounts the pod's.
        path = os.path.join(rootfs, "etc", name)
        if os.path.lexists(path):
            os.unlink(path)
            with open(path, "w", encoding="utf-8"):
                pass


def tree_size(rootfs):
    """Bytes of the regular files below rootfs (each hard-linked file once)."""
    seen, total = set(), 0
    for top, _dirs, files in os.walk(rootfs):
        for name in files:
            st = os.lstat(os.path.join(top, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def build_pause(recipe, rootfs, runner, pause_source=None):
    """A static Go binary at /pause (CGO_ENABLED=0: no libc in the image)."""
    source = pause_source or PAUSE_SOURCE
    env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="")
    result = runner(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", os.path.join(rootfs, "pause"), source],
                    env=env)
    if result.returncode != 0:
        raise BuildError("image %s: go build of %s failed (Go 1.26 or newer on PATH?):\n%s"
                         % (recipe.name, source, tail(result.stdout)))
    return {"Entrypoint": ["/pause"], "User": "65535:65535"}, {}


def build_busybox(recipe, rootfs, runner):
    """Debian's busybox-static, one symlink per applet, a root and a nobody user."""
    download = os.path.join(os.path.dirname(rootfs), "download")
    os.makedirs(download, exist_ok=True)
    package = recipe.packages[0]
    result = runner(["sh", "-c", 'cd "$1" && apt-get download "$2"', "sh", download, package])
    debs = glob.glob(os.path.join(download, "%s_*.deb" % package))
    if result.returncode != 0 or not debs:
        raise step_error(recipe, "apt-get download", result, (package,))
    result = runner(["dpkg-deb", "-x", debs[0], rootfs])
    if result.returncode != 0:
        raise step_error(recipe, "dpkg-deb -x", result, (package,))
    busybox = os.path.join(rootfs, "bin", "busybox")
    listing = runner([busybox, "--list-full"])
    applets = listing.stdout.split() if listing.returncode == 0 else []
    missing = [a for a in ("bin/sh", "usr/bin/nslookup", "usr/bin/wget")
               if a not in applets and os.path.basename(a) not in map(os.path.basename, applets)]
    if missing:
        raise BuildError("image %s: %s lacks the applets %s" % (recipe.name, debs[0], ", ".join(missing)))
    for applet in applets:
        link = os.path.join(rootfs, applet)
        if not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.path.relpath(busybox, os.path.dirname(link)), link)
    for folder, mode in (("tmp", 0o1777), ("root", 0o700), ("etc", 0o755), ("proc", 0o755), ("sys", 0o755),
                         ("dev", 0o755)):
        os.makedirs(os.path.join(rootfs, folder), exist_ok=True)
        os.chmod(os.path.join(rootfs, folder), mode)
    files = {"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
             "etc/group": "root:x:0:\nnogroup:x:65534:\n"}
    for name, text in files.items():
        with open(os.path.join(rootfs, name), "w", encoding="utf-8") as dst:
            dst.write(text)
    shutil.rmtree(os.path.join(rootfs, "usr", "share", "man"), ignore_errors=True)
    version = urllib.parse.unquote(os.path.basename(debs[0]).split("_")[1])  # apt writes 1%3a1.35 for 1:1.35
    return {"Cmd": list(recipe.cmd)}, {LABEL + "busybox-version": version}


def build_debian(recipe, rootfs, runner, mirror):
    """debootstrap minbase, apt-get install in a chroot, then the server smoke test."""
    result = runner(["debootstrap", "--variant=minbase", recipe.suite, rootfs, mirror])
    if result.returncode != 0:
        raise step_error(recipe, "debootstrap --variant=minbase", result, mirror=mirror)
    with open(os.path.join(rootfs, "etc", "hosts"), "w", encoding="utf-8") as dst:
        # The kubelet mounts the pod's own; mariadb-install-db needs `localhost` to resolve without it.
        dst.write("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    with open(os.path.join(rootfs, "usr", "sbin", "policy-rc.d"), "w", encoding="utf-8") as dst:
        dst.write("#!/bin/sh\n# No service starts while packages install (image build).\nexit 101\n")
    os.chmod(os.path.join(rootfs, "usr", "sbin", "policy-rc.d"), 0o755)
    os.makedirs(os.path.join(rootfs, "etc", "dpkg", "dpkg.cfg.d"), exist_ok=True)
    with open(os.path.join(rootfs, "etc", "dpkg", "dpkg.cfg.d", "statefuldb-nodoc"), "w", encoding="utf-8") as dst:
        dst.write(NODOC)
    labels = {}
    with Mounts(runner) as mounts:
        mounts.proc(rootfs)
        install = ["chroot", rootfs, "apt-get", "install", "-y", "-q", "--no-install-recommends"]
        result = runner(install + list(recipe.packages), env=chroot_env())
        if result.returncode != 0:
            raise step_error(recipe, "apt-get install", result, recipe.packages, mirror)
        query = runner(["chroot", rootfs, "dpkg-query", "-W", "-f", "${Package}=${Version}\\n"]
                       + list(recipe.packages), env=chroot_env())
        for line in query.stdout.splitlines():
            if "=" in line:
                package, version = line.split("=", 1)
                labels[LABEL + "package." + package] = version
        ids = prepare_server_dirs(recipe, rootfs, runner)
        if ids:
            labels[LABEL + "mysql-uid"], labels[LABEL + "mysql-gid"] = str(ids[0]), str(ids[1])
        if recipe.flavor:
            labels[LABEL + "server-version"] = smoke_test(recipe, rootfs, runner, ids)
    trim(rootfs)
    config = {"Cmd": list(recipe.cmd)}
    if ids:
        config["User"] = "%d:%d" % ids
    return config, labels


def prepare_server_dirs(recipe, rootfs, runner):
    """The mysql user (from the packages) owns the server's directories, which any uid may use."""
    if not recipe.flavor:
        return None
    ids = passwd_ids(rootfs, "mysql")
    if ids is None:
        # mysql-server-core ships only the binaries; the user comes with mysql-server's scripts.
        result = runner(["chroot", rootfs, "useradd", "--system", "--user-group", "--home-dir", "/nonexistent",
                         "--no-create-home", "--shell", "/usr/sbin/nologin", "mysql"], env=chroot_env())
        ids = passwd_ids(rootfs, "mysql")
        if result.returncode != 0 or ids is None:
            raise BuildError("image %s: creating the mysql user failed:\n%s" % (recipe.name, tail(result.stdout)))
    datadir = os.path.join(rootfs, "var", "lib", "mysql")
    if os.path.isdir(datadir):
        # The package's postinst may have initialised a data directory; pods bring their own.
        for entry in os.listdir(datadir):
            path = os.path.join(datadir, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    for folder in recipe.open_dirs:
        path = os.path.join(rootfs, folder.lstrip("/"))
        os.makedirs(path, exist_ok=True)
        os.chown(path, ids[0], ids[1])
        os.chmod(path, 0o1777)
    return ids


def smoke_test(recipe, rootfs, runner, ids):
    """Initialises a data directory, starts the server without networking, asks its version."""
    commands = FLAVORS[recipe.flavor]
    smoke = os.path.join(rootfs, SMOKE.lstrip("/"))
    os.makedirs(smoke, exist_ok=True)
    os.chown(smoke, ids[0], ids[1])
    as_user = ["chroot", "--userspec=%d:%d" % ids, rootfs]
    env = chroot_env(home=SMOKE)
    server = None
    try:
        result = runner(as_user + commands["init"], env=env)
        if result.returncode != 0:
            raise BuildError("image %s: initialising a data directory failed: %s\n%s"
                             % (recipe.name, " ".join(commands["init"]), tail(result.stdout)))
        server = subprocess.Popen(as_user + commands["serve"], env=env, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                  stderr=subprocess.STDOUT, text=True, errors="replace")
        deadline, version = time.monotonic() + 120, None
        while time.monotonic() < deadline and server.poll() is None:
            result = runner(as_user + commands["query"], env=env, timeout=30)
            if result.returncode == 0 and result.stdout.strip():
                version = result.stdout.strip().splitlines()[-1]
                break
            time.sleep(1)
        if version is None:
            log = ""
            if server.poll() is not None:
                log = server.stdout.read()
            raise BuildError("image %s: the server did not answer SELECT VERSION() within 120 s: %s\n%s"
                             % (recipe.name, " ".join(commands["serve"]), tail(log, 12)))
        runner(as_user + commands["stop"], env=env, timeout=60)
        server.wait(timeout=60)
        return version
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        if server is not None:
            server.stdout.close()
        shutil.rmtree(smoke, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# OCI image layout

class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to `target`."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, data):  # pylint: disable=arguments-renamed
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def digest(self):
        """The OCI digest string of what was written."""
        return "sha256:" + self.sha.hexdigest()


def _layer_entry(info):
    # Ownership by number only: the host's user names mean nothing in the image.
    info.uname = info.gname = ""
    return info


def write_layer(rootfs, out):
    """Writes rootfs as a gzip tar layer to `out`; returns (diff_id, digest, size)."""
    compressed = _Hashing(out)
    with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0) as gz:
        plain = _Hashing(gz)
        with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as layer:
            for top, dirs, files in os.walk(rootfs):
                dirs.sort()
                for name in sorted(dirs) + sorted(files):
                    path = os.path.join(top, name)
                    arcname = os.path.relpath(path, rootfs)
                    info = layer.gettarinfo(path, arcname)
                    if info is None:  # sockets cannot be archived; nothing needs them
                        continue
                    if info.isreg():
                        with open(path, "rb") as src:
                            layer.addfile(_layer_entry(info), src)
                    else:
                        layer.addfile(_layer_entry(info))
    return plain.digest(), compressed.digest(), compressed.size


def image_config(recipe, diff_id, config, labels, created):
    """The OCI image configuration: PATH, the command, labels naming the recipe and versions."""
    labels = dict(labels)
    labels["org.opencontainers.image.ref.name"] = recipe.ref
    body = {"Env": ["PATH=" + PATH_ENV], "WorkingDir": "/", "Labels": labels}
    body.update(config)
    return {
        "created": created, "architecture": "amd64", "os": "linux", "config": body,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "tools/localkube/images.py build %s" % recipe.name}],
    }


def _canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    archive.addfile(info, io.BytesIO(data))


def pack_oci(recipe, rootfs, out_path, config, labels, created=None):
    """Writes an OCI image-layout tar for `recipe.ref` with the rootfs as its only layer."""
    created = created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    layer_path = out_path + ".layer"
    try:
        with open(layer_path, "wb") as out:
            diff_id, layer_digest, layer_size = write_layer(rootfs, out)
        config_blob = _canonical(image_config(recipe, diff_id, config, labels, created))
        config_digest = "sha256:" + hashlib.sha256(config_blob).hexdigest()
        manifest = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                       "size": len(config_blob)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                        "size": layer_size}],
        }
        manifest_blob = _canonical(manifest)
        manifest_digest = "sha256:" + hashlib.sha256(manifest_blob).hexdigest()
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{
            "mediaType": manifest["mediaType"], "digest": manifest_digest, "size": len(manifest_blob),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": recipe.ref,
                            "org.opencontainers.image.ref.name": recipe.ref.rsplit(":", 1)[1]}}]}
        with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as archive:
            _add_bytes(archive, "oci-layout", _canonical({"imageLayoutVersion": "1.0.0"}))
            _add_bytes(archive, "index.json", _canonical(index))
            _add_bytes(archive, "blobs/sha256/" + manifest_digest[7:], manifest_blob)
            _add_bytes(archive, "blobs/sha256/" + config_digest[7:], config_blob)
            info = tarfile.TarInfo("blobs/sha256/" + layer_digest[7:])
            info.size, info.mode, info.mtime = layer_size, 0o644, 0
            with open(layer_path, "rb") as src:
                archive.addfile(info, src)
    finally:
        if os.path.exists(layer_path):
            os.unlink(layer_path)
    return {"manifest": manifest_digest, "config": config_digest, "layer": layer_digest, "layer_size": layer_size}


# ---------------------------------------------------------------------------------------------
# Throw-away containerd

CONTAINERD_CONFIG = """\
version = 2
root = "{tmp}/root"
state = "{tmp}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{tmp}/containerd.sock"
[ttrpc]
  address = "{tmp}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{tmp}/opt"
"""


def verify_import(tars, runner=run_command):
    """Imports each (ref, tar) into a containerd of its own and checks that `ctr images ls` names
    the ref. Returns None when done, or a reason it could not be checked (no containerd)."""
    if not (shutil.which("containerd") and shutil.which("ctr")):
        return "containerd/ctr not installed (tools/system-deps.sh installs them)"
    tmp = tempfile.mkdtemp(prefix="statefuldb-images-ctr-")
    sock = os.path.join(tmp, "containerd.sock")
    with open(os.path.join(tmp, "config.toml"), "w", encoding="utf-8") as dst:
        dst.write(CONTAINERD_CONFIG.format(tmp=tmp))
    with open(os.path.join(tmp, "containerd.log"), "w", encoding="utf-8") as log:
        daemon = subprocess.Popen(["containerd", "--config", os.path.join(tmp, "config.toml")],  # pylint: disable=consider-using-with
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        ctr = ["ctr", "--address", sock, "-n", "k8s.io"]
        deadline = time.monotonic() + 30
        while runner(ctr + ["version"], timeout=10).returncode != 0:
            if time.monotonic() > deadline or daemon.poll() is not None:
                with open(os.path.join(tmp, "containerd.log"), encoding="utf-8", errors="replace") as src:
                    raise BuildError("throw-away containerd did not start:\n%s" % tail(src.read()))
            time.sleep(0.3)
        for ref, tar in tars:
            result = runner(ctr + ["images", "import", tar], timeout=600)
            if result.returncode != 0:
                raise BuildError("ctr images import %s failed:\n%s" % (tar, tail(result.stdout)))
            listed = runner(ctr + ["images", "ls", "-q"], timeout=30).stdout.split()
            if ref not in listed:
                raise BuildError("ctr images import %s named it %s, not %s" % (tar, " ".join(listed), ref))
        return None
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        for point in reversed(mounts_under(tmp)):
            runner(["umount", "-l", point])
        remove_tree(tmp)


# ---------------------------------------------------------------------------------------------
# Commands

def human(size):
    """Megabytes with one decimal."""
    return "%.1f MB" % (size / 1e6)


def build_one(name, runner=run_command, cache=None, mirror=None, verify=True, pause_source=None):
    """Builds image `name` unless its current recipe is cached; returns the line to print."""
    recipe = RECIPES[name]
    cache = cache or cache_dir()
    key = recipe_key(recipe, pause_source)
    out_path = cached_path(name, key, cache)
    if os.path.exists(out_path) and os.path.exists(out_path[:-4] + ".json"):
        with open(out_path[:-4] + ".json", encoding="utf-8") as src:
            meta = json.load(src)
        return "%s\t%s\tcached (built in %.0f s)\t%s\t%s" % (
            name, recipe.ref, meta.get("seconds", 0), human(os.path.getsize(out_path)), out_path)
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work-%s-" % name, dir=cache)
    rootfs = os.path.join(work, "rootfs")
    os.makedirs(rootfs)
    started = time.monotonic()
    done = False
    try:
        if recipe.kind == "pause":
            config, labels = build_pause(recipe, rootfs, runner, pause_source)
        elif recipe.kind == "busybox":
            config, labels = build_busybox(recipe, rootfs, runner)
        else:
            config, labels = build_debian(recipe, rootfs, runner, mirror or apt_mirror())
        labels[LABEL + "recipe"] = key
        rootfs_size = tree_size(rootfs)
        digests = pack_oci(recipe, rootfs, out_path + ".tmp", config, labels)
        if verify:
            skipped = verify_import([(recipe.ref, out_path + ".tmp")], runner)
            if skipped:
                print("images: %s: import not checked: %s" % (name, skipped), file=sys.stderr)
        seconds = time.monotonic() - started
        meta = {"name": name, "ref": recipe.ref, "recipe": key, "seconds": round(seconds, 1),
                "rootfs_bytes": rootfs_size, "tar_bytes": os.path.getsize(out_path + ".tmp"),
                "labels": labels, "digests": digests, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.replace(out_path + ".tmp", out_path)
        with open(out_path[:-4] + ".json", "w", encoding="utf-8") as dst:
            json.dump(meta, dst, indent=1, sort_keys=True)
        done = True
    finally:
        if os.path.exists(out_path + ".tmp"):
            os.unlink(out_path + ".tmp")
        if done or not os.environ.get("STATEFULDB_IMAGE_KEEP_WORK"):
            remove_tree(work)
        else:
            print("images: %s: kept the failed build's files in %s" % (name, work), file=sys.stderr)
    for old in previous_images(name, cache):
        if old != out_path:
            os.unlink(old)
            os.unlink(old[:-4] + ".json")
    return "%s\t%s\tbuilt in %.0f s\t%s (rootfs %s)\t%s" % (
        name, recipe.ref, seconds, human(meta["tar_bytes"]), human(rootfs_size), out_path)


def cmd_build(names, runner=run_command, cache=None):
    """Builds each named image (all when none), one at a time; 1 if any failed."""
    failed = 0
    for name in names or list(RECIPES):
        try:
            print(build_one(name, runner, cache), flush=True)
        except BuildError as exc:
            failed = 1
            previous, _current = find_image(name, cache)
            kept = ("kept the previous image %s" % previous) if previous else "no previous image is cached"
            print("images: %s\n  (%s)" % (exc, kept), file=sys.stderr, flush=True)
    return failed


def cmd_list(cache=None):
    """Prints ref and tar of each cached image; an image older than its recipe is still listed."""
    for name, recipe in RECIPES.items():
        path, current = find_image(name, cache)
        if path:
            print("%s\t%s" % (recipe.ref, path))
            if not current:
                print("images: %s is from an older recipe (run: images.py build %s)" % (path, name),
                      file=sys.stderr)
    return 0


def cmd_verify(names, cache=None):
    """Imports cached images into a throw-away containerd."""
    tars = []
    for name in names or list(RECIPES):
        path, _current = find_image(name, cache)
        if path is None:
            print("images: %s is not built (run: images.py build %s)" % (name, name), file=sys.stderr)
            return 1
        tars.append((RECIPES[name].ref, path))
    try:
        skipped = verify_import(tars)
    except BuildError as exc:
        print("images: %s" % exc, file=sys.stderr)
        return 1
    print(skipped or "imported and listed: %s" % " ".join(ref for ref, _tar in tars))
    return 2 if skipped else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("build", "verify"):
        sub.add_parser(command).add_argument("names", nargs="*", metavar="NAME",
                                             help="one of: %s" % ", ".join(RECIPES))
    sub.add_parser("list")
    args = parser.parse_args(argv)
    unknown = [n for n in getattr(args, "names", []) if n not in RECIPES]
    if unknown:
        parser.error("unknown image %s; known: %s" % (", ".join(unknown), ", ".join(RECIPES)))
    if args.command == "list":
        return cmd_list()
    if os.geteuid() != 0:
        parser.error("run as root (debootstrap, chroot and mount need it)")
    if args.command == "verify":
        return cmd_verify(args.names)
    return cmd_build(args.names)


if __name__ == "__main__":
    sys.exit(main())
