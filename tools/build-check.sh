#!/usr/bin/env bash
# Build the collection tarball, run galaxy-importer on it (what Galaxy / Automation Hub check on
# upload), install it into a temporary path, and render every module's documentation from the
# installed copy (what a user of the built artifact sees).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
.venv/bin/ansible-galaxy collection build --output-path "$tmp/dist" --force >/dev/null
tarball=$(ls "$tmp"/dist/statefuldb-k8s-*.tar.gz)
echo "built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
status=0
bash tools/galaxy-importer.sh "$tarball" || status=1
# Only the fresh install may be visible (not the checkout's .collections link).
export ANSIBLE_COLLECTIONS_PATH="$tmp/installed"
.venv/bin/ansible-galaxy collection install --force -p "$tmp/installed" "$tarball" >/dev/null 2>&1
for f in plugins/modules/*.py; do
  m=$(basename "$f" .py)
  [ "$m" = __init__ ] && continue
  if out=$(.venv/bin/ansible-doc "statefuldb.k8s.$m" 2>&1) && grep -q "OPTIONS\|^> " <<<"$out"; then
    echo "ansible-doc statefuldb.k8s.$m: ok"
  else
    echo "ansible-doc statefuldb.k8s.$m: FAILED"; echo "$out" | tail -n 15; status=1
  fi
done
# Every module is in the action groups, so module_defaults can set auth once.
for f in plugins/modules/*.py; do
  m=$(basename "$f" .py)
  [ "$m" = __init__ ] && continue
  grep -qE "^\s+- $m\$" meta/runtime.yml || { echo "meta/runtime.yml: $m is in no action group"; status=1; }
done
for role in roles/*/; do
  r=$(basename "$role")
  [ -f "$tmp/installed/ansible_collections/statefuldb/k8s/roles/$r/meta/argument_specs.yml" ] \
    || { echo "role $r: meta/argument_specs.yml missing from the built collection"; status=1; }
done
# An execution environment built with this collection gets its Python and system requirements.
deps=$(.venv/bin/ansible-builder introspect "$tmp/installed" 2>&1)
for req in kubernetes google-auth PyMySQL ca-certificates; do
  grep -q "$req" <<<"$deps" || { echo "ansible-builder introspect does not list $req:"; echo "$deps"; status=1; }
done
[ $status -eq 0 ] && echo "ansible-builder introspect: python and system requirements found"
exit $status
