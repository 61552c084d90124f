#!/usr/bin/env bash
# Bounded loopback load on the authorizer path of the local stack.
#
# Usage: infra/scripts/bench-local.sh [--duration 10s] [--connections 8] [--threads 2]
#                                     [--cache-ttl SECONDS] [--path /catalog] [--binary PATH]
#                                     [--compare-getitem [--rounds 3] [--warmup 10]]
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
# --compare-getitem measures the floor too: getitem-load (a bin of patgate-local, taken
# from the directory of the stack's binary) runs strongly consistent GetItem calls of
# the PAT's hash item (the authorizer's one read) against the stack's own DynamoDB
# Local at --connections concurrency, and wrk runs as above; after --warmup seconds of
# each unmeasured (DynamoDB Local's JVM compiles its hot paths in the first seconds),
# --rounds pairs of runs alternate (GetItem first), and it prints each pair, the
# medians and their ratio (gateway req/s / GetItem/s), the CPU each process spent per call and how busy they
# kept the cores, with the machine's load before and after. Without --binary it runs
# the release profile (PATGATE_LOCAL_PROFILE=release, unless set): a debug driver would
# measure itself, not DynamoDB Local. Use it with --cache-ttl 0, so that every request
# runs the authorizer's read.
# Needs wrk (Debian/Ubuntu: apt-get install -y wrk), curl and python3.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
DURATION=10s
CONNECTIONS=8
THREADS=2
CACHE_TTL=""
BENCH_PATH=/catalog
BINARY=""
COMPARE=false
ROUNDS=3
WARMUP=10

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
    --compare-getitem) COMPARE=true; shift ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
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

# The floor is DynamoDB Local's, not a debug-built client's: compare release builds.
if $COMPARE && [[ -z "$BINARY" ]]; then
  export PATGATE_LOCAL_PROFILE="${PATGATE_LOCAL_PROFILE:-release}"
fi

start_ns=$(date +%s%N)
if [[ -n "$BINARY" ]]; then
  [[ -x "$BINARY" ]] || die "--binary $BINARY is not an executable"
  STARTED_BY="$BINARY"
  "$BINARY" "${args[@]}" >"$LOG" 2>&1 &
else
  STARTED_BY="run-local.sh (${PATGATE_LOCAL_PROFILE:-debug} profile), warm cargo build included"
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

WRK_COMMAND="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H 'Authorization: Bearer <PAT>' $BASE$BENCH_PATH"
if ! $COMPARE; then
  echo "$WRK_COMMAND (authorizer cache TTL: ${CACHE_TTL:-template default})"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$BASE$BENCH_PATH"
  exit 0
fi

# The GetItem driver is built with the stack's binary (same package, same profile).
if [[ -n "$BINARY" ]]; then
  DRIVER="$(dirname -- "$BINARY")/getitem-load"
else
  TARGET_DIR="${CARGO_TARGET_DIR:-$SCRIPT_DIR/../../target}"
  DRIVER="$TARGET_DIR/${PATGATE_LOCAL_PROFILE:-debug}/getitem-load"
fi
[[ -x "$DRIVER" ]] || die "$DRIVER not found; it is built with the stack (cargo build -p patgate-local)"
DURATION_S=${DURATION%s}
[[ "$DURATION_S" =~ ^[0-9]+$ ]] || die "--compare-getitem needs --duration in whole seconds, not $DURATION"
DRIVER_ARGS=(--endpoint "http://127.0.0.1:$DYNAMODB_PORT" --table patgate-local --token "$TOKEN"
  --concurrency "$CONNECTIONS")
echo "machine: $(nproc) cores; load before: $(uptime | sed 's/.*load average: //')"
echo "stack: $STARTED_BY; authorizer cache TTL: ${CACHE_TTL:-template default}"
echo "getitem: $DRIVER --concurrency $CONNECTIONS --duration $DURATION_S (endpoint: the stack's DynamoDB Local)"
echo "gateway: $WRK_COMMAND"
if (( WARMUP > 0 )); then
  "$DRIVER" "${DRIVER_ARGS[@]}" --duration "$WARMUP" --warmup 0 >/dev/null ||
    die "getitem-load failed during the warm-up"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -H "Authorization: Bearer $TOKEN" "$BASE$BENCH_PATH" >/dev/null
fi
# CPU time (user + system, all threads) of a process so far, in microseconds.
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))
cpu_us() { awk -v t="$TICK_US" '{print ($14 + $15) * t}' "/proc/$1/stat"; }
per_call() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.0f", (b - a) / (n > 0 ? n : 1)}'; }
DYNAMO_PID=$(ps -o pid=,comm= --ppid "$STACK_PID" | awk '$2 == "java" {print $1; exit}')
[[ -n "$DYNAMO_PID" ]] || die "cannot find the stack's DynamoDB Local (a java child of pid $STACK_PID)"
# Busy share of the machine's cores: CPU microseconds over wall microseconds x cores.
busy() { awk -v c="$1" -v w="$2" -v n="$(nproc)" 'BEGIN {printf "%.0f%%", 100 * c / (w * n)}'; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
TIME_FILE=$(mktemp -t patgate-bench-time.XXXXXX)
TIMEFORMAT='%3U %3S'
getitem_rates=()
gateway_rates=()
driver_cpus=()
gateway_cpus=()
for round in $(seq 1 "$ROUNDS"); do
  dynamo0=$(cpu_us "$DYNAMO_PID"); wall0=$(now_us)
  getitem_out=$("$DRIVER" "${DRIVER_ARGS[@]}" --duration "$DURATION_S") || die "getitem-load failed: $getitem_out"
  dynamo1=$(cpu_us "$DYNAMO_PID"); wall1=$(now_us)
  getitem_rate=$(sed -n 's/.*: \([0-9]*\) req\/s.*/\1/p' <<<"$getitem_out")
  getitem_calls=$(awk '{print $2}' <<<"$getitem_out")
  stack0=$(cpu_us "$STACK_PID")
  # wrk's own CPU (user and system) comes from bash's `time` of the child.
  wrk_out=$( { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -H "Authorization: Bearer $TOKEN" "$BASE$BENCH_PATH"; } 2>"$TIME_FILE")
  stack1=$(cpu_us "$STACK_PID"); dynamo2=$(cpu_us "$DYNAMO_PID"); wall2=$(now_us)
  wrk_cpu_us=$(awk '{printf "%.0f", ($1 + $2) * 1000000}' "$TIME_FILE")
  gateway_rate=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$wrk_out")
  gateway_calls=$(awk '/ requests in / {print $1}' <<<"$wrk_out")
  # wrk counts any answer; a run that was not all 200s measures something else.
  if grep -q 'Non-2xx or 3xx responses' <<<"$wrk_out"; then
    die "gateway answered non-2xx during round $round: $wrk_out"
  fi
  [[ -n "$getitem_rate" && -n "$gateway_rate" ]] || die "could not read the rates: $getitem_out / $wrk_out"
  gateway_latency=$(awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} END {printf "p50 %s, p99 %s", p50, p99}' <<<"$wrk_out")
  getitem_latency=$(grep -o 'p50 [0-9.]* ms, p99 [0-9.]* ms' <<<"$getitem_out")
  driver_cpu=$(sed -n 's/.*driver CPU \([0-9]*\) us\/call.*/\1/p' <<<"$getitem_out")
  dynamo_getitem=$(per_call "$dynamo0" "$dynamo1" "$getitem_calls")
  stack_cpu=$(per_call "$stack0" "$stack1" "$gateway_calls")
  dynamo_gateway=$(per_call "$dynamo1" "$dynamo2" "$gateway_calls")
  wrk_cpu=$(per_call 0 "$wrk_cpu_us" "$gateway_calls")
  printf 'round %d: getitem %6d req/s (%s)   gateway %6d req/s (%s)   ratio %.2f\n' \
    "$round" "$getitem_rate" "$getitem_latency" "$gateway_rate" "$gateway_latency" \
    "$(awk -v g="$gateway_rate" -v d="$getitem_rate" 'BEGIN {print g / d}')"
  printf '         CPU per call, us: getitem: driver %s + DynamoDB Local %s (these busy %s of the cores)\n' \
    "$driver_cpu" "$dynamo_getitem" \
    "$(busy $(( driver_cpu * getitem_calls + dynamo1 - dynamo0 )) $(( wall1 - wall0 )))"
  printf '                           gateway: wrk %s + patgate-local %s + DynamoDB Local %s (these busy %s of the cores)\n' \
    "$wrk_cpu" "$stack_cpu" "$dynamo_gateway" \
    "$(busy $(( wrk_cpu_us + stack1 - stack0 + dynamo2 - dynamo1 )) $(( wall2 - wall1 )))"
  getitem_rates+=("$getitem_rate")
  gateway_rates+=("$gateway_rate")
  driver_cpus+=("$driver_cpu")
  gateway_cpus+=("$stack_cpu")
done
rm -f "$TIME_FILE"
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
getitem_median=$(median "${getitem_rates[@]}")
gateway_median=$(median "${gateway_rates[@]}")
printf 'median of %d rounds at concurrency %d: getitem %s req/s, gateway %s req/s, ratio %.2f\n' \
  "$ROUNDS" "$CONNECTIONS" "$getitem_median" "$gateway_median" \
  "$(awk -v g="$gateway_median" -v d="$getitem_median" 'BEGIN {print g / d}')"
printf 'median CPU per call: patgate-local %s us (an authorized request), getitem-load %s us (one GetItem)\n' \
  "$(median "${gateway_cpus[@]}")" "$(median "${driver_cpus[@]}")"
echo "load after: $(uptime | sed 's/.*load average: //')"
