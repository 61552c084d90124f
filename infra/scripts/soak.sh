#!/usr/bin/env bash
# A soak through the local stack: a fixed request rate for a fixed time, mixing
# creates, lists, revokes and authorized calls to the demo API (GET /catalog and
# /catalog/{id} with Bearer tokens), with API Gateway's policy cache off so every
# authorized call reaches the authorizer and DynamoDB.
#
# Prints per minute: calls, p50 and p99 latency, 5xx, other unexpected answers, calls
# the driver itself sent late (a busy machine), and the gateway's RSS; then totals and
# the gateway's RSS (VmRSS) at start and end.
#
# Usage: infra/scripts/soak.sh [--minutes N] [--rate R] [--users N]
#   defaults: 10 minutes, 20 requests/s, 4 users (role User, cap 50 each).
#   PATGATE_LOCAL_PROFILE=release builds and runs the release profile.
# Exit status: 1 if any call got a 5xx (or no answer), else 0.
set -euo pipefail

source "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/local-stack-lib.sh"

minutes=10
rate=20
users=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

local_stack_build
local_stack_start --authorizer-cache-ttl 0
user_args=()
for n in $(seq 1 "$users"); do
  local_stack_user "soak-$n" User
  user_args+=(--user "soak-$n")
done
echo "gateway RSS before load: $(local_stack_rss) KiB"
python3 "$SCRIPT_DIR/load.py" soak --api "$API" "${user_args[@]}" \
  --minutes "$minutes" --rate "$rate" --pid "$STACK_PID"
