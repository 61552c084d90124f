#!/usr/bin/env bash
# What a page of the organisation's inventory reads at 1,000 and at 100,000 tokens,
# against DynamoDB Local through the metering proxy: the same requests and read
# units at both sizes (the inventory is read by key from its GSIs, never scanned).
# The test command runs the same test at 1,000 and 3,000 tokens.
#
#   bash infra/scripts/inventory-costs.sh [SIZES]     (default 1000,100000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scripts=infra/scripts
sizes="${1:-${PATGATE_INVENTORY_SIZES:-1000,100000}}"
"$scripts/dynamodb-local.sh" install >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$scripts/dynamodb-local.sh" start --in-memory --port "$port" >/dev/null
trap '"$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true' EXIT
PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port" PATGATE_INVENTORY_SIZES="$sizes" \
  cargo test --locked -p patgate-tests --test api inventory_costs::an_inventory_page_reads_the_same_at_every_table_size \
  -- --exact --nocapture
