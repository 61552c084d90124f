#!/usr/bin/env bash
# Create/revoke cycles for one user against DynamoDB Local, through the metering
# proxy: the read and write units of create, list and revoke at the first cycle and
# at the last, which must be the same (nothing a user does grows what later calls
# read). The test command runs the same test with 300 cycles.
#
#   bash infra/scripts/cycles.sh [CYCLES]     (default 5000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scripts=infra/scripts
cycles="${1:-${PATGATE_CYCLES:-5000}}"
"$scripts/dynamodb-local.sh" install >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$scripts/dynamodb-local.sh" start --in-memory --port "$port" >/dev/null
trap '"$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true' EXIT
PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port" PATGATE_CYCLES="$cycles" \
  cargo test --locked -p patgate-tests --test api costs::create_revoke_cycles_leave_read_units_flat \
  -- --exact --nocapture
