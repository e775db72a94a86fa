# shellcheck shell=sh disable=SC3028  # HOSTNAME (the pod name) comes from the kubelet, not the shell
# Main container of every mysql_cluster pod, at every start (also a restart of the container in the
# same pod): writes the server configuration of this member's recorded role, then becomes the server.
# The role follows the record, not the ordinal: the member named in the topology ConfigMap is the
# primary (ordinal 0 before the first run recorded one); every other member starts read-only. A
# member whose data directory was initialised empty in a cluster that was already bootstrapped
# (init-datadir.sh leaves $CONF_DIR/initialised-empty) starts read-only even when it is the recorded
# primary: an empty server never takes the writes of a cluster whose data is elsewhere.
set -eu

CONFIG_MAP=${CONFIG_MAP:-/mnt/config-map}
TOPOLOGY=${TOPOLOGY:-/mnt/topology}
CONF_DIR=${CONF_DIR:-/etc/statefuldb}
CLAIM=${CLAIM:-/var/lib/mysql}

# A copy prepared by the role (files/pod_seed.py, MariaDB) is put in place before the server starts. The
# data it replaces is kept aside unless it was initialised empty (it then holds only system tables).
if [ -d "$CLAIM/data.seeded" ]; then
    if [ -e "$CONF_DIR/initialised-empty" ]; then
        rm -rf "$CLAIM/data"
    elif [ -d "$CLAIM/data" ]; then
        aside="$CLAIM/data.before-seed-$(date +%Y%m%d%H%M%S)"
        mv "$CLAIM/data" "$aside"
        printf 'start-server: the data this member held before it was seeded is kept in %s\n' "$aside" >&2
    fi
    info=$(cat "$CLAIM/data.seeded/mariadb_backup_binlog_info" 2>/dev/null \
        || cat "$CLAIM/data.seeded/xtrabackup_binlog_info")
    # shellcheck disable=SC2086  # "file position gtid": split on blanks on purpose
    set -- $info
    printf '%s\n' "$3" > "$CLAIM/data.seeded/statefuldb-seed-position"
    mv "$CLAIM/data.seeded" "$CLAIM/data"
    rm -f "$CONF_DIR/initialised-empty"  # it holds the cluster's data now
fi
# Until its first binary log exists, a seeded member starts at the copy's GTID position: as if it had
# written those transactions itself (binlog state) and replicated them (slave position).
seed_sql=
if [ -s "$CLAIM/data/statefuldb-seed-position" ]; then
    if [ -e "$CLAIM/data/mysql-bin.index" ]; then
        rm -f "$CLAIM/data/statefuldb-seed-position"
    else
        seed_position=$(cat "$CLAIM/data/statefuldb-seed-position")
        printf "RESET MASTER;\nSET GLOBAL gtid_binlog_state = '%s';\nSET GLOBAL gtid_slave_pos = '%s';\n" \
            "$seed_position" "$seed_position" > "$CONF_DIR/seed.sql"
        seed_sql="init_file = $CONF_DIR/seed.sql"
        printf 'start-server: seeded from a copy at GTID position %s\n' "$seed_position" >&2
    fi
fi

recorded=$(cat "$TOPOLOGY/primary" 2>/dev/null || true)
[ -n "$recorded" ] || recorded=${HOSTNAME%-*}-0
if [ "$recorded" = "$HOSTNAME" ] && [ ! -e "$CONF_DIR/initialised-empty" ]; then
    role=primary
else
    role=replica
fi
server_id=$(cat "$CLAIM/statefuldb-server-id")
{
    cat "$CONFIG_MAP/$role.cnf"
    printf 'server_id = %d\n' "$server_id"
    [ -z "$seed_sql" ] || printf '%s\n' "$seed_sql"
} > "$CONF_DIR/server.cnf.tmp"
mv "$CONF_DIR/server.cnf.tmp" "$CONF_DIR/server.cnf"
printf 'start-server: %s as %s (recorded primary: %s), server_id %d\n' "$HOSTNAME" "$role" "$recorded" "$server_id" >&2
exec "$DB_SERVER" --defaults-file="$CONF_DIR/server.cnf"
