#!/usr/bin/env bash
# Measures the CloudWatch Logs bytes per call: the real authorizer, create-token and
# list-tokens binaries, one event each under the Runtime API emulator with Lambda's
# JSON log format at LogLevel INFO, against the local stack (tests/e2e/test_log_bytes.py).
# Prints the table infra/docs/costs.md quotes and writes infra/.local/log-bytes.json.
#
#   bash infra/scripts/log-bytes.sh
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
python3 -m pip install -q -r tests/e2e/requirements.txt
cargo build --locked -p patgate-local -p authorizer -p create-token -p list-tokens
python3 -m pytest -q -s -p no:cacheprovider tests/e2e/test_log_bytes.py
