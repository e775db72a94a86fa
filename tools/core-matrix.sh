#!/usr/bin/env bash
# The ansible-core matrix: for every tests/matrix/ansible-core-X.Y.txt (each ansible-core minor that
# Python 3.11 runs, from meta/runtime.yml's requires_ansible up), in its own venv .venv-core-X.Y
# (tools/venv-for.sh: built once, rebuilt when a pin changes):
#   1. `ansible-test units --python 3.11` on a copy of the collection, as the ecosystem runs it;
#   2. the integration smoke tests/smoke (headless_service + statefulset apply/wait + statefulset_info
#      through a real ansible-playbook) against the running cluster. A skipped smoke (the cluster
#      cannot be reached) is a failure here, never a pass.
# Usage: core-matrix.sh [X.Y ...]   (default: every version in tests/matrix)
set -u
root=$(git rev-parse --show-toplevel)
cd "$root" || exit 1
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  for f in tests/matrix/ansible-core-*.txt; do v=${f#tests/matrix/ansible-core-}; versions+=("${v%.txt}"); done
  # Sorted as versions; the first must be the minimum meta/runtime.yml declares.
  mapfile -t versions < <(printf '%s\n' "${versions[@]}" | sort -V)
  declared=$(sed -n 's/^requires_ansible: *"*>=\([0-9]*\.[0-9]*\).*/\1/p' meta/runtime.yml)
  if [ "$declared" != "${versions[0]}" ]; then
    echo "core-matrix: meta/runtime.yml requires_ansible says >=$declared but the lowest version tested is ${versions[0]}"
    exit 1
  fi
fi
mkdir -p .collections/ansible_collections/statefuldb && ln -sfn ../../.. .collections/ansible_collections/statefuldb/k8s
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy=$(bash tools/collection-copy.sh "$work/units")
failed=() summary=()
for v in "${versions[@]}"; do
  echo "--- ansible-core $v"
  venv="$root/.venv-core-$v"
  start=$SECONDS
  if ! bash tools/venv-for.sh "$venv" tests/matrix/requirements-common.txt "tests/matrix/ansible-core-$v.txt"; then
    failed+=("$v:venv"); continue
  fi
  built=$((SECONDS - start)); start=$SECONDS
  rm -rf "$copy/tests/output"
  if (cd "$copy" && PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" units --python 3.11 --color no) >"$work/units.log" 2>&1; then
    units="passed ($(grep -oE '[0-9]+ passed' "$work/units.log" | awk '{n+=$1} END {print n}') tests)"
  else
    units="FAILED"; failed+=("$v:units"); tail -n 40 "$work/units.log"
  fi
  units_s=$((SECONDS - start)); start=$SECONDS
  "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider tests/smoke >"$work/smoke.log" 2>&1
  rc=$?
  last=$(tail -n 1 "$work/smoke.log")
  if [ $rc -eq 0 ] && grep -q " passed" <<<"$last" && ! grep -q "skipped" <<<"$last"; then
    smoke="passed"
  else
    smoke="FAILED"; failed+=("$v:smoke"); tail -n 30 "$work/smoke.log"
    grep -q "skipped" <<<"$last" && echo "core-matrix: the smoke was skipped (reason above); that counts as a failure"
  fi
  line="ansible-core $("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)'): units $units in ${units_s} s, smoke $smoke in $((SECONDS - start)) s (venv ${built} s)"
  echo "$line"; summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then echo "core-matrix FAILED: ${failed[*]}"; exit 1; fi
echo "core-matrix: ${#versions[@]} ansible-core versions passed"
