#!/usr/bin/env bash
# Browser tests of the web UI against the local stack.
#
# Usage: tests/web/run.sh [pytest args]     e.g. tests/web/run.sh -k keyboard
#
# 1. setup.sh: chromium, `npm ci` + build of infra/web, the Python venv, DynamoDB Local,
#    target/debug/patgate-local (built only if missing: run `cargo build -p patgate-local`
#    after changing the stack);
# 2. the web UI's unit tests (`npm test`) and type check (`tsc --noEmit`);
# 3. pytest tests/web against the local stack (in memory, free ports, authorizer cache
#    off, development clock on), which serves the page, infra/web/dist, on a port of its
#    own (--web-port, --web-dir) with its CSP and generated config.json; a second stack
#    with other limits for the tests that need them. Screenshots of every state go to
#    tests/web/screenshots/ (git-ignored), axe findings to tests/web/screenshots/axe.json.
set -euo pipefail

source "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/setup.sh"

step "unit tests and type check (infra/web)"
(cd -- "$WEB" && npm test && npm run --silent typecheck)

step "browser tests"
cd -- "$WEB_TESTS"
exec "$WEB_PYTHON" -m pytest "$@"
