#!/usr/bin/env bash
# Authorizer warm-path latency vs the DynamoDB reads it must make, in one run,
# against a DynamoDB Local of its own (release build).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
infra/scripts/dynamodb-local.sh start --in-memory --port "$port"
trap 'infra/scripts/dynamodb-local.sh stop --port "$port" >/dev/null 2>&1 || true' EXIT
PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port" cargo bench --locked -p patgate-tests --bench authorizer_latency
