#!/usr/bin/env bash
# `make demo`: a 3-member primary/replica MariaDB on the local control plane, then its topology.
# Needs the venv and a running control plane (make does both first). In this sandbox the harness
# (tools/localkube/dbrunner.py), not a container, runs each mariadbd: KWOK's fake nodes run no
# containers, so the runner starts a real server at each Ready pod's IP with its data on the pod's
# volume. On a real cluster the same playbook runs the image in the pods.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
export ANSIBLE_COLLECTIONS_PATH=$PWD/.collections K8S_AUTH_KUBECONFIG=$PWD/.localkube/kubeconfig
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
ns=${DEMO_NAMESPACE:-demo}

python3 tools/localkube/dbrunner.py start
.venv/bin/python - "$ns" <<'PY'
import sys
from kubernetes import client, config
sys.path.insert(0, "tools/localkube")
from localkube import KWOK_NAMESPACE_ANNOTATIONS
api = client.CoreV1Api(config.new_client_from_config(config_file=".localkube/kubeconfig"))
if sys.argv[1] not in [n.metadata.name for n in api.list_namespace().items]:
    # KWOK nodes: the stand-in runner plays the container (see the top of this file).
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=sys.argv[1], annotations=dict(KWOK_NAMESPACE_ANNOTATIONS))))
PY

echo "== deploying 3 members in namespace $ns with playbooks/mysql_cluster.yml"
start=$SECONDS
.venv/bin/ansible-playbook -i localhost, -c local playbooks/mysql_cluster.yml \
  -e "mysql_cluster_namespace=$ns" -e mysql_cluster_sandbox_db=true \
  -e "ansible_python_interpreter=$PWD/.venv/bin/python" |
  sed -n -e '/"msg": \[/,/\]/{/"msg"\|\]/d;s/^ *"\(.*\)",\{0,1\}$/  \1/;p}' -e '/^localhost *:/p'
echo "== converged in $((SECONDS - start)) s"
echo
.venv/bin/python - "$ns" <<'PY'
import base64
import sys

import pymysql
from kubernetes import client, config

ns = sys.argv[1]
api = client.CoreV1Api(config.new_client_from_config(config_file=".localkube/kubeconfig"))
secret = api.read_namespaced_secret("mysql-credentials", ns).data
password = base64.b64decode(secret["root-password"]).decode()
pods = sorted(api.list_namespaced_pod(ns, label_selector="app.kubernetes.io/instance=mysql").items,
              key=lambda p: int(p.metadata.name.rsplit("-", 1)[1]))
rows = [("POD", "IP", "DNS NAME", "ROLE", "SERVER_ID", "IO", "SQL", "LAG", "GTID")]
for pod in pods:
    conn = pymysql.connect(host=pod.status.pod_ip, user="root", password=password, connect_timeout=5,
                           cursorclass=pymysql.cursors.DictCursor)
    with conn.cursor() as cur:
        cur.execute("SELECT @@server_id AS id, @@gtid_current_pos AS gtid, @@read_only AS ro")
        me = cur.fetchone()
        cur.execute("SHOW SLAVE STATUS")
        st = cur.fetchone()
    conn.close()
    role = "replica of %s" % st["Master_Host"] if st else "primary"
    rows.append((pod.metadata.name, pod.status.pod_ip,
                 "%s.%s.%s.svc.cluster.local" % (pod.metadata.name, pod.spec.subdomain, ns), role,
                 str(me["id"]), st["Slave_IO_Running"] if st else "-", st["Slave_SQL_Running"] if st else "-",
                 "%ss" % st["Seconds_Behind_Master"] if st else "-", me["gtid"] or "-"))
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for r in rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
PY
echo
echo "Re-run it (changed=0), scale it: ansible-playbook playbooks/mysql_cluster_scale.yml -e mysql_cluster_namespace=$ns -e replicas=5 -e mysql_cluster_sandbox_db=true"
echo "Remove it (data kept): ansible-playbook playbooks/mysql_cluster_teardown.yml -e mysql_cluster_namespace=$ns"
