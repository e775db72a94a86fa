#!/usr/bin/env bash
# `make demo`: a 3-member primary/replica MariaDB 11.8 on the local cluster's real pods (`make demo
# FLAVOR=mysql`: MySQL 9.7), then its topology and what the cluster DNS answers inside a replica.
# Needs the venv and a running control plane with its real nodes and local images (make does both
# first). The same playbook runs any mariadb/mysql image on any cluster: only the image differs.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
export ANSIBLE_COLLECTIONS_PATH=$PWD/.collections K8S_AUTH_KUBECONFIG=$PWD/.localkube/kubeconfig
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
flavor=${FLAVOR:-mariadb}
case $flavor in
  mariadb) image=localhost/statefuldb/mariadb:11.8 ;;
  mysql) image=localhost/statefuldb/mysql:9.7 ;;
  *) echo "FLAVOR must be mariadb or mysql, not '$flavor'" >&2; exit 2 ;;
esac
ns=${DEMO_NAMESPACE:-demo-$flavor}
kubectl=kubectl
for candidate in "$HOME"/.cache/statefuldb-localkube/*/bin/kubectl; do
  [ -x "$candidate" ] && { kubectl=$candidate; break; }
done

.venv/bin/python - "$ns" <<'PY'
import sys
from kubernetes import client, config
api = client.CoreV1Api(config.new_client_from_config(config_file=".localkube/kubeconfig"))
if sys.argv[1] not in [n.metadata.name for n in api.list_namespace().items]:
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=sys.argv[1])))
PY

echo "== deploying 3 members of $image in namespace $ns with playbooks/mysql_cluster.yml"
start=$SECONDS
.venv/bin/ansible-playbook -i localhost, -c local playbooks/mysql_cluster.yml \
  -e "mysql_cluster_namespace=$ns" -e "mysql_cluster_flavor=$flavor" -e "mysql_cluster_image=$image" \
  -e "ansible_python_interpreter=$PWD/.venv/bin/python" |
  sed -n -e '/"msg": \[/,/\]/{/"msg"\|\]/d;s/^ *"\(.*\)",\{0,1\}$/  \1/;p}' -e '/^localhost *:/p'
echo "== converged in $((SECONDS - start)) s"
echo
.venv/bin/python - "$ns" "$flavor" <<'PY'
import base64
import sys

import pymysql
from kubernetes import client, config

ns, flavor = sys.argv[1], sys.argv[2]
api = client.CoreV1Api(config.new_client_from_config(config_file=".localkube/kubeconfig"))
secret = api.read_namespaced_secret("mysql-credentials", ns).data
password = base64.b64decode(secret["root-password"]).decode()
pods = sorted(api.list_namespaced_pod(ns, label_selector="app.kubernetes.io/instance=mysql").items,
              key=lambda p: int(p.metadata.name.rsplit("-", 1)[1]))
if flavor == "mariadb":
    status_sql, source, io, sql, lag, gtid = ("SHOW SLAVE STATUS", "Master_Host", "Slave_IO_Running",
                                              "Slave_SQL_Running", "Seconds_Behind_Master", "@@gtid_current_pos")
else:
    status_sql, source, io, sql, lag, gtid = ("SHOW REPLICA STATUS", "Source_Host", "Replica_IO_Running",
                                              "Replica_SQL_Running", "Seconds_Behind_Source", "@@gtid_executed")
rows = [("POD", "NODE", "IP", "DNS NAME", "ROLE", "SERVER_ID", "IO", "SQL", "LAG", "GTID")]
for pod in pods:
    conn = pymysql.connect(host=pod.status.pod_ip, user="root", password=password, connect_timeout=5,
                           cursorclass=pymysql.cursors.DictCursor)
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION() AS version, @@server_id AS id, %s AS gtid" % gtid)
        me = cur.fetchone()
        cur.execute(status_sql)
        st = cur.fetchone()
    conn.close()
    rows.append((pod.metadata.name, pod.spec.node_name, pod.status.pod_ip,
                 "%s.%s.%s.svc.cluster.local" % (pod.metadata.name, pod.spec.subdomain, ns),
                 "replica of %s" % st[source] if st else "primary", str(me["id"]),
                 st[io] if st else "-", st[sql] if st else "-", "%ss" % st[lag] if st else "-",
                 (me["gtid"] or "-").replace("\n", "")))
print("server: %s" % me["version"])
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for r in rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
PY
echo
name=mysql-primary.$ns.svc.cluster.local
echo "== nslookup $name (the writer Service: the recorded primary's pod), run inside the replica pod mysql-1 (an ephemeral container in its network namespace):"
"$kubectl" --kubeconfig .localkube/kubeconfig -n "$ns" debug mysql-1 -q -i --profile=general \
  --image=localhost/statefuldb/tools:1 --image-pull-policy=IfNotPresent -- nslookup "$name"
echo
echo "Re-run it (changed=0), scale it: ansible-playbook playbooks/mysql_cluster_scale.yml -e mysql_cluster_namespace=$ns -e mysql_cluster_flavor=$flavor -e mysql_cluster_image=$image -e replicas=5"
echo "Switch the primary over: ansible-playbook playbooks/mysql_cluster_switchover.yml -e mysql_cluster_namespace=$ns -e mysql_cluster_flavor=$flavor -e mysql_cluster_image=$image -e primary=mysql-2"
echo "Remove it (data kept): ansible-playbook playbooks/mysql_cluster_teardown.yml -e mysql_cluster_namespace=$ns"
