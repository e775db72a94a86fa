#!/usr/bin/env bash
# Usage: venv-for.sh VENV_DIR REQUIREMENTS_FILE...
# Makes VENV_DIR a link to a venv built from the requirements files (exact pins). The venv itself
# lives in ~/.cache/statefuldb-venvs/<name>-<sha256 of the files> (STATEFULDB_VENV_CACHE overrides),
# so every clone on a machine shares one build per set of pins and a changed pin builds a new one.
# Prints nothing on a cache hit.
set -euo pipefail
venv=${1:?usage: venv-for.sh VENV_DIR REQUIREMENTS_FILE...}
shift
[ $# -gt 0 ] || { echo "usage: venv-for.sh VENV_DIR REQUIREMENTS_FILE..." >&2; exit 2; }
want=$(cat "$@" | sha256sum | cut -d' ' -f1)
cache=${STATEFULDB_VENV_CACHE:-$HOME/.cache/statefuldb-venvs}
target="$cache/$(basename "$venv")-${want:0:16}"
if [ ! -x "$target/bin/python" ] || [ "$(cat "$target/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
  echo "building $target from $*" >&2
  start=$SECONDS
  mkdir -p "$cache"
  # The stamp is written last: an interrupted build has none and is built again.
  rm -rf "$target"
  python3 -m venv "$target"
  "$target/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
  args=()
  for req in "$@"; do args+=(-r "$req"); done
  "$target/bin/pip" install -q --disable-pip-version-check "${args[@]}" >&2
  echo "$want" >"$target/.requirements-sha256"
  echo "built $target in $((SECONDS - start)) s" >&2
fi
# A real directory left by an older layout is replaced by the link.
if [ -d "$venv" ] && [ ! -L "$venv" ]; then rm -rf "$venv"; fi
ln -sfn "$target" "$venv"
