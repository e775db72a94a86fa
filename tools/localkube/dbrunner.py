"""Sandbox database runner: a real MariaDB server behind each Ready pod that asks for one.

In the sandbox THE HARNESS, NOT A CONTAINER, RUNS THE DATABASE. KWOK marks pods Running/Ready
without running their containers, so this runner plays the part of the kubelet for one kind of pod:
for every Ready pod (any namespace) labelled ``statefuldb.io/sandbox-db: mariadb`` it starts
``/usr/sbin/mariadbd`` inside the pod network namespace (tools/localkube/podnet.py), bound to the
pod's IP, with its data directory on the pod's PersistentVolume (PVC -> PV -> hostPath under
.localkube/volumes/). It stops the server (and removes the IP) when the pod goes away or stops being
Ready, and restarts a server that exits while its pod is Ready (restartPolicy: Always).

What it takes from the pod, as a container would get it:
  * the root password: env MARIADB_ROOT_PASSWORD / MYSQL_ROOT_PASSWORD (value or secretKeyRef,
    the Secret read through the API), used once, when the data directory is initialised;
  * the server configuration: a ConfigMap volume of the pod with ``primary.cnf`` (ordinal 0) or
    ``replica.cnf`` (other ordinals) and ``server-id-base`` (server_id = base + ordinal), exactly
    what the pod's init container would render; without one, a generic replication-ready
    configuration and server_id = 1000 + ordinal;
  * the port: the container port named ``mysql`` (default 3306).

It also keeps /etc/netns/<netns>/hosts current (written in place: ``ip netns exec`` bind-mounts
that file) with ``{pod}.{subdomain}.{namespace}.svc.cluster.local`` and ``{pod}.{subdomain}`` names.
Cluster DNS resolves the short name ``{name}-0.{service}`` through the pod's namespace search
domain; one shared hosts file cannot (two namespaces may both have ``mysql-0.mysql``), so each
server also sees, bind-mounted over its /etc/hosts, a hosts file for its own namespace.

Usage: dbrunner.py start|stop|status|run   (start daemonizes; pid file and log under .localkube/)
"""
import argparse
import base64
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STATE = os.path.join(REPO, ".localkube")
RUNNER_DIR = os.path.join(STATE, "dbrunner")
PID_FILE = os.path.join(STATE, "dbrunner.pid")
LOG_FILE = os.path.join(STATE, "dbrunner.log")
STATUS_FILE = os.path.join(RUNNER_DIR, "status.json")
TEMPLATE_DIR = os.path.join(RUNNER_DIR, "template-datadir")
INIT_PENDING = ".statefuldb-first-start-pending"
DEFAULT_KUBECONFIG = os.path.join(STATE, "kubeconfig")
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")

LABEL_KEY = "statefuldb.io/sandbox-db"
LABEL_VALUE = "mariadb"
CLUSTER_DOMAIN = os.environ.get("DBRUNNER_CLUSTER_DOMAIN", "cluster.local")
MARIADBD = os.environ.get("DBRUNNER_MARIADBD", "/usr/sbin/mariadbd")
INSTALL_DB = os.environ.get("DBRUNNER_INSTALL_DB", "mariadb-install-db")
DATA_MOUNT = "/var/lib/mysql"
HOSTS_BEGIN = "# BEGIN statefuldb dbrunner (managed, rewritten on every pod change)"
HOSTS_END = "# END statefuldb dbrunner"
PASSWORD_ENV = ("MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD")

# Generic replication-ready settings; the pod's ConfigMap (rendered after these) may override them.
GENERIC_CNF = """\
log_bin = mysql-bin
binlog_format = ROW
log_slave_updates = ON
gtid_strict_mode = ON
skip_name_resolve = ON
# Small footprint: several servers share a 2-core sandbox.
innodb_buffer_pool_size = 32M
innodb_log_file_size = 8M
performance_schema = OFF
max_connections = 60
"""

sys.path.insert(0, HERE)
log = logging.getLogger("dbrunner")


def _ensure_kubernetes_client():
    """Re-run under the project's virtualenv when the system python lacks the kubernetes client."""
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        if os.path.exists(VENV_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(VENV_PYTHON):
            os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
        sys.exit("dbrunner: the kubernetes Python client is missing; run `make venv` first")


# ---------------------------------------------------------------- pod facts (pure functions)

def pod_key(pod):
    return "%s/%s" % (pod.metadata.namespace, pod.metadata.name)


def pod_is_ready(pod):
    if pod.metadata.deletion_timestamp is not None or not pod.status or not pod.status.pod_ip:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def pod_ordinal(pod):
    labels = pod.metadata.labels or {}
    if "apps.kubernetes.io/pod-index" in labels:
        return int(labels["apps.kubernetes.io/pod-index"])
    match = re.search(r"-(\d+)$", pod.metadata.name)
    return int(match.group(1)) if match else 0


def db_container(pod):
    containers = pod.spec.containers or []
    for c in containers:
        if any(p.name == "mysql" or p.container_port == 3306 for p in (c.ports or [])):
            return c
    return containers[0] if containers else None


def db_port(container):
    for p in (container.ports or []) if container else []:
        if p.name == "mysql":
            return p.container_port
    return 3306


def dns_names(pod):
    """The names cluster DNS gives a pod of a StatefulSet behind a headless Service."""
    sub = pod.spec.subdomain
    host = pod.spec.hostname or pod.metadata.name
    if not sub:
        return []
    ns = pod.metadata.namespace
    return ["%s.%s.%s.svc.%s" % (host, sub, ns, CLUSTER_DOMAIN), "%s.%s.%s.svc" % (host, sub, ns),
            "%s.%s.%s" % (host, sub, ns), "%s.%s" % (host, sub)]


def hosts_entries(pods, namespace=None):
    """(ip, names) per pod: every name for pods of `namespace`, fully qualified names for others."""
    entries = []
    for pod in pods:
        names = dns_names(pod)
        if not names:
            continue
        if namespace is not None and pod.metadata.namespace != namespace:
            names = names[:1]
        entries.append((pod.status.pod_ip, names))
    return entries


def render_hosts(existing, entries):
    """Replace our managed block in a hosts file, keep every other line."""
    kept, inside = [], False
    for line in existing.splitlines():
        if line.strip() == HOSTS_BEGIN:
            inside = True
            continue
        if line.strip() == HOSTS_END:
            inside = False
            continue
        if not inside:
            kept.append(line)
    if not any(re.match(r"^\s*127\.0\.0\.1\s", line) for line in kept):
        kept.insert(0, "127.0.0.1\tlocalhost")
    block = [HOSTS_BEGIN] + ["%s\t%s" % (ip, " ".join(names)) for ip, names in sorted(entries)] + [HOSTS_END]
    return "\n".join(kept + block) + "\n"


def namespace_hosts_path(namespace):
    return os.path.join(RUNNER_DIR, "hosts", namespace)


def write_in_place(path, render):
    """Rewrite a file without replacing its inode (bind mounts keep pointing at it)."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    with open(path, "r+") as f:
        content = render(f.read())
        f.seek(0)
        f.write(content)
        f.truncate()


def sql_quote(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


TEMPLATE_SQL = """\
DELETE FROM mysql.global_priv WHERE User='root' AND Host<>'localhost';
DELETE FROM mysql.global_priv WHERE User='';
"""


def first_start_sql(root_password):
    """Statements for --init-file on a new data directory (idempotent: a crashed first start
    runs them again)."""
    lines = ["SET SESSION sql_log_bin = 0;"]
    if root_password:
        pw = sql_quote(root_password)
        lines += ["ALTER USER 'root'@'localhost' IDENTIFIED BY %s;" % pw,
                  "CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY %s;" % pw,
                  "ALTER USER 'root'@'%%' IDENTIFIED BY %s;" % pw]
    else:
        lines += ["CREATE USER IF NOT EXISTS 'root'@'%';"]
    lines += ["GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"]
    return "\n".join(lines) + "\n"


def ensure_template():
    """A pristine data directory made once with mariadb-install-db (no root password yet)."""
    if os.path.isdir(os.path.join(TEMPLATE_DIR, "mysql")):
        return
    tmp = TEMPLATE_DIR + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    extra = os.path.join(RUNNER_DIR, "template.sql")
    with open(extra, "w") as f:
        f.write(TEMPLATE_SQL)
    proc = subprocess.run(
        [INSTALL_DB, "--no-defaults", "--datadir=" + tmp, "--user=root",
         "--auth-root-authentication-method=normal", "--skip-test-db", "--extra-file=" + extra,
         "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"],
        capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError("mariadb-install-db failed: %s" % (proc.stdout + proc.stderr)[-1500:])
    os.rename(tmp, TEMPLATE_DIR)


# ---------------------------------------------------------------- the API side

class Cluster:
    """The few API reads a kubelet would do for a pod: its Secret, ConfigMap, PVC and PV."""

    def __init__(self, api_client):
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)

    def root_password(self, pod, container):
        env = {e.name: e for e in (container.env or [])} if container else {}
        for name in PASSWORD_ENV:
            var = env.get(name)
            if var is None:
                continue
            if var.value is not None:
                return var.value
            ref = var.value_from.secret_key_ref if var.value_from else None
            if ref is not None:
                secret = self.core.read_namespaced_secret(ref.name, pod.metadata.namespace)
                raw = (secret.data or {}).get(ref.key)
                if raw is None:
                    raise RuntimeError("Secret %s has no key %s" % (ref.name, ref.key))
                return base64.b64decode(raw).decode()
        for source in (container.env_from or []) if container else []:
            if source.secret_ref is not None:
                secret = self.core.read_namespaced_secret(source.secret_ref.name, pod.metadata.namespace)
                for name in PASSWORD_ENV:
                    if name in (secret.data or {}):
                        return base64.b64decode(secret.data[name]).decode()
        return None

    def server_config(self, pod):
        """(cnf text, server-id base) from the pod's ConfigMap volume, or (None, None)."""
        for vol in pod.spec.volumes or []:
            if vol.config_map is None:
                continue
            cm = self.core.read_namespaced_config_map(vol.config_map.name, pod.metadata.namespace)
            data = cm.data or {}
            if "primary.cnf" in data or "replica.cnf" in data:
                key = "primary.cnf" if pod_ordinal(pod) == 0 else "replica.cnf"
                base = data.get("server-id-base")
                return data.get(key, ""), int(base) if base and base.strip().isdigit() else None
        return None, None

    def data_dir(self, pod, container):
        """The host directory behind the volume the database container mounts at /var/lib/mysql."""
        claims = {v.name: v.persistent_volume_claim.claim_name
                  for v in (pod.spec.volumes or []) if v.persistent_volume_claim is not None}
        if not claims:
            raise RuntimeError("pod has no PersistentVolumeClaim volume for %s" % DATA_MOUNT)
        volume, sub_path = None, ""
        for m in (container.volume_mounts or []) if container else []:
            if m.mount_path.rstrip("/") == DATA_MOUNT and m.name in claims:
                volume, sub_path = m.name, m.sub_path or ""
        volume = volume or sorted(claims)[0]
        pvc = self.core.read_namespaced_persistent_volume_claim(claims[volume], pod.metadata.namespace)
        if not pvc.spec.volume_name:
            raise RuntimeError("PVC %s is not bound yet" % claims[volume])
        pv = self.core.read_persistent_volume(pvc.spec.volume_name)
        source = pv.spec.host_path or pv.spec.local
        if source is None:
            raise RuntimeError("PV %s has no hostPath/local path" % pv.metadata.name)
        return os.path.join(source.path, sub_path) if sub_path else source.path, pvc.metadata.uid


# ---------------------------------------------------------------- one server

class Server:
    """One mariadbd for one pod incarnation (pod UID)."""

    def __init__(self, pod, cluster, podnet):
        self.key = pod_key(pod)
        self.uid = pod.metadata.uid
        self.ip = pod.status.pod_ip
        self.ordinal = pod_ordinal(pod)
        self.names = dns_names(pod)
        self.container = db_container(pod)
        self.port = db_port(self.container)
        self.cluster = cluster
        self.podnet = podnet
        self.pod = pod
        self.dir = os.path.join(RUNNER_DIR, "pods", "%s_%s" % (pod.metadata.namespace, pod.metadata.name))
        self.hosts_file = namespace_hosts_path(pod.metadata.namespace)
        self.proc = None
        self.restarts = 0
        self.next_start = 0.0
        self.datadir = None
        self.error = None
        self.log_offset = 0
        self.started_at = 0.0

    @property
    def cnf_path(self):
        return os.path.join(self.dir, "my.cnf")

    def write_config(self):
        cm_cnf, base = self.cluster.server_config(self.pod)
        server_id = (base if base is not None else 1000) + self.ordinal
        parts = ["# Written by tools/localkube/dbrunner.py for pod %s (sandbox: the harness runs the"
                 " database, not a container)." % self.key,
                 "[mysqld]", GENERIC_CNF]
        if cm_cnf:
            parts += ["# --- from the pod's ConfigMap (%s.cnf) ---" % ("primary" if self.ordinal == 0 else "replica"),
                      "[mysqld]", cm_cnf.strip(), ""]
        # What a container gets from its pod and volumes; always last so nothing overrides it.
        parts += ["# --- pod identity, address and volumes ---", "[mysqld]",
                  "server_id = %d" % server_id,
                  "datadir = %s" % self.datadir,
                  "bind_address = %s" % self.ip,
                  "port = %d" % self.port,
                  "socket = %s" % os.path.join(self.dir, "mysqld.sock"),
                  "pid_file = %s" % os.path.join(self.dir, "mysqld.pid"),
                  "log_error = %s" % os.path.join(self.dir, "error.log"),
                  "report_host = %s" % (self.names[-1] if self.names else self.ip), ""]
        os.makedirs(self.dir, exist_ok=True)
        with open(self.cnf_path, "w") as f:
            f.write("\n".join(parts))
        return server_id

    def initialise(self):
        """A new data directory: a copy of the runner's pristine one (mariadb-install-db once per
        runner state, not once per pod: it costs seconds), then the first start sets the root password."""
        ensure_template()
        log.info("%s: initialising data directory %s", self.key, self.datadir)
        shutil.copytree(TEMPLATE_DIR, self.datadir, dirs_exist_ok=True)
        open(os.path.join(self.datadir, INIT_PENDING), "w").close()

    def first_start_file(self):
        """What the image's entrypoint does on a new data directory: the root password from the
        pod's env/Secret, root@'%'; kept out of the binary log so replicas see no errant GTIDs."""
        password = self.cluster.root_password(self.pod, self.container)
        path = os.path.join(self.dir, "first-start.sql")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(first_start_sql(password))
        return path

    def finish_first_start(self):
        """Once the server says it is ready, the init file has run: do not run it again."""
        pending = os.path.join(self.datadir or "", INIT_PENDING)
        if not self.datadir or not os.path.exists(pending):
            return
        try:
            with open(os.path.join(self.dir, "error.log"), "rb") as f:
                f.seek(self.log_offset)
                ready = b"ready for connections" in f.read()
        except OSError:
            return
        if ready:
            os.unlink(pending)
            sql_file = os.path.join(self.dir, "first-start.sql")
            if os.path.exists(sql_file):
                os.unlink(sql_file)

    def start(self):
        self.error = None
        try:
            self.datadir, unused = self.cluster.data_dir(self.pod, self.container)
            os.makedirs(self.datadir, exist_ok=True)
            server_id = self.write_config()
            if not os.path.isdir(os.path.join(self.datadir, "mysql")):
                self.initialise()
            extra = []
            if os.path.exists(os.path.join(self.datadir, INIT_PENDING)):
                extra.append("--init-file=" + self.first_start_file())
            try:
                self.log_offset = os.path.getsize(os.path.join(self.dir, "error.log"))
            except OSError:
                self.log_offset = 0
            self.podnet.add_pod_ip(self.ip)
            out = open(os.path.join(self.dir, "stdout.log"), "ab")
            # `ip netns exec` gives the child a private mount namespace: bind the namespace's hosts
            # file over /etc/hosts there, so short names resolve as through the search domain.
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.podnet.NETNS, "sh", "-c",
                 'mount --bind "$0" /etc/hosts && exec "$@"', self.hosts_file,
                 MARIADBD, "--defaults-file=" + self.cnf_path, "--user=root"] + extra,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            out.close()
            self.started_at = time.monotonic()
            log.info("%s: mariadbd pid %d at %s:%d (server_id %d, datadir %s)",
                     self.key, self.proc.pid, self.ip, self.port, server_id, self.datadir)
        except Exception as exc:  # reported in status and retried with back-off, like a kubelet
            self.error = str(exc)
            self.proc = None
            self.schedule_retry()
            log.warning("%s: cannot start: %s", self.key, exc)

    def schedule_retry(self):
        self.restarts += 1
        self.next_start = time.monotonic() + min(2 ** min(self.restarts, 4), 15)

    def exited(self):
        return self.proc is not None and self.proc.poll() is not None

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            log.info("%s: stopping mariadbd pid %d", self.key, self.proc.pid)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def status(self):
        state = "running" if self.proc is not None and self.proc.poll() is None else (
            "error" if self.error else "stopped")
        return {"pod": self.key, "uid": self.uid, "ip": self.ip, "port": self.port,
                "pid": self.proc.pid if self.proc is not None and self.proc.poll() is None else None,
                "state": state, "restarts": self.restarts, "error": self.error,
                "datadir": self.datadir, "dns_names": self.names, "config": self.cnf_path,
                "error_log": os.path.join(self.dir, "error.log")}


# ---------------------------------------------------------------- the runner loop

class Runner:
    def __init__(self, api_client, podnet):
        self.cluster = Cluster(api_client)
        self.core = self.cluster.core
        self.podnet = podnet
        self.pods = {}      # key -> Ready pod we want a server for
        self.servers = {}   # key -> Server
        self.duplicates = {}  # key -> why no server runs for this Ready pod
        self.events = queue.Queue()
        self.stopping = threading.Event()
        self.hosts_path = os.path.join("/etc/netns", podnet.NETNS, "hosts")

    # --- hosts / resolv.conf inside the pod network namespace
    def prepare_netns_files(self):
        os.makedirs(os.path.dirname(self.hosts_path), exist_ok=True)
        if not os.path.exists(self.hosts_path):
            with open(self.hosts_path, "w") as f:
                f.write("127.0.0.1\tlocalhost\n")
        resolv = os.path.join(os.path.dirname(self.hosts_path), "resolv.conf")
        if not os.path.exists(resolv):
            # Names not in hosts must fail fast inside the sandbox, never reach an outside resolver.
            with open(resolv, "w") as f:
                f.write("# statefuldb sandbox: no DNS server; names come from hosts\nnameserver 127.0.0.1\n"
                        "options timeout:1 attempts:1\n")

    def write_hosts(self):
        pods = list(self.pods.values())
        # In place: `ip netns exec` (and each server's own bind mount) point at these inodes.
        write_in_place(self.hosts_path, lambda old: render_hosts(old, hosts_entries(pods)))
        namespaces = {p.metadata.namespace for p in pods} | {s.key.split("/")[0] for s in self.servers.values()}
        for ns in namespaces:
            write_in_place(namespace_hosts_path(ns), lambda old, ns=ns: render_hosts(old, hosts_entries(pods, ns)))

    def write_status(self):
        data = {"pid": os.getpid(), "updated": time.time(),
                "servers": [s.status() for s in sorted(self.servers.values(), key=lambda s: s.key)]
                + [{"pod": key, "ip": self.pods[key].status.pod_ip, "port": None, "pid": None, "state": "error",
                    "restarts": 0, "error": msg} for key, msg in sorted(self.duplicates.items()) if key in self.pods]}
        tmp = STATUS_FILE + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, STATUS_FILE)

    # --- watching
    def watch_pods(self):
        from kubernetes import watch
        from kubernetes.client.rest import ApiException

        selector = "%s=%s" % (LABEL_KEY, LABEL_VALUE)
        while not self.stopping.is_set():
            try:
                listed = self.core.list_pod_for_all_namespaces(label_selector=selector)
                self.events.put(("SYNC", listed.items))
                rv = listed.metadata.resource_version
                w = watch.Watch()
                for ev in w.stream(self.core.list_pod_for_all_namespaces, label_selector=selector,
                                   resource_version=rv, timeout_seconds=60, allow_watch_bookmarks=True):
                    if self.stopping.is_set():
                        w.stop()
                        break
                    if ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self.events.put((ev["type"], ev["object"]))
            except ApiException as exc:
                if exc.status != 410:
                    log.warning("watch failed (%s); listing again in 2 s", exc.reason)
                    self.stopping.wait(2)
            except Exception as exc:  # control plane restarting: keep trying, like a kubelet
                log.warning("watch failed (%s); listing again in 2 s", exc)
                self.stopping.wait(2)

    def apply_event(self, kind, obj):
        if kind == "SYNC":
            self.pods = {pod_key(p): p for p in obj if pod_is_ready(p)}
        elif kind == "DELETED" or not pod_is_ready(obj):
            self.pods.pop(pod_key(obj), None)
        else:
            self.pods[pod_key(obj)] = obj

    # --- reconciling
    def reconcile(self):
        changed = False
        for key, server in list(self.servers.items()):
            pod = self.pods.get(key)
            if pod is None or pod.metadata.uid != server.uid or pod.status.pod_ip != server.ip:
                server.stop()
                if server.ip not in {p.status.pod_ip for p in self.pods.values()}:
                    self.podnet.remove_pod_ip(server.ip)
                del self.servers[key]
                changed = True
        if changed or set(self.pods) - set(self.servers):
            self.write_hosts()  # before any start: a new replica must resolve its source at once
        for key, pod in self.pods.items():
            server = self.servers.get(key)
            holder = next((s for s in self.servers.values() if s.ip == pod.status.pod_ip and s.key != key), None)
            if server is None and holder is not None:
                # Two pods with one IP (the pod IP allocator handed it out twice): only one server
                # can bind it. Say so instead of crash-looping; start when the IP is free.
                message = "pod IP %s is also the IP of %s; not starting a second server on it" % (
                    pod.status.pod_ip, holder.key)
                if self.duplicates.get(key) != message:
                    log.error("%s: %s", key, message)
                    self.duplicates[key] = message
                    changed = True
                continue
            self.duplicates.pop(key, None)
            if server is None:
                server = self.servers[key] = Server(pod, self.cluster, self.podnet)
                server.start()
                changed = True
            else:
                server.pod = pod
                server.finish_first_start()
                if server.exited():
                    code = server.proc.returncode
                    server.proc = None
                    if time.monotonic() - server.started_at > 60:
                        server.restarts = 0  # ran fine for a while: back-off starts over, as in a kubelet
                    server.schedule_retry()
                    server.error = "mariadbd exited with %s; restarting (like restartPolicy: Always)" % code
                    log.warning("%s: %s", key, server.error)
                    changed = True
                if server.proc is None and time.monotonic() >= server.next_start:
                    server.start()
                    changed = True
        if changed:
            self.write_status()

    def run(self):
        self.prepare_netns_files()
        self.adopt_leftovers()
        try:
            ensure_template()  # now, so the first pod does not wait for mariadb-install-db
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            log.warning("cannot prepare the template data directory yet: %s", exc)
        self.write_status()
        threading.Thread(target=self.watch_pods, daemon=True).start()
        while not self.stopping.is_set():
            try:
                kind, obj = self.events.get(timeout=1.0)
                self.apply_event(kind, obj)
                while True:  # coalesce a burst of events into one reconcile
                    kind, obj = self.events.get_nowait()
                    self.apply_event(kind, obj)
            except queue.Empty:
                pass
            try:
                self.reconcile()
            except OSError as exc:  # e.g. the state folder removed under us: log, keep serving
                log.warning("reconcile failed: %s", exc)
                os.makedirs(RUNNER_DIR, exist_ok=True)
                self.stopping.wait(1)
        self.shutdown()

    def shutdown(self):
        log.info("stopping %d server(s)", len(self.servers))
        for server in list(self.servers.values()):
            server.stop()
            self.podnet.remove_pod_ip(server.ip)
        self.servers.clear()
        self.pods.clear()
        self.write_hosts()
        self.write_status()

    def adopt_leftovers(self):
        """A runner that died hard may have left servers behind: stop them, start clean."""
        pods_dir = os.path.join(RUNNER_DIR, "pods")
        for name in os.listdir(pods_dir) if os.path.isdir(pods_dir) else []:
            pid_file = os.path.join(pods_dir, name, "mysqld.pid")
            try:
                with open(pid_file) as f:
                    pid = int(f.read().strip())
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"mariadbd" not in f.read():
                        continue
            except (OSError, ValueError):
                continue
            log.info("stopping leftover mariadbd pid %d (%s)", pid, name)
            os.kill(pid, signal.SIGTERM)
            for unused in range(300):
                if not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.1)


# ---------------------------------------------------------------- daemon plumbing

def read_pid():
    try:
        with open(PID_FILE) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return pid if b"dbrunner" in f.read() else None
    except (OSError, ValueError):
        return None


def cmd_run(args):
    _ensure_kubernetes_client()
    from kubernetes import config

    import podnet

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    os.makedirs(RUNNER_DIR, exist_ok=True)
    for tool in (MARIADBD,):
        if not os.path.exists(tool):
            sys.exit("dbrunner: %s not found; install Debian's mariadb-server (make system-deps)" % tool)
    if shutil.which(INSTALL_DB) is None:
        sys.exit("dbrunner: %s not found; install Debian's mariadb-server" % INSTALL_DB)
    runner = Runner(config.new_client_from_config(config_file=args.kubeconfig), podnet)

    def _stop(signum, frame):
        runner.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("dbrunner %d watching pods labelled %s=%s", os.getpid(), LABEL_KEY, LABEL_VALUE)
    runner.run()
    return 0


def cmd_start(args):
    pid = read_pid()
    if pid:
        print("dbrunner: already running (pid %d)" % pid)
        return 0
    if not os.path.exists(args.kubeconfig):
        print("dbrunner: no kubeconfig at %s; start the control plane first (make cluster)" % args.kubeconfig,
              file=sys.stderr)
        return 1
    os.makedirs(RUNNER_DIR, exist_ok=True)
    python = VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable
    with open(LOG_FILE, "ab") as out:
        proc = subprocess.Popen([python, os.path.abspath(__file__), "run", "--kubeconfig", args.kubeconfig],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=REPO)
    with open(PID_FILE, "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # up once it has written its first status
        if proc.poll() is not None:
            print("dbrunner: exited at start (rc %s); see %s" % (proc.returncode, LOG_FILE), file=sys.stderr)
            return 1
        try:
            with open(STATUS_FILE) as f:
                if json.load(f).get("pid") == proc.pid:
                    print("dbrunner: started (pid %d, log %s)" % (proc.pid, os.path.relpath(LOG_FILE, REPO)))
                    return 0
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    print("dbrunner: started (pid %d) but not answering yet; see %s" % (proc.pid, LOG_FILE))
    return 0


def cmd_stop(args):
    pid = read_pid()
    if not pid:
        print("dbrunner: not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90  # it stops every server cleanly first
    while time.monotonic() < deadline and os.path.exists("/proc/%d" % pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    if os.path.exists("/proc/%d" % pid):
        print("dbrunner: pid %d did not stop within 90 s" % pid, file=sys.stderr)
        return 1
    os.unlink(PID_FILE)
    print("dbrunner: stopped")
    return 0


def cmd_status(args):
    pid = read_pid()
    servers = []
    try:
        with open(STATUS_FILE) as f:
            data = json.load(f)
        if pid and data.get("pid") == pid:
            servers = data.get("servers", [])
    except (OSError, ValueError):
        pass
    if args.json:
        print(json.dumps({"running": bool(pid), "pid": pid, "servers": servers}, indent=1))
        return 0 if pid else 3
    if not pid:
        print("dbrunner: not running")
        return 3
    print("dbrunner: running (pid %d), %d server(s); log %s" % (pid, len(servers), os.path.relpath(LOG_FILE, REPO)))
    for s in servers:
        print("  %-32s %-15s %-8s pid=%-7s restarts=%d %s" % (
            s["pod"], "%s:%s" % (s["ip"], s["port"]), s["state"], s["pid"], s["restarts"], s["error"] or ""))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("command", choices=["start", "stop", "status", "run"])
    parser.add_argument("--kubeconfig", default=os.environ.get("DBRUNNER_KUBECONFIG", DEFAULT_KUBECONFIG))
    parser.add_argument("--json", action="store_true", help="status as JSON")
    args = parser.parse_args(argv)
    return {"start": cmd_start, "stop": cmd_stop, "status": cmd_status, "run": cmd_run}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
