#!/usr/bin/env bash
# The changelog gate: `antsibull-changelog lint` on the fragments, then `antsibull-changelog release`
# of galaxy.yml's version in a scratch copy (nothing in the checkout changes) and a check that the
# generated CHANGELOG.rst lists, under "New Modules" and "New Roles", every module and role that no
# earlier release in changelogs/changelog.yaml has (for the first release: all of them).
# antsibull-changelog finds them through ansible-doc by version_added (a module's, a role's main
# entry point's), so a missing or wrong version_added fails here.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
venv="$root/.venv"
cd "$root"
"$venv/bin/antsibull-changelog" lint
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target=$(bash tools/collection-copy.sh "$work")
version=$("$venv/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
cd "$target"
# antsibull-changelog runs ansible-doc from PATH; only the copy may be visible to it.
PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$work" \
  "$venv/bin/antsibull-changelog" release --version "$version" --date 2000-01-01
"$venv/bin/python" - "$version" "$root" <<'PY'
import os, re, sys
import yaml
version, root = sys.argv[1:3]
text = open("CHANGELOG.rst").read()

def section(title):
    m = re.search(r"^%s\n-+\n(.*?)(?=^\S[^\n]*\n[-=~^]+\n|\Z)" % re.escape(title), text, re.S | re.M)
    return set(re.findall(r"^- statefuldb\.k8s\.(\w+) - ", m.group(1), re.M)) if m else None

# Modules and roles an earlier release already announced (the checkout's changelog.yaml; the copy's
# now holds this release too).
released = {"modules": set(), "roles": set()}
for rel in (yaml.safe_load(open(os.path.join(root, "changelogs/changelog.yaml"))).get("releases") or {}).values():
    released["modules"] |= {m["name"] for m in rel.get("modules") or []}
    released["roles"] |= {o["name"] for o in (rel.get("objects") or {}).get("role") or []}
modules = {f[:-3] for f in os.listdir("plugins/modules") if f.endswith(".py") and not f.startswith("_")}
modules -= released["modules"]
roles = set(os.listdir("roles")) - released["roles"]
problems = []
for title, wanted in (("New Modules", modules), ("New Roles", roles)):
    listed = section(title)
    if wanted and listed is None:
        problems.append(f'CHANGELOG.rst for {version} has no "{title}" section (wanted: {", ".join(sorted(wanted))})')
    elif wanted - (listed or set()):
        problems.append(f'"{title}" lacks {", ".join(sorted(wanted - listed))} (new in {version}: is its version_added {version}?)')
for p in problems:
    print("changelog:", p)
if problems:
    sys.exit(1)
print(f"changelog: release {version} lists {len(modules)} new modules and {len(roles)} new roles")
PY
