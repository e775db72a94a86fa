#!/usr/bin/env bash
# Runs pytest and refuses to pass silently: exit code 5 (no tests collected) is a failure here, and so
# is any skipped test (a skip is work not proven; `make test` installs everything the tests need).
set -u
PY=${PY:-.venv/bin/python}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$PY" -m pytest -ra "$@" | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests in: $* — that is a failure, not a pass." >&2
  exit 1
fi
summary=$(grep -E "[0-9]+ (passed|failed|skipped|errors?)" "$out" | grep -E " in [0-9.]+s" | tail -1)
if [ "$rc" -eq 0 ] && grep -qE "[0-9]+ skipped" <<<"$summary"; then
  echo "pytest skipped tests in: $* ($summary) — a skip is a failure here; the SKIPPED lines above say why." >&2
  exit 1
fi
exit "$rc"
