"""Unit tests of bench/write_audit.py: each process's writes are recorded, and a file two processes write is found."""
import os
import subprocess
import sys

from ansible_collections.statefuldb.k8s.tests.unit.tools.script_loader import load_script

write_audit = load_script("bench", "write_audit")

CHILD = """
import os, sys, tempfile
base = sys.argv[1]
with open(os.path.join(base, "own-%s" % os.environ["FANOUT_HOST"]), "w") as f:
    f.write("x")
fd, dummy = tempfile.mkstemp(dir=base)       # os.open with O_CREAT: recorded too
os.close(fd)
with open(os.path.join(base, "shared.json"), "a") as f:    # the race: every process writes it
    f.write("x")
open(os.path.join(base, "own-%s" % os.environ["FANOUT_HOST"])).read()   # a read: not recorded
"""


def test_writes_of_every_process_are_recorded_and_shared_files_found(tmp_path):
    audit, site, work = tmp_path / "audit", tmp_path / "site", tmp_path / "work"
    audit.mkdir()
    work.mkdir()
    write_audit.write_sitecustomize(str(site))
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(work)],
                              env=dict(os.environ, PYTHONPATH=str(site), FANOUT_AUDIT_DIR=str(audit), FANOUT_HOST=host))
             for host in ("h1", "h2")]
    assert [p.wait() for p in procs] == [0, 0]
    records = write_audit.read(str(audit))
    assert {(host, os.path.basename(path)) for host, pid, path in records if "own-" in path} == {
        ("h1", "own-h1"), ("h2", "own-h2")}
    assert len([r for r in records if "own-" in r[2]]) == 2  # the reads were not recorded
    assert len([r for r in records if os.path.basename(r[2]).startswith("tmp")]) == 2
    shared = write_audit.shared_writes(records)
    assert list(shared) == [str(work / "shared.json")]
    assert [host for host, pid in shared[str(work / "shared.json")]] == ["h1", "h2"]


def test_nothing_is_recorded_without_the_folder():
    write_audit.install(directory="")  # no FANOUT_AUDIT_DIR: no hook, nothing written
    assert write_audit.shared_writes([("h1", 1, "/a"), ("h1", 1, "/a"), ("h2", 2, "/b")]) == {}
    # Ansible's AnsiballZ cache lock is shared on purpose: reported apart from the races.
    locked = [("-", 1, "/c/ansiballz_cache/m.lock"), ("-", 2, "/c/ansiballz_cache/m.lock")]
    assert write_audit.shared_writes(locked) == {}
    assert write_audit.shared_writes(locked, locks=True) == {"/c/ansiballz_cache/m.lock": [("-", 1), ("-", 2)]}
    assert write_audit.writes_for("r", os.O_RDONLY) is False
    assert write_audit.writes_for(None, os.O_WRONLY | os.O_CREAT) is True
    assert write_audit.writes_for("rb+", None) is True
