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

from websocket import WebSocketTimeoutException

from pod_tunnel import load_client

CHUNK = 4 * 1024 * 1024  # bytes of backup per exec on the member
FRAME = 256 * 1024  # bytes per WebSocket message
CONTAINER = "mysql"
STDOUT, STDERR = 1, 2  # the exec stream's channels


class SeedError(Exception):
    pass


# The command's end, written by the wrapper after it: an exec stream that ends with its process may
# lose the last of a large output still in flight (seen here: 17 of 27 MB), so the stream is read until
# this line arrives and only then closed, and the command's exit status is read from it.
END = "statefuldb-exec-end"


def messages(ws, deadline):
    """(channel, text) of each message of an exec stream as it arrives, until the stream closes.

    Read from the socket directly: the client's own update() joins a backlog of messages into one string
    message by message, which takes minutes for a backup that arrives faster than it is forwarded."""
    from websocket import ABNF

    while True:
        if time.monotonic() > deadline:
            raise WebSocketTimeoutException("deadline passed")
        ws.sock.settimeout(max(1.0, deadline - time.monotonic()))
        opcode, frame = ws.sock.recv_data_frame(True)
        if opcode == ABNF.OPCODE_CLOSE:
            return
        if opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY) and frame.data:
            yield frame.data[0], frame.data[1:].decode("utf-8", "replace")


def run(core, namespace, pod, script, stdin=b"", deadline=None, consume=None):
    """Run `sh -c script` in the pod's server container; returns its stdout.

    ``consume(text)``, when given, takes the stdout read so far and returns what it did not use (the
    backup is forwarded while it streams). Raises SeedError with stderr's tail on failure or timeout."""
    from kubernetes.stream import stream

    # The wrapper then waits for the end of its stdin, which comes when this side closes the stream: the
    # command's whole output is read before the process (and with it the stream) ends.
    wrapped = '( %s )%s; status=$?; echo; echo "%s $status"; read -r unused' % (
        script, "" if stdin else " </dev/null", END)
    ws = stream(core.connect_get_namespaced_pod_exec, pod, namespace, container=CONTAINER,
                command=["sh", "-c", wrapped], stdin=True, stdout=True, stderr=True, tty=False,
                _preload_content=False)
    deadline = deadline or time.monotonic() + 600
    what = "%s in %s" % (script.split(";")[0][:80], pod)
    pieces, size, err, status = [], 0, [], None
    try:
        # In frames well below what the API server's WebSocket accepts in one message (a 4 MiB one closes it).
        for start in range(0, len(stdin), FRAME):
            ws.write_stdin(stdin[start:start + FRAME])
        for channel, text in messages(ws, deadline):
            if channel == STDERR:
                err.append(text)
                continue
            if channel != STDOUT:
                continue
            pieces.append(text)
            size += len(text)
            # The end line is short: look for it in the last pieces only, never in the whole output.
            recent = "".join(pieces[-3:])
            if recent.endswith("\n") and ("\n%s " % END) in recent[-200:]:
                out = "".join(pieces)
                marker = out.rfind("\n%s " % END)
                status, pieces = int(out[marker + len(END) + 2:]), [out[:marker]]
                break
            if consume is not None and size >= CHUNK * 4 // 3:
                pieces = [consume("".join(pieces))]
                size = len(pieces[0])
    except WebSocketTimeoutException:
        status = "timed out"
    finally:
        ws.close()
    if status is None:
        status = "the stream ended before the command finished"
    if status != 0:
        tail = " | ".join("".join(err).strip().splitlines()[-5:]) or "no output"
        reason = status if isinstance(status, str) else "failed (exit %d)" % status
        raise SeedError("%s %s: %s" % (what, reason, tail))
    return "".join(pieces)


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
    deadline = time.monotonic() + timeout
    run(core, namespace, member, 'set -e; cd "$CLAIM"; rm -rf data.seeding seed.mbstream; : > seed.mbstream',
        deadline=deadline)
    sent = []

    def send(lines):
        """Decode whole base64 lines and append them to the member's copy, one exec per chunk."""
        data = base64.b64decode(lines)
        if data:
            run(core, namespace, member, 'head -c %d >> "$CLAIM/seed.mbstream"' % len(data), stdin=data,
                deadline=deadline)
            sent.append(len(data))

    def forward(text):
        cut = text.rindex("\n") + 1
        send(text[:cut])
        return text[cut:]

    send(run(core, namespace, donor, BACKUP, deadline=deadline, consume=forward))
    size = run(core, namespace, member, 'wc -c < "$CLAIM/seed.mbstream"', deadline=deadline).split()
    if not size or int(size[0]) != sum(sent):
        raise SeedError("the copy on %s holds %s bytes, %d were sent" % (member, size, sum(sent)))
    info = run(core, namespace, member, PREPARE, deadline=deadline).split()
    if len(info) < 3:
        raise SeedError("the copy in %s has no GTID position in its binlog info (%r)" % (member, " ".join(info)))
    return sum(sent), info[2]


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
        # The server stops; its container starts again and start-server.sh puts the copy in place. The exec
        # ends with the container, so its stream may close before it reports: that is the expected end.
        try:
            run(core, args.namespace, args.member, '"$DB_CLIENT" --defaults-file="$LOGIN_FILE" --execute=SHUTDOWN')
        except SeedError as exc:
            if "ended before the command finished" not in str(exc):
                raise
    except SeedError as exc:
        print("seeding %s from %s: %s" % (args.member, args.donor, exc), file=sys.stderr)
        return 1
    print(json.dumps({"donor": args.donor, "member": args.member, "bytes": size, "gtid_position": position,
                      "seconds": round(time.monotonic() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
