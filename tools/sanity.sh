#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection (no ignore file: fix the code instead).
# It runs in its own virtual environment (.venv-sanity, requirements-sanity.txt) because
# ansible-test pins other versions than the dev tools, and its --venv mode would download pip's
# bootstrap script from a host these machines cannot reach.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
venv="$root/.venv-sanity"
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ "$root/requirements-sanity.txt" -nt "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/requirements-sanity.txt"
  touch "$stamp"
fi
# ansible-test bootstraps pip into each test's venv with a script it would download; provide ours.
pip_version=$(grep -oP "pip='\K[0-9.]+" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n 1)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tools/ansible-test-get-pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
work=${SANITY_WORKDIR:-${TMPDIR:-/tmp}/statefuldb-sanity}
target=$(bash "$root/tools/collection-copy.sh" "$work")
cd "$target"
run() { PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --python 3.11 --color no "$@"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if run "$@" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then exit 0; fi
# A test venv whose pip bootstrap was interrupted is rebuilt once; real findings fail as they are.
if grep -q "does not have pip available" "$log"; then
  echo "sanity: a test environment lost pip while being created; recreating it and running again"
  rm -rf "$HOME/.ansible/test/venv"
  run "$@"
else
  exit 1
fi
