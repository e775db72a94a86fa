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
} > "$CONF_DIR/server.cnf.tmp"
mv "$CONF_DIR/server.cnf.tmp" "$CONF_DIR/server.cnf"
printf 'start-server: %s as %s (recorded primary: %s), server_id %d\n' "$HOSTNAME" "$role" "$recorded" "$server_id" >&2
exec "$DB_SERVER" --defaults-file="$CONF_DIR/server.cnf"
