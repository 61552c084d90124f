#!/usr/bin/env bash
# The per-user cap under a burst, through the local stack: one user fires REQUESTS
# concurrent POST /tokens (default 200) at a cap of CAP live tokens (default 50).
# Passes with exactly CAP x 201 and the rest 409 token_limit_reached, no 5xx, and the
# user's listed tokens exactly those answered with a 201 (each returned secret
# authenticating on the demo API). Prints wall time, p50 and p99 of the burst.
#
# Usage: infra/scripts/stress-cap.sh [--requests N] [--cap N] [--runs N]
#   Each run uses a fresh local stack (DynamoDB Local in memory, free ports).
#   PATGATE_LOCAL_PROFILE=release builds and runs the release profile.
# Exit status: 0 if every run passed, 1 otherwise.
set -euo pipefail

source "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/local-stack-lib.sh"

requests=200
cap=50
runs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests="$2"; shift 2 ;;
    --cap) cap="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

local_stack_build
failed=0
for run in $(seq 1 "$runs"); do
  echo "== run $run of $runs: $requests concurrent creates, cap $cap"
  local_stack_start --param "MaxTokensPerUser=$cap"
  user="stress-$(date +%s)-$run"
  local_stack_user "$user" User
  local_stack_user "$user-warm-up" User
  if ! python3 "$SCRIPT_DIR/load.py" burst --api "$API" --user "$user" \
    --warm-up-user "$user-warm-up" --requests "$requests" --cap "$cap"; then
    failed=1
  fi
  local_stack_stop
done
exit "$failed"
