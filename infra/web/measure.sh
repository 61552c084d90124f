#!/usr/bin/env bash
# Figures of the web UI: bundle size (raw, gzip), time from page load to the token
# list on screen against the local stack (median of 20 loads), axe-core findings in
# every state. Usage: infra/web/measure.sh [--loads N]
# Prepares the same things as the browser tests (tests/web/setup.sh), then runs measure.py.
set -euo pipefail
source "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../../tests/web" && pwd -P)/setup.sh"
step "measuring"
exec "$WEB_PYTHON" "$WEB/measure.py" "$@"
