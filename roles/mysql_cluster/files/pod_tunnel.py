# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local TCP tunnels to pods through the API server's port-forward (mysql_cluster_connect=port_forward).

``start`` opens one listener per pod on 127.0.0.1 (a free port each), forks a detached process that
relays every accepted connection through ``pods/<name>/portforward`` (the kubernetes Python client,
so no kubectl is needed), prints ``{"pid": ..., "ports": {"<pod>": <local port>}}`` and returns.
The relay ends on ``stop``, on SIGTERM, or after ``--ttl`` seconds, so a play that dies never
leaves it running for long.
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time


SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def kubeconfig_files():
    """The kubeconfig files kubectl reads: every file in KUBECONFIG that exists, else ~/.kube/config."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] or ["~/.kube/config"]
    paths = []
    for path in (os.path.expanduser(p) for p in listed):
        if os.path.exists(path) and path not in paths:
            paths.append(path)
    return paths


def first_current_context(paths):
    """kubectl takes current-context from the first file that sets it (the kubernetes library, from the last)."""
    import yaml

    for path in paths:
        with open(path) as f:
            context = (yaml.safe_load(f) or {}).get("current-context")
        if context:
            return context
    return None


def load_client(args):
    """Credentials in kubectl's order, as the modules resolve them (plugins/module_utils/k8s/config.py).

    --kubeconfig / --context, then the files in KUBECONFIG (merged), then ~/.kube/config, and the
    in-cluster service account only when no kubeconfig gives a context.
    """
    from kubernetes import client, config

    if args.kubeconfig:
        return config.new_client_from_config(config_file=args.kubeconfig, context=args.context or None)
    files = kubeconfig_files()
    context = args.context or (first_current_context(files) if files else None)
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(SERVICE_ACCOUNT_TOKEN)
    if context or not in_cluster:
        return config.new_client_from_config(config_file=os.pathsep.join(files) or None, context=context)
    config.load_incluster_config()
    return client.ApiClient()


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def open_stream(core, namespace, pod, port, attempts=3, first_byte_timeout=30):
    """A port-forward stream to the pod and the server's first bytes.

    A MySQL server speaks first. Through the API server and a real kubelet, a fresh stream of the
    Python client now and then closes before delivering any byte (1 in 10 here); nothing has been
    sent on it then, so another stream is safe to open. Returns (portforward, socket, first bytes).
    """
    from kubernetes.stream import portforward

    for attempt in range(attempts):
        pf = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
        remote = pf.socket(port)
        remote.settimeout(first_byte_timeout)
        try:
            first = remote.recv(65536)
        except OSError:
            first = b""
        if first:
            remote.settimeout(None)
            return pf, remote, first
        remote.close()
        pf.close()
    raise OSError("the port-forward stream closed before the server answered (%d attempts)" % attempts)


def serve_connection(core, namespace, pod, port, conn):
    try:
        pf, remote, first = open_stream(core, namespace, pod, port)
        conn.sendall(first)
    except Exception as exc:  # the client sees a closed connection, like a refused one
        print("port-forward to %s/%s:%s failed: %s" % (namespace, pod, port, exc), file=sys.stderr, flush=True)
        conn.close()
        return
    back = threading.Thread(target=relay, args=(remote, conn), daemon=True)
    back.start()
    relay(conn, remote)
    back.join(5)
    conn.close()
    remote.close()
    pf.close()


def accept_loop(core, namespace, pod, port, listener):
    while True:
        conn = listener.accept()[0]
        threading.Thread(target=serve_connection, args=(core, namespace, pod, port, conn), daemon=True).start()


def cmd_start(args):
    listeners = {}
    for pod in args.pods.split(","):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(32)
        listeners[pod] = sock
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        answer = os.read(read_end, 4096).decode()  # "ok", or why the relay could not start
        if answer != "ok":
            print("cannot open port-forward tunnels: %s" % (answer or "the relay exited"), file=sys.stderr)
            return 1
        print(json.dumps({"pid": pid, "ports": {p: s.getsockname()[1] for p, s in listeners.items()}}))
        return 0
    os.setsid()
    os.close(read_end)
    devnull = os.open(os.devnull, os.O_RDWR)
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if args.log else devnull
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # Credentials are loaded here, in the relay: the kubernetes client writes certificates to
    # temporary files that the process which created them deletes when it exits.
    try:
        from kubernetes import client

        core = client.CoreV1Api(load_client(args))
        core.read_namespaced_pod(args.pods.split(",")[0], args.namespace)
    except Exception as exc:  # reported to the parent, which fails with it
        status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
        message = "%s %s" % (status, reason) if status else str(exc)
        os.write(write_end, message.encode()[:4000] or b"error")
        os._exit(1)
    for pod, sock in listeners.items():
        threading.Thread(target=accept_loop, args=(core, args.namespace, pod, args.port, sock), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    os.write(write_end, b"ok")
    os.close(write_end)
    time.sleep(args.ttl)
    os._exit(0)


def cmd_stop(args):
    try:
        with open("/proc/%d/cmdline" % args.pid, "rb") as f:
            if b"pod_tunnel" not in f.read():
                return 0
        os.kill(args.pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start")
    start.add_argument("--namespace", required=True)
    start.add_argument("--pods", required=True, help="comma-separated pod names")
    start.add_argument("--port", type=int, default=3306)
    start.add_argument("--kubeconfig", default=os.environ.get("K8S_AUTH_KUBECONFIG", ""))
    start.add_argument("--context", default=os.environ.get("K8S_AUTH_CONTEXT", ""))
    start.add_argument("--ttl", type=int, default=1800)
    start.add_argument("--log", default="", help="file for the relay's errors (default: discard)")
    stop = sub.add_parser("stop")
    stop.add_argument("--pid", type=int, required=True)
    args = parser.parse_args()
    return cmd_start(args) if args.command == "start" else cmd_stop(args)


if __name__ == "__main__":
    sys.exit(main())
