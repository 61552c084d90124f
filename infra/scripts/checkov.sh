#!/usr/bin/env bash
# checkov on the template as CloudFormation deploys it (the SAM transform of
# template.yaml with every optional part on), against the accepted findings of
# infra/checkov/baseline.txt: fails on a finding the baseline does not accept, and on a
# baseline entry that no longer matches anything. checkov runs from its own venv,
# infra/.local/checkov-venv, installed from infra/checkov/requirements.txt when missing
# or not at its pin. Offline (--skip-download). Works from any directory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
venv="infra/.local/checkov-venv"
requirements="infra/checkov/requirements.txt"
want="$(sed -n 's/^checkov==\([^[:space:]#]*\).*/\1/p' "$requirements")"

if [[ "$("$venv/bin/checkov" --version 2>/dev/null || true)" != "$want" ]]; then
  echo "installing checkov $want into $venv" >&2
  mkdir -p infra/.local
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q -r "$requirements"
fi

# SAM CLI's own interpreter has aws-sam-translator (infra/requirements.txt).
sam_script="$(pyenv which sam 2>/dev/null || command -v sam)"
read -r -a sam_python <<<"$(head -n 1 "$sam_script" | sed 's/^#! *//')"

work="infra/.local/checkov"
mkdir -p "$work"
"${sam_python[@]}" infra/scripts/checkov_check.py transform "$work/template.json"
# checkov exits 1 when anything fails; the baseline comparison decides.
"$venv/bin/checkov" --file "$work/template.json" --framework cloudformation \
  --skip-download --quiet --compact --output json >"$work/report.json" 2>"$work/checkov.log" || true
if [[ ! -s "$work/report.json" ]]; then
  echo "checkov wrote no report:" >&2
  cat "$work/checkov.log" >&2
  exit 1
fi
python3 infra/scripts/checkov_check.py compare "$work/report.json" infra/checkov/baseline.txt
