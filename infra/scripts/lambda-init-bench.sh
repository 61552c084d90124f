#!/usr/bin/env bash
# Measure each function's cold start locally: init time (process start -> its first
# GET /2018-06-01/runtime/invocation/next) and peak resident memory (VmHWM after it
# handled one representative event), against the repo's Lambda Runtime API emulator
# (infra/scripts/runtime_api_emulator.py) and a DynamoDB Local started here.
#
#   bash infra/scripts/lambda-init-bench.sh [--runs N] [--no-build] [--qemu]
#
#   --runs N    measurements per function (default 5): median init, max VmHWM
#   --no-build  use the existing host release binaries (target/release/<binary>)
#   --qemu      also run the aarch64 bootstraps (.aws-sam/build/*/bootstrap, else
#               target/lambda/*/bootstrap) under qemu-aarch64 (Debian qemu-user +
#               libc6-arm64-cross), reported separately as EMULATED figures
#
# What is measured: the functions are built for arm64 for Lambda, which this x86_64
# machine cannot run natively, so the main figures are for HOST (x86_64) release
# builds of the same code (`cargo build --release`, the workspace release profile).
# Each run starts a fresh process with a Lambda-like clean environment (128 MB,
# JSON logs, credentials "local", DynamoDB Local endpoint), serves one event, reads
# VmHWM from /proc/PID/status once the process asks for the next event, then stops it.
#
# Events (from tests/fixtures/events, patched): create-token POST /tokens, list-tokens
# GET /tokens, revoke-token DELETE /tokens/{id}, demo-echo GET /demo with a Lambda
# authorizer context, authorizer a TOKEN event carrying a real token that create-token
# issued in this run. The table and an active user record are created first.
# Budget (issue 6): init under 20 ms and peak RSS under 32 MB.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$repo_root/infra/scripts"
emulator="$scripts/runtime_api_emulator.py"
fixtures="$repo_root/tests/fixtures/events"
runs=5
build=true
qemu=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-build) build=false; shift ;;
    --qemu) qemu=true; shift ;;
    -h | --help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lambda-init-bench: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "lambda-init-bench: --runs needs a positive integer" >&2; exit 2; }

log() { printf 'lambda-init-bench: %s\n' "$*" >&2; }

# Order matters: create-token issues the tokens the authorizer and revoke-token use.
functions=(create-token list-tokens revoke-token authorizer demo-echo)

cd "$repo_root"
python="$(python3 -c 'import sys; print(sys.executable)')"

# ---------------------------------------------------------------- host binaries
target_dir="$(cargo metadata --no-deps --format-version 1 | "$python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
if $build; then
  pkgs=()
  for f in "${functions[@]}"; do pkgs+=(-p "$f"); done
  log "cargo build --release --locked ${pkgs[*]} (host $(uname -m))"
  cargo build --release --locked "${pkgs[@]}"
fi
for f in "${functions[@]}"; do
  [[ -x "$target_dir/release/$f" ]] || { log "missing $target_dir/release/$f (run without --no-build)"; exit 1; }
done

qemu_bin=""
qemu_sysroot=""
if $qemu; then
  qemu_bin="$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)"
  qemu_sysroot=/usr/aarch64-linux-gnu
  if [[ -z $qemu_bin || ! -e $qemu_sysroot/lib/ld-linux-aarch64.so.1 ]]; then
    log "--qemu needs qemu-aarch64 and $qemu_sysroot (apt-get install qemu-user libc6-arm64-cross)"
    exit 1
  fi
fi
arm_bootstrap() { # binary name -> aarch64 bootstrap path
  local logical
  logical="$(awk -v b="$1" '
    /^  [A-Za-z0-9]+:[[:space:]]*$/ { name = $1; sub(/:$/, "", name) }
    /^        Binary:/ && $2 == b { print name; exit }' template.yaml)"
  for p in ".aws-sam/build/$logical/bootstrap" "$target_dir/lambda/$1/bootstrap"; do
    [[ -n $logical && -f $p ]] && { echo "$repo_root/${p#"$repo_root/"}"; return; }
  done
  [[ -f "$target_dir/lambda/$1/bootstrap" ]] && echo "$target_dir/lambda/$1/bootstrap"
}

# ---------------------------------------------------------------- DynamoDB Local
work="$(mktemp -d)"
port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  "$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$scripts/dynamodb-local.sh" install
"$scripts/dynamodb-local.sh" start --in-memory --port "$port" >&2
endpoint="http://127.0.0.1:$port"
table="patgate-bench"
user="bench-user"

# DynamoDB JSON API over urllib: DynamoDB Local accepts any well-formed SigV4 header.
ddb() { # OPERATION JSON
  "$python" - "$endpoint" "$1" "$2" <<'EOF'
import json, sys, urllib.request
endpoint, op, body = sys.argv[1:]
req = urllib.request.Request(endpoint, data=body.encode(), method="POST", headers={
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810." + op,
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
    "X-Amz-Date": "20260101T000000Z",
})
with urllib.request.urlopen(req, timeout=10) as resp:
    resp.read()
EOF
}
ddb CreateTable '{"TableName":"'"$table"'","BillingMode":"PAY_PER_REQUEST",
  "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],
  "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}'
ddb PutItem '{"TableName":"'"$table"'","Item":{"pk":{"S":"USER#'"$user"'"},"sk":{"S":"PROFILE"},
  "user_id":{"S":"'"$user"'"},"roles":{"L":[{"S":"User"}]},"time_zone":{"S":"Europe/Paris"},
  "active":{"BOOL":true},"token_version":{"N":"0"}}}'
log "DynamoDB Local on $endpoint, table $table, user $user (role User)"

# The functions' settings as template.yaml deploys them by default: each Globals
# environment variable `NAME: !Ref Parameter` gets that parameter's Default. TABLE_NAME
# is the bench table; WEB_ORIGIN (no default) an example origin.
settings=()
while IFS= read -r kv; do settings+=("$kv"); done < <("$python" - template.yaml <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
params = {}
section = re.search(r"^Parameters:\n(.*?)^\S", text, re.S | re.M).group(1)
for name, body in re.findall(r"^  (\w+):\n((?:    .*\n|\s*\n)*)", section, re.M):
    m = re.search(r"^    Default:\s*(.+?)\s*$", body, re.M)
    if m:
        params[name] = m.group(1).strip('"\'')
env = re.search(r"^Globals:\n.*?^    Environment:\n      Variables:\n((?:        .*\n)+)", text, re.S | re.M).group(1)
for var, ref in re.findall(r"^        (\w+):\s*!Ref\s+(\w+)", env, re.M):
    if ref in params:
        print(f"{var}={params[ref]}")
EOF
)
settings+=(TABLE_NAME="$table" WEB_ORIGIN=https://app.example.com)
log "settings (template defaults): ${settings[*]}"

# ---------------------------------------------------------------- events
# make_event KIND [ARG] > file
make_event() {
  "$python" - "$fixtures" "$user" "$@" <<'EOF'
import datetime, json, sys
fixtures, user, kind, *arg = sys.argv[1:]
def proxy(method, resource, path, body=None, path_params=None, authorizer=None):
    e = json.load(open(f"{fixtures}/aws-proxy.json"))
    e.update(httpMethod=method, resource=resource, path=path, pathParameters=path_params,
             queryStringParameters=None, multiValueQueryStringParameters=None,
             stageVariables=None, body=body, isBase64Encoded=False)
    for h in (e["headers"], e["multiValueHeaders"]):
        h.pop("Accept", None)
    e["headers"]["Content-Type"] = "application/json"
    e["multiValueHeaders"]["Content-Type"] = ["application/json"]
    e["headers"]["Origin"] = "https://app.example.com"
    e["multiValueHeaders"]["Origin"] = ["https://app.example.com"]
    rc = e["requestContext"]
    rc.update(httpMethod=method, resourcePath=resource, path="/prod" + path)
    rc["authorizer"] = authorizer or {"claims": {"sub": user, "email": "bench@example.com"}}
    return e
expires = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
if kind == "create":
    e = proxy("POST", "/tokens", "/tokens",
              body=json.dumps({"name": f"bench-{arg[0]}", "description": "lambda-init-bench",
                               "expiresOn": expires, "timeZone": "Europe/Paris"}))
elif kind == "list":
    e = proxy("GET", "/tokens", "/tokens")
elif kind == "revoke":
    e = proxy("DELETE", "/tokens/{id}", f"/tokens/{arg[0]}", path_params={"id": arg[0]})
elif kind == "echo":
    e = proxy("GET", "/demo/{proxy+}", "/demo/catalog", path_params={"proxy": "catalog"},
              authorizer={"principalId": user, "userId": user, "tokenId": "bench",
                          "permissions": "catalog:read", "integrationLatency": 12})
elif kind == "authorizer":
    e = json.load(open(f"{fixtures}/authorizer-token.json"))
    e["authorizationToken"] = f"Bearer {arg[0]}"
    e["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/demo/catalog"
else:
    raise SystemExit(f"unknown event kind {kind}")
json.dump(e, sys.stdout)
EOF
}

# ---------------------------------------------------------------- measure
results="$work/results.jsonl"
: >"$results"
child_log="$work/child.log"

# run_one LABEL FUNCTION EVENT_FILE COMMAND... : one measurement, appended to $results
run_one() {
  local label="$1" fn="$2" event="$3"
  shift 3
  local out
  out="$(env -i PATH=/usr/bin:/bin LANG=C.UTF-8 TZ=UTC \
    "${settings[@]}" \
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_ENDPOINT_URL_DYNAMODB="$endpoint" \
    AWS_LAMBDA_FUNCTION_NAME="patgate-$fn" AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
    AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO \
    AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/patgate-$fn" AWS_LAMBDA_LOG_STREAM_NAME=bench \
    AWS_LAMBDA_INITIALIZATION_TYPE=on-demand LAMBDA_TASK_ROOT=/var/task _HANDLER=bootstrap \
    "$python" "$emulator" run --event "$event" --function-name "patgate-$fn" \
    --child-log "$child_log" -- "$@")" || {
    log "$label $fn: run failed: $out (child log: $(tail -n 5 "$child_log"))"
    return 1
  }
  "$python" -c 'import json,sys; r=json.loads(sys.argv[3]); r.update(label=sys.argv[1], function=sys.argv[2]); print(json.dumps(r))' \
    "$label" "$fn" "$out" >>"$results"
  printf '%s\n' "$out"
}

# Status (or authorizer effect) of one emulator report, for the log.
answer() {
  "$python" -c 'import json,sys
r = json.loads(sys.argv[1]); res = r.get("result")
if r["outcome"] != "response": print(r["outcome"], json.dumps(res)[:120])
elif isinstance(res, dict) and "statusCode" in res: print(res["statusCode"])
elif isinstance(res, dict) and "policyDocument" in res: print(res["policyDocument"]["Statement"][0]["Effect"])
else: print(json.dumps(res)[:120])' "$1"
}

measure_all() { # LABEL RUNNER-PREFIX...  (binary path appended by bin_for)
  local label="$1" i out fn bin tokens=() token_ids=()
  for fn in "${functions[@]}"; do
    bin="$(bin_for "$label" "$fn")"
    for ((i = 1; i <= runs; i++)); do
      case "$fn" in
        create-token) make_event create "$label-$i" >"$work/event.json" ;;
        list-tokens) make_event list >"$work/event.json" ;;
        revoke-token) make_event revoke "$(revoke_id "$i" "${token_ids[@]}")" >"$work/event.json" ;;
        authorizer) make_event authorizer "${tokens[0]}" >"$work/event.json" ;;
        demo-echo) make_event echo >"$work/event.json" ;;
      esac
      # shellcheck disable=SC2086
      out="$(run_one "$label" "$fn" "$work/event.json" $runner "$bin")"
      if [[ $fn == create-token ]]; then
        read -r token token_id < <("$python" -c 'import json,sys
r = json.loads(sys.argv[1])["result"]
b = json.loads(r["body"]) if r and r.get("statusCode") == 201 else {}
print(b.get("token", ""), b.get("id", ""))' "$out")
        [[ -n $token ]] && { tokens+=("$token"); token_ids+=("$token_id"); }
      fi
      log "$label $fn run $i: $("$python" -c 'import json,sys; r=json.loads(sys.argv[1]); print("init %s ms, VmHWM %s kB, invoke %s ms" % (r["init_ms"], r["vmhwm_kb"], r["invoke_ms"]))' "$out"), answer $(answer "$out")"
    done
    if [[ $fn == create-token && ${#tokens[@]} -eq 0 ]]; then
      log "create-token issued no token; the authorizer event will carry an unknown token"
      tokens=("pgt_unknown") token_ids=("unknown")
    fi
  done
}

# revoke_id RUN ID... : the token run RUN revokes; never the first one (the authorizer's).
revoke_id() {
  local run="$1"
  shift
  if [[ $# -gt 1 ]]; then
    local rest=("${@:2}")
    echo "${rest[$(((run - 1) % ${#rest[@]}))]}"
  else
    echo "$1"
  fi
}

bin_for() {
  if [[ $1 == host ]]; then echo "$target_dir/release/$2"; else arm_bootstrap "$2"; fi
}

runner=""
measure_all host
if $qemu; then
  runner="$qemu_bin -L $qemu_sysroot"
  for f in "${functions[@]}"; do
    [[ -n "$(arm_bootstrap "$f")" ]] || { log "no aarch64 bootstrap for $f (run infra/scripts/build-arm64.sh)"; exit 1; }
  done
  # The qemu pass issues its own tokens (runs x 2 in all, under MAX_TOKENS_PER_USER).
  measure_all qemu-aarch64
fi

# ---------------------------------------------------------------- report
"$python" - "$results" "$runs" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = sys.argv[2]
by = {}
for r in rows:
    by.setdefault((r["label"], r["function"]), []).append(r)
print()
for label in dict.fromkeys(r["label"] for r in rows):
    what = ("host x86_64 release build (cargo build --release), native" if label == "host"
            else "aarch64 bootstrap under qemu-user: EMULATED (init includes code translation,"
                 " VmHWM includes qemu itself); not representative of Lambda")
    print(f"== {label}: {what}; {runs} runs each")
    print(f"{'function':<14} {'init ms (median)':>16} {'init min..max':>15} {'VmHWM MB (max)':>15} {'invoke ms (median)':>19}  answers")
    for (lab, fn), rs in by.items():
        if lab != label:
            continue
        inits = [r["init_ms"] for r in rs]
        hwm = max(r["vmhwm_kb"] for r in rs) / 1024
        inv = statistics.median(r["invoke_ms"] for r in rs)
        answers = []
        for r in rs:
            res = r["result"]
            if r["outcome"] != "response":
                answers.append(r["outcome"])
            elif isinstance(res, dict) and "statusCode" in res:
                answers.append(str(res["statusCode"]))
            elif isinstance(res, dict) and "policyDocument" in res:
                answers.append(res["policyDocument"]["Statement"][0]["Effect"])
            else:
                answers.append("?")
        # Under qemu, VmHWM includes qemu's own memory (TCG translation cache) and init
        # includes translating the code: no budget verdict for emulated rows.
        over = statistics.median(inits) >= 20 or hwm >= 32
        flag = "  OVER BUDGET" if over and label == "host" else ""
        print(f"{fn:<14} {statistics.median(inits):>16.1f} {min(inits):>7.1f}..{max(inits):<7.1f} {hwm:>15.1f} {inv:>19.1f}  {','.join(answers)}{flag}")
    print()
print("budget (issue 6): init < 20 ms, peak RSS < 32 MB (MB = MiB, VmHWM / 1024)")
EOF
