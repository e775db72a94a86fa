#!/usr/bin/env bash
# Usage: venv-for.sh VENV_DIR REQUIREMENTS_FILE...
# Creates VENV_DIR from the requirements files (exact pins) unless it already holds a venv built from
# the same file contents: their sha256 is stored in VENV_DIR/.requirements-sha256, so a clean
# clone builds each venv once and a changed pin rebuilds it. Prints nothing on a cache hit.
set -euo pipefail
venv=${1:?usage: venv-for.sh VENV_DIR REQUIREMENTS_FILE...}
shift
[ $# -gt 0 ] || { echo "usage: venv-for.sh VENV_DIR REQUIREMENTS_FILE..." >&2; exit 2; }
want=$(cat "$@" | sha256sum | cut -d' ' -f1)
stamp="$venv/.requirements-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
echo "building $venv from $*" >&2
start=$SECONDS
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
args=()
for req in "$@"; do args+=(-r "$req"); done
"$venv/bin/pip" install -q --disable-pip-version-check "${args[@]}" >&2
echo "$want" >"$stamp"
echo "built $venv in $((SECONDS - start)) s" >&2
