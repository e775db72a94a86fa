"""Unit tests of the node image builder (tools/localkube/images.py): OCI packing, cache keys,
failure messages. A fake runner stands in for debootstrap, chroot and mount: no network, no root."""
import dataclasses
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

images = load_script("tools/localkube", "images")


class FakeRunner:
    """Records argv; answers from a list of (predicate, returncode, output, side effect)."""

    def __init__(self, *rules):
        self.calls = []
        self.rules = rules

    def __call__(self, argv, env=None, timeout=None):
        self.calls.append(list(argv))
        for matches, code, output, effect in self.rules:
            if matches(argv):
                if effect:
                    effect(argv)
                return subprocess.CompletedProcess(argv, code, output)
        return subprocess.CompletedProcess(argv, 0, "")

    def ran(self, word):
        return [c for c in self.calls if word in c]


def debootstrap_ok(argv):
    rootfs = argv[3]
    for folder in ("usr/sbin", "etc", "proc", "var/lib/apt/lists", "usr/share/doc/base-files"):
        os.makedirs(os.path.join(rootfs, folder), exist_ok=True)


def is_(word):
    return lambda argv: word in argv


def read_layout(path):
    """index, manifest, config and the layer's members of an OCI layout tar; checks every digest."""
    with tarfile.open(path) as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    manifest_blob = files["blobs/sha256/" + entry["digest"][7:]]
    assert entry["size"] == len(manifest_blob)
    manifest = json.loads(manifest_blob)
    config_blob = files["blobs/sha256/" + manifest["config"]["digest"][7:]]
    assert manifest["config"]["size"] == len(config_blob)
    config = json.loads(config_blob)
    layer_blob = files["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
    assert manifest["layers"][0]["size"] == len(layer_blob)
    plain = gzip.decompress(layer_blob)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(plain).hexdigest()]
    with tarfile.open(fileobj=io.BytesIO(plain)) as layer:
        members = {m.name: m for m in layer.getmembers()}
        contents = {n: layer.extractfile(m).read() for n, m in members.items() if m.isfile()}
    return index, manifest, config, members, contents


def test_oci_layout_names_the_image_for_ctr_import_and_holds_the_rootfs(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "bin" / "tool").write_bytes(b"#!/bin/sh\necho hi\n")
    os.chmod(rootfs / "usr" / "bin" / "tool", 0o755)
    os.link(rootfs / "usr" / "bin" / "tool", rootfs / "usr" / "bin" / "tool2")
    (rootfs / "bin").symlink_to("usr/bin")
    (rootfs / "tmp").mkdir()
    os.chmod(rootfs / "tmp", 0o1777)
    recipe = images.RECIPES["mariadb-11.8"]
    out = str(tmp_path / "image.tar")
    images.pack_oci(recipe, str(rootfs), out, {"Cmd": ["mariadbd"], "User": "100:101"},
                    {"io.statefuldb.image.mysql-uid": "100"}, created="2026-01-01T00:00:00Z")
    index, manifest, config, members, contents = read_layout(out)
    annotations = index["manifests"][0]["annotations"]
    assert annotations == {"io.containerd.image.name": "localhost/statefuldb/mariadb:11.8",
                           "org.opencontainers.image.ref.name": "11.8"}
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    body = config["config"]
    assert body["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert body["Cmd"] == ["mariadbd"] and "Entrypoint" not in body
    assert body["User"] == "100:101" and body["Labels"]["io.statefuldb.image.mysql-uid"] == "100"
    assert contents["usr/bin/tool"] == b"#!/bin/sh\necho hi\n"
    assert members["usr/bin/tool"].mode & 0o777 == 0o755
    assert members["usr/bin/tool2"].islnk() and members["usr/bin/tool2"].linkname == "usr/bin/tool"
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["tmp"].isdir() and members["tmp"].mode & 0o7777 == 0o1777
    assert all(m.uname == "" and m.gname == "" for m in members.values())
    assert not any(name.startswith(("/", "./", "..")) for name in members)
    assert not os.path.exists(out + ".layer")


def test_recipe_key_changes_with_the_recipe_and_only_then(tmp_path):
    recipe = images.RECIPES["mariadb-10.11"]
    assert images.recipe_key(recipe) == images.recipe_key(recipe)
    assert len(images.recipe_key(recipe)) == 12
    more = dataclasses.replace(recipe, packages=recipe.packages + ("mariadb-backup",))
    other_suite = dataclasses.replace(recipe, suite="trixie")
    keys = {images.recipe_key(recipe), images.recipe_key(more), images.recipe_key(other_suite)}
    assert len(keys) == 3
    source = tmp_path / "pause.go"
    source.write_text("package main\nfunc main() {}\n")
    pause = images.RECIPES["pause"]
    before = images.recipe_key(pause, str(source))
    source.write_text("package main\nfunc main() { select {} }\n")
    assert images.recipe_key(pause, str(source)) != before


def write_cached(cache, name, key, mtime):
    path = images.cached_path(name, key, str(cache))
    with open(path, "w", encoding="utf-8") as dst:
        dst.write("tar")
    with open(path[:-4] + ".json", "w", encoding="utf-8") as dst:
        json.dump({"seconds": 3}, dst)
    os.utime(path, (mtime, mtime))
    return path


def test_cache_finds_the_current_recipe_else_the_newest_older_one(tmp_path, capsys):
    name = "mariadb-10.11"
    older = write_cached(tmp_path, name, "aaaaaaaaaaaa", 1000)
    newer = write_cached(tmp_path, name, "bbbbbbbbbbbb", 2000)
    write_cached(tmp_path, "mariadb-10.11x", "cccccccccccc", 3000)  # another name's prefix: ignored
    assert images.find_image(name, str(tmp_path)) == (newer, False)
    current = write_cached(tmp_path, name, images.recipe_key(images.RECIPES[name]), 500)
    assert images.find_image(name, str(tmp_path)) == (current, True)
    assert images.previous_images(name, str(tmp_path)) == [newer, older, current]
    images.cmd_list(str(tmp_path))
    assert capsys.readouterr().out == "localhost/statefuldb/mariadb:10.11\t%s\n" % current


def test_cached_image_is_not_rebuilt(tmp_path):
    name = "mysql-9.7"
    path = write_cached(tmp_path, name, images.recipe_key(images.RECIPES[name]), 1000)
    runner = FakeRunner()
    line = images.build_one(name, runner, cache=str(tmp_path), mirror="http://deb.example/debian")
    assert not runner.calls
    assert line.startswith("mysql-9.7\tlocalhost/statefuldb/mysql:9.7\tcached") and line.endswith(path)


@pytest.fixture(name="mirror")
def fixture_mirror(monkeypatch):
    monkeypatch.setattr(images, "apt_mirror", lambda: "http://deb.example/debian")


def test_failed_debootstrap_names_suite_and_packages_and_keeps_the_previous_image(tmp_path, capsys, mirror):  # pylint: disable=unused-argument
    name = "mariadb-11.8"
    previous = write_cached(tmp_path, name, "aaaaaaaaaaaa", 1000)
    runner = FakeRunner((is_("debootstrap"), 1, "I: Retrieving Packages\nE: Couldn't download packages: libc6 "
                         "libssl3t64\n", None))
    assert images.cmd_build([name], runner, str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "image mariadb-11.8, suite trixie from http://deb.example/debian" in err
    assert "debootstrap --variant=minbase failed (packages: libc6, libssl3t64)" in err
    assert "kept the previous image %s" % previous in err
    assert os.path.exists(previous)
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(previous), os.path.basename(previous)[:-4]
                                                   + ".json"])


def test_failed_install_names_the_package_and_unmounts_proc(tmp_path, capsys, mirror):  # pylint: disable=unused-argument
    runner = FakeRunner((is_("debootstrap"), 0, "", debootstrap_ok),
                        (is_("install"), 100, "Reading package lists...\nE: Unable to locate package "
                         "mysql-server-core\n", None))
    assert images.cmd_build(["mysql-9.7"], runner, str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "image mysql-9.7, suite sid from http://deb.example/debian: apt-get install failed " \
           "(package: mysql-server-core), exit 100" in err
    assert "no previous image is cached" in err
    mounted = [c for c in runner.calls if c[0] == "mount"]
    unmounted = [c for c in runner.calls if c[0] == "umount"]
    assert len(mounted) == 1 and unmounted == [["umount", mounted[0][-1]]]
    assert os.listdir(tmp_path) == []
    install = runner.ran("install")[0]
    assert install[:2] == ["chroot", mounted[0][-1][:-len("/proc")]]
    assert install[2:] == ["apt-get", "install", "-y", "-q", "--no-install-recommends", "mysql-server-core",
                           "mysql-client"]


def test_failed_fetch_names_the_package_from_its_pool_path():
    output = ("E: Failed to fetch http://deb.debian.org/debian/pool/main/m/mariadb/"
              "mariadb-server_11.8.3-1_amd64.deb  Could not connect to deb.debian.org:80\n")
    assert images.failed_packages(output) == ["mariadb-server"]
    assert images.failed_packages("dpkg: error processing package mariadb-server (--configure):") == [
        "mariadb-server"]
    assert images.failed_packages("all fine") == []


def test_unreachable_mirror_says_so():
    recipe = images.RECIPES["mariadb-10.11"]
    result = subprocess.CompletedProcess([], 1, "E: Failed getting release file "
                                                "http://deb.example/debian/dists/bookworm/Release\n")
    message = str(images.step_error(recipe, "debootstrap --variant=minbase", result, mirror="http://deb.example"))
    assert "suite bookworm from http://deb.example" in message and "Release file" in message


def test_mirror_from_deb822_or_one_line_sources_never_security(tmp_path):
    sources_dir = tmp_path / "sources.list.d"
    sources_dir.mkdir()
    (sources_dir / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n")
    (sources_dir / "other.list").write_text("deb https://packages.example/apt cloud-sdk main\n")
    missing = str(tmp_path / "sources.list")
    assert images.apt_mirror(missing, str(sources_dir)) == "http://mirror.example/debian"
    one_line = tmp_path / "one.list"
    one_line.write_text("# deb http://old.example/debian bookworm main\n"
                        "deb [signed-by=/k.gpg] http://ftp.example/debian bookworm main\n")
    assert images.apt_mirror(str(one_line), str(tmp_path / "none")) == "http://ftp.example/debian"
    with pytest.raises(images.BuildError, match="no Debian mirror"):
        images.apt_mirror(missing, str(tmp_path / "none"))


def test_mounts_are_undone_lazily_when_busy(tmp_path):
    runner = FakeRunner((lambda argv: argv[:1] == ["umount"] and "-l" not in argv, 32, "target is busy", None))
    with pytest.raises(RuntimeError):
        with images.Mounts(runner) as mounts:
            mounts.proc(str(tmp_path))
            raise RuntimeError("step failed")
    point = str(tmp_path / "proc")
    assert runner.calls == [["mount", "-t", "proc", "proc", point], ["umount", point], ["umount", "-l", point]]


def test_never_removes_a_tree_with_a_mount_below(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("proc %s/rootfs/proc proc rw 0 0\n" % tmp_path)
    assert images.mounts_under(str(tmp_path), str(mounts)) == ["%s/rootfs/proc" % tmp_path]
    assert images.mounts_under(str(tmp_path / "root"), str(mounts)) == []


def test_server_directories_open_to_any_uid_and_data_dir_emptied(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "chown", lambda *args: None)
    rootfs = tmp_path
    (rootfs / "etc").mkdir()
    (rootfs / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nmysql:x:100:101::/nonexistent:/bin/false\n")
    (rootfs / "var" / "lib" / "mysql" / "mysql").mkdir(parents=True)
    (rootfs / "var" / "lib" / "mysql" / "ibdata1").write_text("x")
    ids = images.prepare_server_dirs(images.RECIPES["mysql-9.7"], str(rootfs), FakeRunner())
    assert ids == (100, 101)
    assert os.listdir(rootfs / "var" / "lib" / "mysql") == []
    for folder in ("run/mysqld", "var/lib/mysql", "var/lib/mysql-files"):
        assert os.stat(rootfs / folder).st_mode & 0o7777 == 0o1777


def test_missing_mysql_user_is_created_with_useradd(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "chown", lambda *args: None)
    (tmp_path / "etc").mkdir()
    passwd = tmp_path / "etc" / "passwd"
    passwd.write_text("root:x:0:0::/root:/bin/sh\n")

    def useradd(_argv):
        with open(passwd, "a", encoding="utf-8") as dst:
            dst.write("mysql:x:999:999::/nonexistent:/usr/sbin/nologin\n")
    runner = FakeRunner((is_("useradd"), 0, "", useradd))
    assert images.prepare_server_dirs(images.RECIPES["mysql-9.7"], str(tmp_path), runner) == (999, 999)
    assert runner.ran("useradd")[0][:2] == ["chroot", str(tmp_path)]


def test_unknown_image_name_is_refused_with_the_known_names(capsys):
    with pytest.raises(SystemExit) as exc:
        images.main(["build", "postgres-17"])
    assert exc.value.code == 2
    assert "unknown image postgres-17; known: pause, tools, mariadb-11.8, mariadb-10.11, mysql-9.7" in \
        capsys.readouterr().err
