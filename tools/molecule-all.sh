#!/usr/bin/env bash
# `molecule test` for every role that has a scenario (delegated driver, local control plane).
set -u
cd "$(git rev-parse --show-toplevel)" || exit 1
root=$PWD
# Molecule calls ansible-config and ansible-playbook by name.
export PATH="$root/.venv/bin:$PATH"
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
exit $status
