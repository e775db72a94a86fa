# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seed a MariaDB member from a physical copy of another member (mysql_cluster_seed, MariaDB).

MariaDB has no server-side clone, so the copy goes through the pods, with `exec` through the API
server (the kubernetes Python client, as pod_tunnel.py; no kubectl, no tool beyond the server image):

1. in the donor, `mariadb-backup --backup --stream=mbstream` (base64: the exec stream is text), read
   here and written, in chunks, into `$CLAIM/seed.mbstream` on the member's claim (each chunk one exec of
   `head -c N`, so nothing depends on closing an exec's stdin, which older clients cannot do);
2. in the member, beside its running server: extract into `$CLAIM/data.seeding`, `mariadb-backup
   --prepare`, hand it to the server's user, rename it `$CLAIM/data.seeded` (the commit point);
3. the member's server is shut down; its container starts again and start-server.sh puts the copy in
   place and starts replication from the copy's GTID position (read from the backup's binlog info).

Prints {"donor", "member", "bytes", "gtid_position", "seconds"} as JSON. Fails (exit 1, one line on
stderr) naming the step, the pod and the tool's last output. Nothing of the member's current data is
touched before step 3, and start-server.sh keeps a member's data that held transactions aside.
"""
import argparse
import base64
import json
import os
import sys
import time

from pod_tunnel import load_client

CHUNK = 4 * 1024 * 1024  # bytes of backup per exec on the member
FRAME = 256 * 1024  # bytes per WebSocket message
CONTAINER = "mysql"


class SeedError(Exception):
    pass


def exit_code(ws):
    """The command's exit status from the exec's error channel (None when the API server sent none)."""
    try:
        return ws.returncode
    except (TypeError, KeyError, IndexError, ValueError):  # a failure that is not a non-zero exit
        return None


def run(core, namespace, pod, script, stdin=None, timeout=600):
    """Run `sh -c script` in the pod's server container; returns stdout. Raises SeedError with stderr's tail."""
    from kubernetes.stream import stream

    ws = stream(core.connect_get_namespaced_pod_exec, pod, namespace, container=CONTAINER,
                command=["sh", "-c", script], stdin=stdin is not None, stdout=True, stderr=True, tty=False,
                _preload_content=False)
    out, err = [], []
    # In frames well below what the API server's WebSocket accepts in one message (a 4 MiB one closes it).
    for start in range(0, len(stdin or b""), FRAME):
        ws.write_stdin(stdin[start:start + FRAME])
    deadline = time.monotonic() + timeout
    while ws.is_open() and time.monotonic() < deadline:
        ws.update(timeout=1)
        out.append(ws.read_stdout(timeout=0))
        err.append(ws.read_stderr(timeout=0))
    timed_out = ws.is_open()
    code = None if timed_out else exit_code(ws)
    ws.close()
    if timed_out or code != 0:
        tail = "".join(err).strip().splitlines()[-5:]
        what = script.split(";")[0][:80]
        raise SeedError("%s in %s %s (exit %s): %s" % (what, pod, "timed out" if timed_out else "failed", code,
                                                       " | ".join(tail) or "no output"))
    return "".join(out)


BACKUP = ('mariadb-backup --defaults-file="$LOGIN_FILE" --backup --stream=mbstream --datadir="$CLAIM/data" '
          '--tmpdir=/tmp 2>/tmp/statefuldb-seed-backup.log | base64; '
          'tail -n 3 /tmp/statefuldb-seed-backup.log >&2; grep -q "completed OK!" /tmp/statefuldb-seed-backup.log')
PREPARE = ('set -e; cd "$CLAIM"; rm -rf data.seeding data.seeded; mkdir data.seeding; cd data.seeding; '
           'mbstream -x < ../seed.mbstream; rm ../seed.mbstream; '
           'mariadb-backup --prepare --target-dir=. >/tmp/statefuldb-seed-prepare.log 2>&1 '
           '|| { tail -n 5 /tmp/statefuldb-seed-prepare.log >&2; exit 1; }; '
           'chown -R mysql:mysql .; cd ..; mv data.seeding data.seeded; '
           'cat data.seeded/mariadb_backup_binlog_info 2>/dev/null || cat data.seeded/xtrabackup_binlog_info')


def copy(core, namespace, donor, member, timeout):
    """Stream the donor's backup onto the member's claim and prepare it there; returns (bytes, GTID position)."""
    from kubernetes.stream import stream

    run(core, namespace, member, 'set -e; cd "$CLAIM"; rm -rf data.seeding seed.mbstream; : > seed.mbstream')
    ws = stream(core.connect_get_namespaced_pod_exec, donor, namespace, container=CONTAINER,
                command=["sh", "-c", BACKUP], stdin=False, stdout=True, stderr=True, tty=False,
                _preload_content=False)
    text, err, sent = "", [], 0
    deadline = time.monotonic() + timeout

    def send(lines):
        data = base64.b64decode(lines)
        run(core, namespace, member, 'head -c %d >> "$CLAIM/seed.mbstream"' % len(data), stdin=data)
        return len(data)

    while ws.is_open() and time.monotonic() < deadline:
        ws.update(timeout=1)
        text += ws.read_stdout(timeout=0)
        err.append(ws.read_stderr(timeout=0))
        if len(text) >= CHUNK * 4 // 3:
            cut = text.rindex("\n") + 1
            sent += send(text[:cut])
            text = text[cut:]
    timed_out = ws.is_open()
    code = None if timed_out else exit_code(ws)
    text += ws.read_stdout(timeout=0)
    ws.close()
    if timed_out or code != 0:
        raise SeedError("mariadb-backup --backup in %s %s: %s" % (
            donor, "timed out" if timed_out else "failed (exit %s)" % code,
            " | ".join("".join(err).strip().splitlines()[-3:]) or "no output"))
    if text.strip():
        sent += send(text)
    info = run(core, namespace, member, PREPARE, timeout=timeout).split()
    if len(info) < 3:
        raise SeedError("the copy in %s has no GTID position in its binlog info (%r)" % (member, " ".join(info)))
    return sent, info[2]


def api_client(args):
    """The API client from the same credentials as pod_tunnel.py; a kubeconfig mistake is a SeedError."""
    try:
        return load_client(args)
    except Exception as exc:  # the kubernetes library's config errors have no common base
        raise SeedError("cannot load the Kubernetes credentials (kubeconfig %r, context %r): %s"
                        % (args.kubeconfig or "default", args.context or "current", exc))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--donor", required=True, help="pod to copy (a healthy member, a replica if possible)")
    parser.add_argument("--member", required=True, help="pod to seed")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--kubeconfig", default=os.environ.get("K8S_AUTH_KUBECONFIG", ""))
    parser.add_argument("--context", default=os.environ.get("K8S_AUTH_CONTEXT", ""))
    args = parser.parse_args()
    started = time.monotonic()
    try:
        from kubernetes import client

        core = client.CoreV1Api(api_client(args))
        size, position = copy(core, args.namespace, args.donor, args.member, args.timeout)
        # The server stops; its container starts again and start-server.sh puts the copy in place.
        run(core, args.namespace, args.member, '"$DB_CLIENT" --defaults-file="$LOGIN_FILE" --execute=SHUTDOWN')
    except SeedError as exc:
        print("seeding %s from %s: %s" % (args.member, args.donor, exc), file=sys.stderr)
        return 1
    print(json.dumps({"donor": args.donor, "member": args.member, "bytes": size, "gtid_position": position,
                      "seconds": round(time.monotonic() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
