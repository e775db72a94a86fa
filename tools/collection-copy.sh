#!/usr/bin/env bash
# Copies the collection's files (tracked and new, not ignored) into DEST/ansible_collections/statefuldb/k8s,
# the layout ansible-test needs. Prints that path.
set -euo pipefail
dest=${1:?usage: collection-copy.sh DEST}
root=$(git rev-parse --show-toplevel)
target="$dest/ansible_collections/statefuldb/k8s"
rm -rf "$target" && mkdir -p "$target"
cd "$root"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$target/$(dirname "$f")"
  cp -p "$f" "$target/$f"
done
echo "$target"
