#!/usr/bin/env bash
# The property tests of the pure domain (shared/tests/properties.rs) with many more
# cases than the test command runs: a million per property by default.
#
#   bash infra/scripts/proptest-long.sh [CASES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cases="${1:-1000000}"
echo "==> ${cases} cases per property (release build)"
time PATGATE_PROPTEST_CASES="$cases" cargo test --release --locked -p patgate --test properties -- --test-threads 2
