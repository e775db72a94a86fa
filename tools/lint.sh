#!/usr/bin/env bash
# ansible-lint with the production profile (configured in .ansible-lint), offline.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
.venv/bin/ansible-lint --offline --profile production
