#!/usr/bin/env bash
# `make test`: every gate CI holds the collection to. Each gate runs even if an earlier one failed;
# the run fails if any gate failed, and ends with one summary line.
set -u
cd "$(git rev-parse --show-toplevel)" || exit 1
export PY=${PY:-.venv/bin/python}
passed=() failed=()
# Coverage of plugins/module_utils, reported with the unit gate (the TOTAL line); the threshold that
# fails it is .coveragerc's fail_under (the one place it is written).
UNIT_COVERAGE=(--cov=ansible_collections.statefuldb.k8s.plugins.module_utils --cov-report=term:skip-covered)

gate() {
  local name=$1; shift
  echo
  echo "=== gate: $name"
  local start=$SECONDS
  if "$@"; then passed+=("$name"); echo "=== gate $name: passed in $((SECONDS - start)) s"
  else failed+=("$name"); echo "=== gate $name: FAILED in $((SECONDS - start)) s"; fi
}

# What runs on the cluster before the suite must still run after it (gate `survives`, last): a
# fresh token in statefuldb-keep/keep and the list of namespaces, recorded now, checked at the end.
survives_state=tests/output/survives.json
rm -f "$survives_state"
"$PY" tools/survives.py record "$survives_state" || echo "=== survives: recording failed; the gate survives will fail"

gate unit bash tools/pytest-gate.sh "${UNIT_COVERAGE[@]}" tests/unit
gate sanity bash tools/sanity.sh
gate ansible-lint bash tools/lint.sh
gate changelog bash tools/changelog-check.sh
gate awx-surveys .venv/bin/python tools/awx-survey --check
gate build-install-doc bash tools/build-check.sh
gate awx-jobs bash tools/pytest-gate.sh tests/awx -m "not role_real"
# Not the reset test: it wipes the cluster and what the user runs on it (`make test-reset`).
gate integration bash tools/pytest-gate.sh tests/integration -m "not cluster_reset"
gate ansible-core-matrix bash tools/core-matrix.sh
gate molecule bash tools/molecule-all.sh
# Every API fault of tools/faultproxy.py, 3 runs each, against the statefulset module (< 3 min).
gate chaos-quick "$PY" -m bench.chaos --quick --runs 3 --results tests/output/chaos-quick.json
# The Cloud SQL modules under 429/503/412 races/lost answers/operation errors, against the fake, 3 runs each (< 1 min).
gate chaos-cloudsql-quick "$PY" -m bench.chaos_cloudsql --quick --runs 3 --results tests/output/chaos-cloudsql-quick.json
# Last: the token and every namespace recorded before the first gate are still there.
gate survives "$PY" tools/survives.py check "$survives_state"

echo
echo "gates passed: ${passed[*]:-none}"
[ ${#failed[@]} -gt 0 ] && echo "gates FAILED: ${failed[*]}"
echo "gates: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
