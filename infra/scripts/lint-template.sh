#!/usr/bin/env bash
# Lint template.yaml with cfn-lint and `sam validate --lint` (both offline).
# Installs infra/requirements.txt first, but only when a tool is missing or
# not at its pinned version. Works from any directory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
requirements="$repo_root/infra/requirements.txt"
template="$repo_root/template.yaml"

# Pinned version of a package in requirements.txt.
pinned() {
  sed -n "s/^$1==\([^[:space:]#]*\).*/\1/p" "$requirements"
}

# Installed version of a Python distribution, empty when absent.
installed() {
  python3 -c 'import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass' "$1"
}

need_install=false
for pkg in aws-sam-cli cfn-lint; do
  want="$(pinned "$pkg")"
  have="$(installed "$pkg")"
  if [[ "$have" != "$want" ]]; then
    echo "lint-template: $pkg ${have:-not installed}, want $want" >&2
    need_install=true
  fi
done
for cmd in sam cfn-lint; do
  command -v "$cmd" >/dev/null 2>&1 || need_install=true
done
if $need_install; then
  python3 -m pip install -q -r "$requirements"
fi

# sam validate needs a region even when it never calls AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# Keep SAM CLI from phoning home.
export SAM_CLI_TELEMETRY=0

cd "$repo_root"
echo "==> cfn-lint $(cfn-lint --version | awk '{print $2}') template.yaml"
cfn-lint template.yaml
echo "==> sam validate --lint (SAM CLI $(sam --version | awk '{print $4}'))"
sam validate --lint --template template.yaml
echo "lint-template: OK"
