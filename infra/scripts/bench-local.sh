#!/usr/bin/env bash
# Bounded loopback load on the authorizer path of the local stack.
#
# Usage: infra/scripts/bench-local.sh [--duration 10s] [--connections 8] [--threads 2]
#                                     [--cache-ttl SECONDS] [--path /catalog] [--binary PATH]
#
# Starts the stack with the README's command (infra/scripts/run-local.sh, so a warm
# `cargo build` is included) on free ports with DynamoDB Local in memory, and reports
# the start-up time from command to the ready line. Then it gets a session for
# demo-viewer, creates a PAT, and runs wrk against GET /catalog with
# `Authorization: Bearer <PAT>` on 127.0.0.1 only: the gateway, the policy cache (or,
# with --cache-ttl 0, the Lambda authorizer with its DynamoDB reads on every request)
# and the demo-echo function. The stack is stopped with SIGINT at the end.
# --binary PATH starts that patgate-local directly instead (no build step), e.g. a
# release build: cargo build --release -p patgate-local; --binary target/release/patgate-local
# Needs wrk (Debian/Ubuntu: apt-get install -y wrk), curl and python3.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
DURATION=10s
CONNECTIONS=8
THREADS=2
CACHE_TTL=""
BENCH_PATH=/catalog
BINARY=""

die() {
  echo "bench-local: error: $*" >&2
  exit 1
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --cache-ttl) CACHE_TTL=$2; shift 2 ;;
    --path) BENCH_PATH=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
if ! command -v wrk >/dev/null 2>&1; then
  # wrk comes from Debian's packages; install it where we may.
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    die "wrk not found (apt-get install -y wrk)"
  fi
fi
command -v curl >/dev/null 2>&1 || die "curl not found"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
DYNAMODB_PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
LOG="$(mktemp -t patgate-bench.XXXXXX.log)"

args=(--in-memory --quiet --no-web --port "$PORT" --dynamodb-port "$DYNAMODB_PORT")
[[ -n "$CACHE_TTL" ]] && args+=(--authorizer-cache-ttl "$CACHE_TTL")

start_ns=$(date +%s%N)
if [[ -n "$BINARY" ]]; then
  STARTED_BY="$BINARY"
  "$BINARY" "${args[@]}" >"$LOG" 2>&1 &
else
  STARTED_BY="run-local.sh, warm cargo build included"
  "$SCRIPT_DIR/run-local.sh" "${args[@]}" >"$LOG" 2>&1 &
fi
STACK_PID=$!
stop_stack() {
  if kill -0 "$STACK_PID" 2>/dev/null; then
    kill -INT "$STACK_PID" 2>/dev/null || true
    wait "$STACK_PID" 2>/dev/null || true
  fi
}
trap stop_stack EXIT

until grep -q "patgate local stack ready on" "$LOG"; do
  kill -0 "$STACK_PID" 2>/dev/null || { cat "$LOG" >&2; die "the stack exited before ready"; }
  (( $(date +%s%N) - start_ns < 180000000000 )) || die "not ready within 180 s (log: $LOG)"
  sleep 0.02
done
ready_ns=$(date +%s%N)
printf 'start-up, command to ready: %d ms (%s; the binary reports: %s)\n' \
  $(( (ready_ns - start_ns) / 1000000 )) "$STARTED_BY" "$(grep -o 'start-up took [0-9.]* s' "$LOG" || echo '?')"

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
SESSION=$(curl -sf -X POST "$BASE/local/session" -d '{"userId":"demo-viewer"}' | json_field session)
EXPIRES_ON=$(date -u -d '+30 days' +%Y-%m-%d)
TOKEN=$(curl -sf -X POST "$BASE/tokens" -H "Authorization: $SESSION" \
  -d "{\"name\":\"bench\",\"expiresOn\":\"$EXPIRES_ON\"}" | json_field token)
status=$(curl -s -o /dev/null -w '%{http_code}' "$BASE$BENCH_PATH" -H "Authorization: Bearer $TOKEN")
[[ "$status" == 200 ]] || die "GET $BENCH_PATH answered $status, expected 200"

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H 'Authorization: Bearer <PAT>' $BASE$BENCH_PATH" \
  "(authorizer cache TTL: ${CACHE_TTL:-template default})"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$BASE$BENCH_PATH"
