#!/usr/bin/env bash
# End-to-end tests and schemathesis against the local stack.
#
# Usage: tests/e2e/run.sh [pytest args]     e.g. tests/e2e/run.sh -k viewer
#
# 1. a Python venv with tests/e2e/requirements.txt in infra/.local/e2e-venv
#    (reinstalled when requirements.txt changes; override with E2E_VENV=DIR);
# 2. DynamoDB Local installed (infra/scripts/dynamodb-local.sh install);
# 3. `cargo build -p patgate-local -p authorizer -p create-token` (the tests start
#    target/debug/patgate-local and run the two functions' binaries, never build them);
# 4. pytest tests/e2e: the stack starts once (in memory, free ports), is stopped with
#    SIGINT at the end, and must exit 0 with no DynamoDB Local left running.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
VENV="${E2E_VENV:-$REPO_ROOT/infra/.local/e2e-venv}"
REQUIREMENTS="$SCRIPT_DIR/requirements.txt"
PYTHON="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  printf '%s\n' "$WANT" >"$STAMP"
fi

"$REPO_ROOT/infra/scripts/dynamodb-local.sh" install
(cd -- "$REPO_ROOT" && cargo build --quiet -p patgate-local -p authorizer -p create-token)

cd -- "$SCRIPT_DIR"
exec "$VENV/bin/python" -m pytest "$@"
