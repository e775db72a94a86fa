#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when it can (root + apt), and otherwise
# says exactly what to install.
set -euo pipefail
need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
# The seeding test puts a real mariadb-backup copy in place (tests/integration/mysql_cluster/test_init_datadir.py).
command -v mariadb-backup >/dev/null 2>&1 || need+=(mariadb-backup)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The real kubelet nodes of tools/localkube: one containerd per node, runc, the CNI plugins.
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || need+=(containernetworking-plugins)
# ansible-test sanity runs shellcheck on the shell scripts; without it that test is skipped.
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# tools/localkube/images.py builds the node images from Debian's archive (debootstrap) and checks
# each tar imports into a throw-away containerd (busybox-static for the tools image comes from
# `apt-get download`, so the host needs none).
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts the packaged service; the tests run their own servers, so stop it.
  # Likewise containerd: each node runs its own.
  if command -v service >/dev/null 2>&1; then
    service mariadb stop >/dev/null 2>&1 || true
    service containerd stop >/dev/null 2>&1 || true
  fi
else
  echo "system-deps: please install these Debian packages as root: apt-get install ${need[*]}" >&2
  exit 1
fi
