#!/usr/bin/env bash
# Prepares what the browser tests and infra/web/measure.sh need (sourced by both):
#   - Debian's chromium when /usr/bin/chromium is missing (or CHROMIUM=/path); Playwright's
#     own browser download is not used;
#   - the web bundle: `npm ci` and `npm run build` in infra/web (dist/);
#   - a Python venv with tests/web/requirements.txt in infra/.local/web-venv
#     (reinstalled when requirements.txt changes; override with WEB_VENV=DIR);
#   - DynamoDB Local installed, and target/debug/patgate-local built if missing.
# Sets WEB_PYTHON (the venv's python) and CHROMIUM.
set -euo pipefail

WEB_TESTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$WEB_TESTS/../.." && pwd -P)"
WEB="$REPO_ROOT/infra/web"
VENV="${WEB_VENV:-$REPO_ROOT/infra/.local/web-venv}"
REQUIREMENTS="$WEB_TESTS/requirements.txt"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMIUM

step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x "$CHROMIUM" ]]; then
  step "installing chromium (Debian package)"
  if [[ "$(id -u)" = 0 ]]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
  fi
fi

step "web bundle (npm ci, build)"
(cd -- "$WEB" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)

step "Python venv ($VENV)"
if [[ ! -x "$VENV/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  printf '%s\n' "$WANT" >"$STAMP"
fi
WEB_PYTHON="$VENV/bin/python"

step "local stack"
"$REPO_ROOT/infra/scripts/dynamodb-local.sh" install
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$REPO_ROOT/$TARGET_DIR"
if [[ -z "${PATGATE_LOCAL_BIN:-}" && ! -x "$TARGET_DIR/debug/patgate-local" ]]; then
  (cd -- "$REPO_ROOT" && cargo build --quiet -p patgate-local)
fi
