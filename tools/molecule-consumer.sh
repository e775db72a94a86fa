#!/usr/bin/env bash
# The consumer role tests/consumer/roles/orders_db (outside the collection, builds on
# statefuldb.k8s.mysql_cluster) through its own Molecule scenario, with the collection as a user
# gets it: `ansible-galaxy collection build`, installed into a temporary collections path.
# Cluster: K8S_AUTH_KUBECONFIG (default: the local control plane). Arguments go to molecule
# (default: test, i.e. create, converge, idempotence, verify, destroy).
set -u
cd "$(git rev-parse --show-toplevel)" || exit 1
root=$PWD
export PATH="$root/.venv/bin:$PATH"
export K8S_AUTH_KUBECONFIG=${K8S_AUTH_KUBECONFIG:-$root/.localkube/kubeconfig}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ansible-galaxy collection build --output-path "$work" . >/dev/null || exit 1
# Only the temporary path counts: with the checkout's .collections (or any other copy) on the
# path, ansible-galaxy would call the collection installed already and install nothing.
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
ansible-galaxy collection install --offline --force -p "$work/collections" "$work"/statefuldb-k8s-*.tar.gz >/dev/null 2>&1 || exit 1
# The scenario must see the installed copy, not this checkout.
found=$(ansible-galaxy collection list statefuldb.k8s --format json 2>/dev/null)
case $found in
  *"$work/collections/ansible_collections"*) ;;
  *) echo "statefuldb.k8s is not the installed tarball: $found" >&2; exit 1 ;;
esac
cd tests/consumer/roles/orders_db || exit 1
[ $# -gt 0 ] || set -- test
exec molecule "$@" -s default
