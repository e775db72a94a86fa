# shellcheck shell=sh disable=SC3028  # HOSTNAME (the pod name) comes from the kubelet, not the shell
# Init container of every mysql_cluster pod (POSIX sh; runs as root in the server's own image).
# It replaces the image's entrypoint script, so the same pod spec starts the official mariadb and
# mysql images and the locally built Debian ones:
#   1. writes the client login (root password from the Secret) for the probes and `kubectl exec`,
#      on a memory-backed volume, mode 0600, never on a command line;
#   2. hands the data directory to the image's `mysql` user (by name: its uid differs by image);
#   3. keeps this member's server_id on its claim (statefuldb-server-id): base + ordinal for the
#      members of the first deploy; a member initialised after the cluster was bootstrapped (a new
#      or lost volume) gets one never used before, so its GTIDs can never be taken for another's;
#   4. only when the claim holds no initialised data directory: initialises one beside it, starts
#      the server there without networking, sets the root password (root@localhost and root@'%')
#      without writing the binary log, stops it and renames the directory into place. The rename
#      is the commit point: a pod killed half-way starts over on its next start, and a restarted
#      pod with data starts as it was. In a bootstrapped cluster it also leaves
#      $CONF_DIR/initialised-empty, so start-server.sh starts this member read-only.
# The main container's start-server.sh writes the server configuration of the member's recorded
# role at every start.
# Flavor specifics come from the environment (the role's flavor table):
#   DB_FLAVOR (mariadb|mysql), DB_SERVER, DB_CLIENT, DB_INSTALL (initialise "$DB_INSTALL --datadir=DIR"),
#   DB_BOOT_OPTIONS (extra options of the password-setting start), ROOT_PASSWORD.
set -eu

CONFIG_MAP=${CONFIG_MAP:-/mnt/config-map}
TOPOLOGY=${TOPOLOGY:-/mnt/topology}
CONF_DIR=${CONF_DIR:-/etc/statefuldb}
LOGIN_DIR=${LOGIN_DIR:-/run/statefuldb}
RUN_DIR=${RUN_DIR:-/run/mysqld}
CLAIM=${CLAIM:-/var/lib/mysql}
DB_USER=${DB_USER:-mysql}
DATADIR=$CLAIM/data
NEW=$CLAIM/data.initialising

say() { printf 'init-datadir: %s\n' "$*" >&2; }

# -- 0. the image runs the flavor the role was told ----------------------------------------------
if ! command -v "$DB_SERVER" >/dev/null 2>&1; then
    say "ERROR: the image has no $DB_SERVER, so it is not a $DB_FLAVOR server image:" \
        "mysql_cluster_image does not match mysql_cluster_flavor=$DB_FLAVOR"
    exit 1
fi
version=$("$DB_SERVER" --version 2>&1 || true)
case $version in *MariaDB*) found=mariadb ;; *) found=mysql ;; esac
if [ "$found" != "$DB_FLAVOR" ]; then
    say "ERROR: the image runs $found ($version), not $DB_FLAVOR:" \
        "set mysql_cluster_flavor=$found or use a $DB_FLAVOR image in mysql_cluster_image"
    exit 1
fi

ordinal=${HOSTNAME##*-}
case $ordinal in ''|*[!0-9]*) say "cannot read an ordinal from the pod name $HOSTNAME"; exit 1 ;; esac
base=$(cat "$CONFIG_MAP/server-id-base")
bootstrapped=$(cat "$TOPOLOGY/bootstrapped" 2>/dev/null || true)
SERVER_ID_FILE=$CLAIM/statefuldb-server-id

# -- 1. client login for the probes --------------------------------------------------------------
# Option-file value in double quotes: backslash and double quote escaped.
cnf_quoted=$(printf '%s' "$ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
(
    umask 077
    printf '[client]\nuser = root\npassword = "%s"\nsocket = %s/mysqld.sock\n' \
        "$cnf_quoted" "$RUN_DIR" > "$LOGIN_DIR/client.cnf"
)

# -- 2. ownership --------------------------------------------------------------------------------
mkdir -p "$RUN_DIR"
chown "$DB_USER:$DB_USER" "$RUN_DIR" "$CLAIM"  # a fresh volume's root may be root's, mode 0700
chmod 0755 "$RUN_DIR"  # an emptyDir is world-writable; the server warns about that
uid=$(id -u "$DB_USER")
if [ -d "$DATADIR" ] && [ "$(stat -c %u "$DATADIR")" != "$uid" ]; then
    say "handing $DATADIR to $DB_USER (uid $uid)"
    chown -R "$DB_USER:$DB_USER" "$DATADIR"
fi

# -- 3. server_id --------------------------------------------------------------------------------
if [ -d "$DATADIR/mysql" ]; then
    if [ ! -s "$SERVER_ID_FILE" ]; then  # a claim of a release that did not keep it
        printf '%d\n' $((base + ordinal)) > "$SERVER_ID_FILE"
    fi
    say "data directory exists: server_id $(cat "$SERVER_ID_FILE"); nothing to initialise"
    exit 0
fi
if [ "$bootstrapped" = true ]; then
    # 10^6 .. 2^31: far above base + ordinal, and random, so never one this cluster used before.
    server_id=$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2146483647 + 1000000 ))
    touch "$CONF_DIR/initialised-empty"
    say "the cluster was bootstrapped before: this member starts empty and read-only, with the new server_id $server_id"
else
    server_id=$((base + ordinal))
fi

# -- 4. first start only: initialise, set the root password ---------------------------------------
if [ -e "$DATADIR" ]; then
    say "$DATADIR exists but holds no system tables; not touching it (move it away to initialise)"
    exit 1
fi
rm -rf "$NEW"  # an interrupted initialisation never held user data
mkdir -m 0750 "$NEW"
chown "$DB_USER:$DB_USER" "$NEW"
say "initialising a new data directory ($DB_INSTALL)"
# shellcheck disable=SC2086  # DB_INSTALL is a command with options, from the flavor table
$DB_INSTALL --datadir="$NEW" >&2

socket=$RUN_DIR/init.sock
# shellcheck disable=SC2086
"$DB_SERVER" --no-defaults --user="$DB_USER" --datadir="$NEW" --skip-networking \
    --socket="$socket" --pid-file="$RUN_DIR/init.pid" ${DB_BOOT_OPTIONS:-} &
server=$!
tries=0
until "$DB_CLIENT" --no-defaults --protocol=socket --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    if ! kill -0 "$server" 2>/dev/null; then
        say "the server exited during initialisation (its log is above)"
        exit 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 300 ]; then
        say "the server did not answer on $socket within 150 s"
        kill "$server"
        exit 1
    fi
    sleep 0.5
done
# SQL string literal: backslash and single quote escaped. Sent on stdin, never on argv.
sql_quoted=$(printf '%s' "$ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
host=$(uname -n)  # the password-less root@<host> some installers add
"$DB_CLIENT" --no-defaults --protocol=socket --socket="$socket" -uroot <<SQL
SET SESSION sql_log_bin = 0;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$sql_quoted';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$sql_quoted';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$host', ''@'localhost', ''@'$host';
SHUTDOWN;
SQL
wait "$server" || { say "the server did not stop cleanly after initialisation"; exit 1; }
printf '%d\n' "$server_id" > "$SERVER_ID_FILE"
mv "$NEW" "$DATADIR"
say "initialised: server_id $server_id, root password set from the Secret"
