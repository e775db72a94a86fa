# shellcheck shell=sh disable=SC3028  # HOSTNAME (the pod name) comes from the kubelet, not the shell
# Readiness probe of every mysql_cluster pod: the server answers SQL over TCP with the probe login.
# The recorded primary of a bootstrapped cluster must also hold data (a GTID position): a primary
# re-initialised on an empty volume stays out of the writer Service, so applications get an error,
# not an empty database, until a failover names a member that holds the data.
# A member initialised empty (init-datadir.sh's flag) stops being one once it holds what it received
# from the others, by replication or a copy: the flag goes, so a later restart as the recorded primary
# (after a switchover to it) starts writable.
set -eu

TOPOLOGY=${TOPOLOGY:-/mnt/topology}
CONF_DIR=${CONF_DIR:-/etc/statefuldb}
query() {
    "$DB_CLIENT" --defaults-file="$LOGIN_FILE" --protocol=tcp --host=127.0.0.1 --port="$DB_PORT" \
        --batch --skip-column-names --execute="SELECT $1"
}
position=$(query "$DB_GTID_POSITION")
if [ -e "$CONF_DIR/initialised-empty" ] && [ -n "$(query "$DB_REPLICATED_POSITION")" ]; then
    rm -f "$CONF_DIR/initialised-empty"
fi
recorded=$(cat "$TOPOLOGY/primary" 2>/dev/null || true)
bootstrapped=$(cat "$TOPOLOGY/bootstrapped" 2>/dev/null || true)
if [ "$recorded" = "$HOSTNAME" ] && [ "$bootstrapped" = true ] && [ -z "$position" ]; then
    echo "$HOSTNAME is the recorded primary but holds no data (its volume was initialised empty after the" \
         "cluster was bootstrapped): it stays read-only and out of the writer Service. Run the failover" \
         "playbook (playbooks/mysql_cluster_failover.yml) to promote the member that holds the data."
    exit 1
fi
