#!/usr/bin/env bash
# Lifecycle throughput against DynamoDB Local (release build): stream records per
# second through one events function instance, and the time the reminder job takes
# for a day of reminders for TOKENS tokens (default 100,000).
#
#   bash infra/scripts/bench-lifecycle.sh [TOKENS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scripts=infra/scripts
"$scripts/dynamodb-local.sh" install >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$scripts/dynamodb-local.sh" start --in-memory --port "$port" >/dev/null
trap '"$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true' EXIT
PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port" \
  cargo bench --locked -p patgate-tests --bench lifecycle_throughput -- "${1:-100000}"
