#!/usr/bin/env bash
# Usage: galaxy-importer.sh TARBALL
# Runs galaxy-importer, the checks Galaxy and Automation Hub run on an uploaded collection, on the
# built tarball, offline (tools/galaxy-importer.cfg says what it checks and what is switched off).
# Fails when the import fails, when it logs any warning or error (an ansible-lint finding, a
# flake8 finding, a plugin whose docs do not load are only warnings to Galaxy), or when a module's
# documentation or a role is missing from its result.
set -euo pipefail
tarball=$(realpath "${1:?usage: galaxy-importer.sh TARBALL}")
root=$(git rev-parse --show-toplevel)
venv="$root/.venv-galaxy"
bash "$root/tools/venv-for.sh" "$venv" "$root/requirements-galaxy.txt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# The importer finds ansible-doc, ansible-lint and flake8 on PATH; only its venv's copies may count.
export PATH="$venv/bin:/usr/bin:/bin" GALAXY_IMPORTER_CONFIG="$root/tools/galaxy-importer.cfg"
unset ANSIBLE_COLLECTIONS_PATH
status=0
"$venv/bin/python" -m galaxy_importer.main "$tarball" >"$work/log" 2>&1 || status=$?
grep -v "^Loading \|^Linting .* via flake8" "$work/log" || true
if [ $status -ne 0 ] || [ ! -f importer_result.json ]; then
  echo "galaxy-importer: import FAILED"; exit 1
fi
if grep -qE "^(WARNING|ERROR)|Traceback" "$work/log"; then
  echo "galaxy-importer: the import logged warnings or errors (above); Galaxy shows them to users"; exit 1
fi
"$venv/bin/python" - "$root" <<'PY' || exit 1
import json, os, sys
root = sys.argv[1]
result = json.load(open("importer_result.json"))
contents = result["docs_blob"]["contents"]
found = {(c["content_type"], c["content_name"]): c for c in contents}
problems = []
for f in sorted(os.listdir(os.path.join(root, "plugins/modules"))):
    name = f[:-3]
    if not f.endswith(".py") or name == "__init__":
        continue
    doc = (found.get(("module", name)) or {}).get("doc_strings") or {}
    if not doc.get("doc"):
        problems.append(f"module {name}: no documentation in the importer's result")
for r in sorted(os.listdir(os.path.join(root, "roles"))):
    if ("role", r) not in found:
        problems.append(f"role {r}: missing from the importer's result")
if not result["docs_blob"]["collection_readme"].get("html"):
    problems.append("collection README not rendered")
for p in problems:
    print("galaxy-importer:", p)
if problems:
    sys.exit(1)
print(f"galaxy-importer: passed ({len(contents)} content items, requires_ansible {result['requires_ansible']})")
PY
