#!/usr/bin/env bash
# Lint template.yaml with cfn-lint, `sam validate --lint`, and the reading `sam build`
# does first (infra/scripts/sam_template_check.py); all offline.
# Installs infra/requirements.txt first, but only when a tool is missing or
# not at its pinned version. Works from any directory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=python-tools.sh
source "$repo_root/infra/scripts/python-tools.sh"
ensure_python_tools aws-sam-cli cfn-lint -- sam cfn-lint

# sam validate needs a region even when it never calls AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# Keep SAM CLI from phoning home.
export SAM_CLI_TELEMETRY=0

cd "$repo_root"
echo "==> cfn-lint $(cfn-lint --version | awk '{print $2}') template.yaml"
cfn-lint template.yaml
echo "==> sam validate --lint (SAM CLI $(sam --version | awk '{print $4}'))"
sam validate --lint --template template.yaml
echo "==> the template as sam build reads it (SAM CLI's parser and local plugins)"
# SAM CLI's own interpreter: the one its entry script names.
sam_script="$(pyenv which sam 2>/dev/null || command -v sam)"
read -r -a sam_python <<<"$(head -n 1 "$sam_script" | sed 's/^#! *//')"
"${sam_python[@]}" infra/scripts/sam_template_check.py template.yaml
echo "lint-template: OK"
