#!/usr/bin/env bash
# Usage: venv-for.sh REQUIREMENTS_FILE VENV_DIR
# Creates VENV_DIR from REQUIREMENTS_FILE (exact pins) unless it already holds a venv built from the
# same file contents: the file's sha256 is stored in VENV_DIR/.requirements-sha256, so a clean
# clone builds each venv once and a changed pin rebuilds it. Prints nothing on a cache hit.
set -euo pipefail
req=${1:?usage: venv-for.sh REQUIREMENTS_FILE VENV_DIR}
venv=${2:?usage: venv-for.sh REQUIREMENTS_FILE VENV_DIR}
want=$(sha256sum "$req" | cut -d' ' -f1)
stamp="$venv/.requirements-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
echo "building $venv from $req" >&2
start=$SECONDS
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
"$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
echo "$want" >"$stamp"
echo "built $venv in $((SECONDS - start)) s" >&2
