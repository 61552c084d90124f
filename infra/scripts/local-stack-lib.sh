# Sourced by stress-cap.sh and soak.sh: the local stack on free ports, with DynamoDB
# Local of its own in memory, and users created through patgate-users. Not a command.
#
# After `local_stack_start [patgate-local options]`: API (base URL), STACK_PID (the
# gateway process), DYNAMODB (endpoint). `local_stack_stop` ends both (also on exit).
# PATGATE_LOCAL_PROFILE=release runs the release build (as run-local.sh does).

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
PROFILE="${PATGATE_LOCAL_PROFILE:-debug}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$REPO_ROOT/$TARGET_DIR"
STACK_PID=""
STACK_LOG=""

die() {
  echo "$(basename -- "$0"): error: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

local_stack_build() {
  command -v java >/dev/null 2>&1 || die "java not found; DynamoDB Local needs a Java runtime 17+"
  command -v python3 >/dev/null 2>&1 || die "python3 not found"
  "$SCRIPT_DIR/dynamodb-local.sh" install >&2
  local build_args=()
  case "$PROFILE" in
    debug) ;;
    release) build_args=(--release) ;;
    *) die "PATGATE_LOCAL_PROFILE must be debug or release, not '$PROFILE'" ;;
  esac
  echo "building patgate-local and patgate-users ($PROFILE)..." >&2
  (cd -- "$REPO_ROOT" && cargo build "${build_args[@]}" -p patgate-local -p patgate-users) >&2
}

local_stack_start() {
  local api_port dynamodb_port
  api_port="$(free_port)"
  dynamodb_port="$(free_port)"
  API="http://127.0.0.1:$api_port"
  DYNAMODB="http://127.0.0.1:$dynamodb_port"
  STACK_LOG="$(mktemp -t patgate-stack.XXXXXX.log)"
  "$TARGET_DIR/$PROFILE/patgate-local" --in-memory --port "$api_port" \
    --dynamodb-port "$dynamodb_port" --no-web --quiet "$@" >"$STACK_LOG" 2>&1 &
  STACK_PID=$!
  trap local_stack_stop EXIT
  # Ready when it mints a session for a seeded demo user (table created, users in).
  python3 - "$API" "$STACK_PID" <<'EOF' || { tail -n 30 "$STACK_LOG" >&2; die "the local stack did not start"; }
import http.client, os, sys, time, urllib.parse
api, pid = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        conn = http.client.HTTPConnection(api.hostname, api.port, timeout=5)
        conn.request("POST", "/local/session", body=b'{"userId":"demo-user"}')
        if conn.getresponse().status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
  echo "local stack on $API (gateway pid $STACK_PID, DynamoDB Local on $DYNAMODB, log $STACK_LOG)" >&2
}

# local_stack_user ID ROLES: creates (or replaces) a user record, as the product's
# directory sync would.
local_stack_user() {
  TABLE_NAME=patgate-local AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
    "$TARGET_DIR/$PROFILE/patgate-users" put "$1" --roles "$2" >&2
}

# The gateway's resident memory in KiB.
local_stack_rss() {
  awk '/^VmRSS:/ {print $2}' "/proc/$STACK_PID/status" 2>/dev/null || echo "?"
}

local_stack_stop() {
  if [[ -n "$STACK_PID" ]] && kill -0 "$STACK_PID" 2>/dev/null; then
    kill -TERM "$STACK_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$STACK_PID" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$STACK_PID" 2>/dev/null && kill -KILL "$STACK_PID" 2>/dev/null
    wait "$STACK_PID" 2>/dev/null || true
  fi
  STACK_PID=""
  # PATGATE_KEEP_LOG=1 keeps the stack's log for a look afterwards.
  if [[ -n "$STACK_LOG" && "${PATGATE_KEEP_LOG:-0}" != 1 ]]; then
    rm -f "$STACK_LOG"
  fi
  STACK_LOG=""
}
