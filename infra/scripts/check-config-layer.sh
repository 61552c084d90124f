#!/usr/bin/env bash
# The layer PatgateConfigLayer as `sam build` builds it (infra/config/Makefile): the
# demo file by default, and the file PATGATE_CONFIG names, each at
# patgate/config.json of the layer (/opt/patgate/config.json in the functions). Offline.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=python-tools.sh
source "$repo_root/infra/scripts/python-tools.sh"
ensure_python_tools aws-sam-cli -- sam
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0
cd "$repo_root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build() {
  sam build PatgateConfigLayer --build-dir "$work/$1" \
    --parameter-overrides WebOrigin=http://localhost:3000 >"$work/$1.log" 2>&1 ||
    { cat "$work/$1.log" >&2; exit 1; }
  echo "$work/$1/PatgateConfigLayer/patgate/config.json"
}
built="$(build default)"
cmp "$built" infra/config/permissions.json
python3 infra/scripts/large_config.py "$work/team.json"
built="$(PATGATE_CONFIG="$work/team.json" build team)"
cmp "$built" "$work/team.json"
if PATGATE_CONFIG="$work/missing.json" sam build PatgateConfigLayer --build-dir "$work/missing" \
  --parameter-overrides WebOrigin=http://localhost:3000 >"$work/missing.log" 2>&1; then
  echo "check-config-layer: a missing PATGATE_CONFIG file built a layer" >&2
  exit 1
fi
echo "check-config-layer: OK (the demo file by default, PATGATE_CONFIG otherwise, a missing file fails the build)"
