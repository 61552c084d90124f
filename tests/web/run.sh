#!/usr/bin/env bash
# Browser tests of the web UI against the local stack.
#
# Usage: tests/web/run.sh [pytest args]     e.g. tests/web/run.sh -k keyboard
#
# 1. Debian's chromium (apt-get install -y chromium) when /usr/bin/chromium is missing
#    (or CHROMIUM=/path/to/chromium); Playwright's own browser download is not used;
# 2. the web bundle: `npm ci`, unit tests (`npm test`), type check and
#    `npm run build` in infra/web;
# 3. a Python venv with tests/web/requirements.txt in infra/.local/web-venv
#    (reinstalled when requirements.txt changes; override with WEB_VENV=DIR);
# 4. DynamoDB Local installed, and target/debug/patgate-local built if missing
#    (`cargo build -p patgate-local`; the tests never rebuild it);
# 5. pytest tests/web: one local stack (in memory, free ports, authorizer cache off)
#    and the page served from infra/web/dist on another port with a strict CSP.
#    Screenshots of every state go to tests/web/screenshots/ (git-ignored).
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
WEB="$REPO_ROOT/infra/web"
VENV="${WEB_VENV:-$REPO_ROOT/infra/.local/web-venv}"
REQUIREMENTS="$SCRIPT_DIR/requirements.txt"
PYTHON="${PYTHON:-python3}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMIUM

step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x "$CHROMIUM" ]]; then
  step "installing chromium (Debian package)"
  if [[ "$(id -u)" = 0 ]]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
fi

step "web bundle: npm ci, unit tests, type check, build"
(cd -- "$WEB" && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run --silent typecheck && npm run --silent build)

step "Python venv ($VENV)"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  printf '%s\n' "$WANT" >"$STAMP"
fi

step "local stack"
"$REPO_ROOT/infra/scripts/dynamodb-local.sh" install
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
if [[ -z "${PATGATE_LOCAL_BIN:-}" && ! -x "$TARGET_DIR/debug/patgate-local" ]]; then
  (cd -- "$REPO_ROOT" && cargo build --quiet -p patgate-local)
fi

step "browser tests"
cd -- "$SCRIPT_DIR"
exec "$VENV/bin/python" -m pytest "$@"
