#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection (no ignore file: fix the code instead).
# Each test gets its own virtual environment with ansible-test's pinned requirements (--venv).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
work=${SANITY_WORKDIR:-${TMPDIR:-/tmp}/statefuldb-sanity}
target=$(bash "$root/tools/collection-copy.sh" "$work")
cd "$target"
"$root/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
