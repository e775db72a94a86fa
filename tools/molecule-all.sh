#!/usr/bin/env bash
# `molecule test` for every role that has a scenario (delegated driver, local control plane), then
# the consumer role's scenario against the built tarball (tools/molecule-consumer.sh).
# The scenarios take the cluster from K8S_AUTH_KUBECONFIG and the collection from
# ANSIBLE_COLLECTIONS_PATH; this script sets both for the local control plane.
set -u
cd "$(git rev-parse --show-toplevel)" || exit 1
root=$PWD
# Molecule calls ansible-config and ansible-playbook by name.
export PATH="$root/.venv/bin:$PATH"
export K8S_AUTH_KUBECONFIG=${K8S_AUTH_KUBECONFIG:-$root/.localkube/kubeconfig}
export ANSIBLE_COLLECTIONS_PATH="$root/.collections"
status=0 ran=0
for scenario_dir in roles/*/molecule/*/; do
  [ -f "$scenario_dir/molecule.yml" ] || continue
  role_dir=${scenario_dir%/molecule/*}
  scenario=$(basename "$scenario_dir")
  echo "molecule test: $role_dir ($scenario)"
  ran=$((ran + 1))
  (cd "$role_dir" && "$root/.venv/bin/molecule" test -s "$scenario") || status=1
done
if [ "$ran" -eq 0 ]; then echo "no Molecule scenario found: that is a failure" >&2; exit 1; fi
# The local control plane's database image, for the consumer's real pods.
export ORDERS_DB_IMAGE=${ORDERS_DB_IMAGE:-localhost/statefuldb/mariadb:11.8}
echo "molecule test: tests/consumer/roles/orders_db (default), collection from the built tarball"
bash tools/molecule-consumer.sh test || status=1
exit $status
