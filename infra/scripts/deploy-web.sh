#!/usr/bin/env bash
# Publishes the "My access tokens" page to the stack's hosting (EnableWebHosting=true):
# builds infra/web, writes its config.json from the stack's outputs and parameters
# (the API URL, the Cognito hosted UI's domain and app client), uploads both to the
# private bucket and invalidates the CloudFront cache.
#
#   bash infra/scripts/deploy-web.sh STACK_NAME [--region REGION]
#
# Needs the AWS CLI v2 with credentials for the stack's account, and Node/npm.
# Run it after every `sam deploy` that changes the API URL or the Cognito settings,
# and after every change to infra/web.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
stack="${1:?usage: deploy-web.sh STACK_NAME [--region REGION]}"
shift
region_args=("$@")

command -v aws >/dev/null || { echo "deploy-web: the AWS CLI (v2) is required" >&2; exit 1; }

describe() {
  aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]}" --output json
}
stack_json="$(describe)"
# value Outputs|Parameters KEY: one output or parameter of the stack ("" if absent).
value() {
  python3 -c '
import json, sys
kind, key = sys.argv[1], sys.argv[2]
stack = json.load(sys.stdin)["Stacks"][0]
name, value = ("OutputKey", "OutputValue") if kind == "Outputs" else ("ParameterKey", "ParameterValue")
print(next((e[value] for e in stack.get(kind, []) if e[name] == key), ""))
' "$1" "$2" <<<"$stack_json"
}

bucket="$(value Outputs WebBucketName)"
distribution="$(value Outputs WebDistributionId)"
web_url="$(value Outputs WebUrl)"
api_url="$(value Outputs ApiUrl)"
cognito_domain="$(value Parameters CognitoDomain)"
client_id="$(value Parameters CognitoAppClientId)"
[[ -n "$bucket" ]] || { echo "deploy-web: stack $stack does not host the page (EnableWebHosting=true)" >&2; exit 1; }
[[ -n "$cognito_domain" && -n "$client_id" ]] || { echo "deploy-web: set the CognitoDomain and CognitoAppClientId parameters" >&2; exit 1; }

echo "deploy-web: building infra/web"
(cd "$repo_root/infra/web" && npm ci --no-audit --no-fund && npm run build)

config="$(mktemp)"
python3 - "$api_url" "$cognito_domain" "$client_id" "$web_url" >"$config" <<'PY'
import json, sys
api, domain, client, page = sys.argv[1:5]
print(json.dumps({"apiBase": api, "mode": "cognito", "cognitoDomain": domain,
                  "clientId": client, "redirectUri": page}, indent=2))
PY

# The distribution's Content-Security-Policy header allows the region's execute-api
# hosts (it cannot name this stack's API: template.yaml, WebSecurityHeaders). A second
# policy in the page names this API and the Cognito domain; a browser enforces both,
# so the page may connect to this API only.
python3 - "$repo_root/infra/web/dist/index.html" "$api_url" "$cognito_domain" <<'PY'
import sys
from urllib.parse import urlsplit
page, api, domain = sys.argv[1:4]
api_origin = "{0.scheme}://{0.netloc}".format(urlsplit(api))
meta = (f'<meta http-equiv="Content-Security-Policy" '
        f'content="connect-src \'self\' {api_origin} https://{domain}" />')
text = open(page, encoding="utf-8").read()
anchor = '<meta charset="utf-8" />'
if anchor not in text:
    sys.exit(f"deploy-web: {page} has no {anchor}")
open(page, "w", encoding="utf-8").write(text.replace(anchor, anchor + "\n    " + meta, 1))
PY

echo "deploy-web: uploading to s3://$bucket"
aws s3 sync "$repo_root/infra/web/dist/" "s3://$bucket/" --delete --exclude config.json \
  --cache-control "public, max-age=300" "${region_args[@]}"
aws s3 cp "$config" "s3://$bucket/config.json" --content-type application/json \
  --cache-control "no-cache" "${region_args[@]}"
rm -f "$config"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*" >/dev/null
echo "deploy-web: published on $web_url"
