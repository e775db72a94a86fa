#!/usr/bin/env bash
# Runs pytest and refuses to pass silently: exit code 5 (no tests collected) is a failure here.
set -u
PY=${PY:-.venv/bin/python}
"$PY" -m pytest -ra "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests in: $* — that is a failure, not a pass." >&2
  exit 1
fi
exit "$rc"
