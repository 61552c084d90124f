#!/usr/bin/env bash
# Prepares what the browser tests and infra/web/measure.sh need (sourced by both):
#   - Debian's chromium when /usr/bin/chromium is missing (or CHROMIUM=/path); Playwright's
#     own browser download is not used (and python3-venv if venv cannot bootstrap pip);
#   - the web bundle: `npm ci` and `npm run build` in infra/web (dist/), when missing or
#     out of date (infra/scripts/web-bundle.sh);
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

# Installs Debian packages (as root, or through sudo).
apt_install() {
  local run=()
  [[ "$(id -u)" = 0 ]] || run=(sudo)
  "${run[@]}" apt-get update -qq && "${run[@]}" apt-get install -y -qq "$@" >/dev/null
}

if [[ ! -x "$CHROMIUM" ]]; then
  step "installing chromium (Debian package)"
  apt_install chromium
fi

step "web bundle (npm ci, build: when out of date)"
"$REPO_ROOT/infra/scripts/web-bundle.sh"

step "Python venv ($VENV)"
if [[ ! -x "$VENV/bin/python" ]]; then
  if ! "${PYTHON:-python3}" -m venv "$VENV"; then
    # Debian ships venv's pip bootstrap apart.
    rm -rf -- "$VENV"
    step "installing python3-venv (Debian package)"
    apt_install python3-venv
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
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
