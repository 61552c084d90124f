#!/usr/bin/env bash
# Lint template.yaml with cfn-lint, `sam validate --lint`, and the reading `sam build`
# does first (infra/scripts/sam_template_check.py); then CloudFormation's SAM transform
# (aws-sam-translator) on it and on the example client stack for every combination of
# their boolean parameters, with cfn-lint on each transformed output; then checkov
# against its baseline (infra/scripts/checkov.sh). All offline.
# Installs infra/requirements.txt first, but only when a tool is missing or
# not at its pinned version. Works from any directory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=python-tools.sh
source "$repo_root/infra/scripts/python-tools.sh"
ensure_python_tools aws-sam-cli aws-sam-translator cfn-lint -- sam cfn-lint

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

templates=(template.yaml infra/examples/*/template.yaml)
echo "==> CloudFormation's SAM transform (aws-sam-translator $("${sam_python[@]}" -c 'import samtranslator; print(samtranslator.__version__)')), every combination of the boolean parameters"
transformed="infra/.local/transformed"
"${sam_python[@]}" infra/scripts/sam_transform_check.py "$transformed" "${templates[@]}"
echo "==> cfn-lint on each distinct transformed output"
# Two warnings are the transform's own doing, not the templates': W2001, a parameter
# SAM inlined into the API definition (Auth) reads as unused; W1028, the Fn::If
# branches SAM writes into conditional routes of an API whose resource has the same
# condition.
cfn-lint --ignore-checks W2001 W1028 -- "$transformed"/*.json
for example in infra/examples/*/template.yaml; do
  echo "==> cfn-lint $example, and as sam build reads it"
  cfn-lint "$example"
  "${sam_python[@]}" infra/scripts/sam_template_check.py "$example"
done

echo "==> checkov against infra/checkov/baseline.txt"
bash infra/scripts/checkov.sh
echo "lint-template: OK"
