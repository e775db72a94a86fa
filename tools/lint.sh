#!/usr/bin/env bash
# ansible-lint with the production profile (configured in .ansible-lint), offline.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
mkdir -p .collections/ansible_collections/statefuldb && ln -sfn ../../.. .collections/ansible_collections/statefuldb/k8s
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"
.venv/bin/ansible-lint --offline --profile production
