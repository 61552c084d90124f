#!/usr/bin/env bash
# Builds the web page's bundle (infra/web/dist) when it is missing or out of date:
#   - `npm ci` in infra/web when node_modules is missing or older than package-lock.json;
#   - `npm run build` when dist/ is missing or older than anything it is built from
#     (src/, build.mjs, tsconfig.json, package.json, the installed packages).
# Otherwise it does nothing, in well under a second.
#
# Usage: infra/scripts/web-bundle.sh [--force]    (--force: npm ci and build regardless)
# Used by run-local.sh and tests/web/setup.sh; needs Node 20 and npm.
set -euo pipefail

WEB="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../web" && pwd -P)"
force=false
case "${1:-}" in
  "") ;;
  --force) force=true ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

command -v npm >/dev/null 2>&1 ||
  { echo "web-bundle: npm not found; the web page needs Node 20 and npm (https://nodejs.org)" >&2; exit 1; }

installed="$WEB/node_modules/.package-lock.json" # npm writes it at every install
if $force || [[ ! -f "$installed" || "$WEB/package-lock.json" -nt "$installed" ]]; then
  echo "web-bundle: installing the web page's packages (npm ci in infra/web)..." >&2
  (cd -- "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
fi

built="$WEB/dist/page.js" # every build writes dist/ afresh
stale() {
  [[ ! -f "$built" ]] ||
    [[ -n "$(find "$WEB/src" "$WEB/build.mjs" "$WEB/tsconfig.json" "$WEB/package.json" "$installed" \
      -newer "$built" -print -quit)" ]]
}
if $force || stale; then
  echo "web-bundle: building the web page (npm run build in infra/web)..." >&2
  (cd -- "$WEB" && npm run --silent build)
fi
