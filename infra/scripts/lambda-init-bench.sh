#!/usr/bin/env bash
# Cold start of every function against a hello-world lambda_runtime binary built with
# the same release profile, measured in one run, interleaved:
#
#   init         process start -> its first GET /2018-06-01/runtime/invocation/next
#   first invoke that event sent -> its response (includes the first DynamoDB call,
#                over TLS: DynamoDB Local behind a TLS proxy, with the system trust
#                store plus the proxy's certificate, as a function meets DynamoDB)
#   VmHWM        peak resident memory, read once the process asks for its second event
#
#   bash infra/scripts/lambda-init-bench.sh [--runs N] [--no-build] [--json FILE]
#                                           [--compare LABEL=DIR] [--plain-http]
#
#   --runs N            rounds (default 15); each round runs every binary once, in the
#                       same order, so slow phases of a loaded machine hit all alike
#   --no-build          use the existing host release binaries
#   --json FILE         also write one JSON object per measurement to FILE
#   --compare LABEL=DIR also run the functions' binaries found in DIR (another build
#                       of the same functions, e.g. before a change), in the same rounds;
#                       functions missing there are left out
#   --plain-http        DynamoDB Local over plain HTTP (no TLS proxy)
#   --arm64-qemu DIR    also run the aarch64 bootstraps of DIR (DIR/<function>/bootstrap,
#                       as cargo lambda writes target/lambda) under qemu-aarch64 with
#                       Debian's arm64 glibc, as another compare set: their answers
#                       show that the bootstraps Lambda would run serve every event
#                       (their times are the emulator's, not comparable)
#
# The functions run for arm64 on Lambda; this measures HOST release builds natively:
# the workspace release profile and the Lambda target's rustflags from
# .cargo/config.toml, built with --target <host> into target/<host>/release. Each run starts a
# fresh process with a Lambda-like environment (128 MB, JSON logs, region and
# credentials in the environment as Lambda sets them) against the Runtime API emulator
# (infra/scripts/runtime_api_emulator.py) and serves one representative event: a
# REQUEST authorizer event with a token issued in the same round, POST /tokens,
# GET /tokens, DELETE and rotate of that round's token, a leak report of a well-formed
# unknown token, an empty stream batch (events), a reminder run (nothing due), and a
# demo-echo call. Ratios are medians over the rounds, function / hello.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$repo_root/infra/scripts"
fixtures="$repo_root/tests/fixtures/events"
runs=15
build=true
json_out=""
compare=()
tls=true
arm64_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-build) build=false; shift ;;
    --json) json_out="$2"; shift 2 ;;
    --compare) compare+=("$2"); shift 2 ;;
    --plain-http) tls=false; shift ;;
    --arm64-qemu) arm64_dir="$2"; shift 2 ;;
    -h | --help) sed -n '2,37p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lambda-init-bench: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "lambda-init-bench: --runs needs a positive integer" >&2; exit 2; }

log() { printf 'lambda-init-bench: %s\n' "$*" >&2; }

# Order matters within a round: create-token issues the token the authorizer, rotate
# and revoke use.
functions=(create-token authorizer rotate-token revoke-token list-tokens revoke-credentials events reminders demo-echo)

cd "$repo_root"
target_dir="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# Built as the Lambda bootstraps are: the rustflags .cargo/config.toml gives the
# Lambda target (position-dependent executables), applied to the host triple through
# --target, so that build scripts and proc macros are left as they are.
host_triple="$(rustc -vV | sed -n 's/^host: //p')"
lambda_rustflags="$(python3 -c 'import sys, tomllib; print(" ".join(tomllib.load(open(sys.argv[1], "rb"))["target"]["aarch64-unknown-linux-gnu"]["rustflags"]))' .cargo/config.toml)"
bin_dir="$target_dir/$host_triple/release"
if $build; then
  pkgs=(-p hello-lambda)
  for f in "${functions[@]}"; do pkgs+=(-p "$f"); done
  log "cargo build --release --locked --target $host_triple ${pkgs[*]} (rustflags: $lambda_rustflags)"
  env "CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$host_triple")_RUSTFLAGS=$lambda_rustflags" \
    cargo build --release --locked --target "$host_triple" "${pkgs[@]}" >&2
fi
for f in hello-lambda "${functions[@]}"; do
  [[ -x "$bin_dir/$f" ]] || { log "missing $bin_dir/$f (run without --no-build)"; exit 1; }
done

work="$(mktemp -d)"
if [[ -n $arm64_dir ]]; then
  if ! command -v qemu-aarch64 >/dev/null 2>&1 || [[ ! -d /usr/aarch64-linux-gnu/lib ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log "installing qemu-user and libc6-arm64-cross (Debian)"
      apt-get install -y -qq qemu-user libc6-arm64-cross >&2
    else
      log "--arm64-qemu needs qemu-aarch64 and /usr/aarch64-linux-gnu (apt-get install qemu-user libc6-arm64-cross)"
      exit 1
    fi
  fi
  mkdir -p "$work/arm64"
  for f in "${functions[@]}"; do
    bootstrap="$(cd "$arm64_dir" && pwd)/$f/bootstrap"
    [[ -x $bootstrap ]] || continue
    printf '#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu %s "$@"\n' "$bootstrap" >"$work/arm64/$f"
    chmod +x "$work/arm64/$f"
  done
  compare+=("arm64-qemu=$work/arm64")
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  "$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$scripts/dynamodb-local.sh" install >&2
"$scripts/dynamodb-local.sh" start --in-memory --port "$port" >&2

if $tls; then
  # A certificate for localhost from a CA of this run, trusted through a bundle of the
  # system's roots plus that CA: the functions load a full trust store, as they do on
  # Lambda. (webpki refuses a self-signed CA certificate as a server's.)
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lambda-init-bench CA" \
    -keyout "$work/ca-key.pem" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/leaf.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/leaf.ext"
  openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$work/leaf.ext" -out "$work/cert.pem" 2>/dev/null
  system_roots=""
  for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    [[ -f $f ]] && { system_roots="$f"; break; }
  done
  cat ${system_roots:+"$system_roots"} "$work/ca.pem" >"$work/roots.pem"
fi

python3 - "$repo_root" "$bin_dir" "$port" "$runs" "$tls" "$work" "$json_out" "${compare[@]}" <<'EOF'
import datetime, json, os, re, statistics, sys, time, urllib.request

repo, bin_dir, port, runs, tls, work, json_out, *compare = sys.argv[1:]
runs, tls = int(runs), tls == "true"
sys.path.insert(0, os.path.join(repo, "infra", "scripts"))
from runtime_api_emulator import measure, tls_proxy

fixtures = os.path.join(repo, "tests", "fixtures", "events")
functions = ["create-token", "authorizer", "rotate-token", "revoke-token", "list-tokens",
             "revoke-credentials", "events", "reminders", "demo-echo"]
plain = f"http://127.0.0.1:{port}"
table, user = "patgate-bench", "bench-user"

def log(msg):
    print(f"lambda-init-bench: {msg}", file=sys.stderr, flush=True)

def ddb(op, body):
    req = urllib.request.Request(plain, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810." + op,
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
        "X-Amz-Date": "20260101T000000Z",
    })
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")

ddb("CreateTable", {"TableName": table, "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                  {"AttributeName": "sk", "KeyType": "RANGE"}]})
ddb("PutItem", {"TableName": table, "Item": {
    "pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}, "user_id": {"S": user},
    "roles": {"L": [{"S": "User"}]}, "time_zone": {"S": "Europe/Paris"},
    "active": {"BOOL": True}, "access_version": {"N": "1"}}})

endpoint = plain
if tls:
    proxy_port = tls_proxy("127.0.0.1", int(port), f"{work}/cert.pem", f"{work}/key.pem")
    endpoint = f"https://localhost:{proxy_port}"
log(f"DynamoDB Local at {endpoint}{' (TLS proxy)' if tls else ''}, table {table}, user {user} (role User)")

# The functions' settings as template.yaml deploys them by default: each Globals
# environment variable `NAME: !Ref Parameter` gets that parameter's Default.
text = open(os.path.join(repo, "template.yaml")).read()
params = {}
section = re.search(r"^Parameters:\n(.*?)^\S", text, re.S | re.M).group(1)
for name, body in re.findall(r"^  (\w+):\n((?:    .*\n|\s*\n)*)", section, re.M):
    m = re.search(r"^    Default:\s*(.+?)\s*$", body, re.M)
    if m:
        params[name] = m.group(1).strip("\"'")
genv = re.search(r"^Globals:\n.*?^    Environment:\n      Variables:\n((?:        .*\n)+)", text, re.S | re.M).group(1)
settings = {var: params[ref] for var, ref in re.findall(r"^        (\w+):\s*!Ref\s+(\w+)", genv, re.M) if ref in params}
settings.update(TABLE_NAME=table, WEB_ORIGIN="https://app.example.com")
# The permission configuration (the layer's /opt/patgate/config.json on Lambda): the
# demo file, and for "authorizer-200routes" a realistic one of 200 routes and 10 roles
# in 5 tables (infra/scripts/large_config.py), to see what reading a large file adds
# to a cold start.
demo_config = os.path.join(repo, "infra/config/permissions.json")
large_config_path = f"{work}/permissions-200routes.json"
from large_config import large_config
json.dump(large_config(), open(large_config_path, "w"), indent=2)

def environment(fn):
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC", **settings,
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "ASIALOCALBENCH", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_SESSION_TOKEN": "local",
           "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
           # Nothing is due, so nothing is published; a call would fail fast here.
           "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:9",
           "AWS_LAMBDA_FUNCTION_NAME": f"patgate-{fn}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_FORMAT": "JSON",
           "AWS_LAMBDA_LOG_LEVEL": "INFO", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/patgate-{fn}",
           "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
           "LAMBDA_TASK_ROOT": "/var/task", "_HANDLER": "bootstrap",
           "PATGATE_CONFIG_PATH": large_config_path if fn == "authorizer-200routes" else demo_config}
    if tls:
        env["SSL_CERT_FILE"] = f"{work}/roots.pem"
    return env

def proxy(method, resource, path, body=None, path_params=None, authorizer=None):
    e = json.load(open(f"{fixtures}/aws-proxy.json"))
    e.update(httpMethod=method, resource=resource, path=path, pathParameters=path_params,
             queryStringParameters=None, multiValueQueryStringParameters=None,
             stageVariables=None, body=body, isBase64Encoded=False)
    for h in (e["headers"], e["multiValueHeaders"]):
        h.pop("Accept", None)
    e["headers"].update({"Content-Type": "application/json", "Origin": "https://app.example.com"})
    e["multiValueHeaders"].update({"Content-Type": ["application/json"], "Origin": ["https://app.example.com"]})
    rc = e["requestContext"]
    rc.update(httpMethod=method, resourcePath=resource, path="/prod" + path)
    rc["authorizer"] = {"claims": {"sub": user, "email": "bench@example.com"}} if authorizer is None else authorizer
    return e

def forged_token():
    # Well-formed (right length, alphabet and checksum) but never issued: one read.
    import zlib
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    body = "bench" + "x" * 38
    crc = zlib.crc32(f"pgt_{body}".encode())
    digits = ""
    for _ in range(6):
        crc, r = divmod(crc, 62)
        digits = alphabet[r] + digits
    return f"pgt_{body}{digits}"

expires = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
def event(fn, rnd, token):
    if fn == "hello":
        return {"hello": "world"}
    if fn == "create-token":
        return proxy("POST", "/tokens", "/tokens", body=json.dumps(
            {"name": f"bench-{rnd}", "expiresOn": expires, "timeZone": "Europe/Paris"}))
    if fn in ("authorizer", "authorizer-200routes"):
        e = json.load(open(f"{fixtures}/authorizer-request.json"))
        e["headers"]["Authorization"] = f"Bearer {token['token']}"
        e["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/catalog"
        e["resource"] = e["path"] = "/catalog"
        e["httpMethod"] = e["requestContext"]["httpMethod"] = "GET"
        e["requestContext"]["resourcePath"] = "/catalog"
        e["stageVariables"] = {"patgateApi": "patgate"}
        e["requestContext"]["identity"]["sourceIp"] = "203.0.113.7"
        return e
    if fn == "rotate-token":
        return proxy("POST", "/tokens/{id}/rotate", f"/tokens/{token['id']}/rotate",
                     body="{}", path_params={"id": token["id"]})
    if fn == "revoke-token":
        return proxy("DELETE", "/tokens/{id}", f"/tokens/{token['id']}", path_params={"id": token["id"]})
    if fn == "list-tokens":
        return proxy("GET", "/tokens", "/tokens")
    if fn == "revoke-credentials":
        return proxy("POST", "/credentials/revoke", "/credentials/revoke",
                     body=json.dumps({"credentials": [forged_token()]}), authorizer={})  # no authorizer
    if fn == "events":
        return {"Records": []}
    if fn == "reminders":
        return {"version": "0", "id": "bench", "detail-type": "Scheduled Event",
                "source": "aws.events", "time": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": "us-east-1", "resources": [], "detail": {}}
    if fn == "demo-echo":
        return proxy("GET", "/demo/{proxy+}", "/demo/catalog", path_params={"proxy": "catalog"},
                     authorizer={"principalId": user, "userId": user, "tokenId": "bench",
                                 "permissions": "catalog:read", "integrationLatency": 12})
    raise SystemExit(f"no event for {fn}")

def answer(r):
    res = r["result"]
    if r["outcome"] != "response":
        return f"{r['outcome']}"
    if isinstance(res, dict) and "statusCode" in res:
        return str(res["statusCode"])
    if isinstance(res, dict) and "policyDocument" in res:
        return res["policyDocument"]["Statement"][0]["Effect"]
    return "ok"

# What each event must get: a wrong answer means the measurement is of an error path.
expected = {"create-token": "201", "authorizer": "Allow", "authorizer-200routes": "Allow", "rotate-token": "201",
            "revoke-token": "204", "list-tokens": "200", "revoke-credentials": "202",
            "events": "ok", "reminders": "ok", "demo-echo": "200", "hello": "ok"}

sets = [("release", bin_dir)]
for c in compare:
    label, _, path = c.partition("=")
    sets.append((label, os.path.abspath(path)))
binaries = [("hello", "hello", os.path.join(bin_dir, "hello-lambda"))]
measured = [g for fn in functions for g in ([fn, "authorizer-200routes"] if fn == "authorizer" else [fn])]
for fn in measured:
    for label, path in sets:
        binary = os.path.join(path, "authorizer" if fn == "authorizer-200routes" else fn)
        if label != "release" and not os.access(binary, os.X_OK):
            log(f"--compare {label}: no {fn} in {path}, left out")
            continue
        binaries.append((label, fn, binary))
for _, _, b in binaries:
    if not os.access(b, os.X_OK):
        raise SystemExit(f"missing binary {b}")

rows = []
child_log = open(f"{work}/child.log", "ab")
bad = 0
for rnd in range(1, runs + 1):
    tokens = {}
    for label, fn, binary in binaries:
        token = tokens.get(label) or tokens.get("release")
        if token is None and fn in ("authorizer", "authorizer-200routes", "rotate-token", "revoke-token"):
            raise SystemExit(f"round {rnd}: no token was issued, so {fn} has no event")
        ev = event(fn, rnd, token)
        r = measure([binary], json.dumps(ev).encode(), f"patgate-{fn}", env=environment(fn),
                    child_log=child_log)
        r.update(label=label, function=fn, round=rnd, answer=answer(r))
        if fn == "create-token" and r["answer"] == "201":
            body = json.loads(r["result"]["body"])
            tokens[label] = {"token": body["token"], "id": body["id"]}
        if r["answer"] != expected[fn]:
            bad += 1
            log(f"round {rnd} {label} {fn}: answer {r['answer']}, want {expected[fn]}: {json.dumps(r['result'])[:200]}")
            child_log.flush()
            with open(f"{work}/child.log", errors="replace") as f:
                log("its log ends: " + "".join(f.readlines()[-3:])[-600:])
        r.pop("result")
        rows.append(r)
    done = [x for x in rows if x["round"] == rnd]
    log(f"round {rnd}/{runs}: " + ", ".join(f"{x['function'] if x['label'] in ('release', 'hello') else x['label'] + ':' + x['function']} {x['init_ms']:.1f}" for x in done))

if json_out:
    with open(json_out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

med = statistics.median
def group(label, fn):
    return [r for r in rows if r["label"] == label and r["function"] == fn]
hello = group("hello", "hello")
h_init = med(r["init_ms"] for r in hello)
h_hwm = max(r["vmhwm_kb"] for r in hello) / 1024
print()
print(f"cold start, host {os.uname().machine} release builds, {runs} rounds interleaved"
      f" (DynamoDB Local over {'TLS' if tls else 'plain HTTP'}); medians, VmHWM the max")
print(f"{'binary':<28} {'init ms':>8} {'x hello':>8} {'p10..p90 ms':>14} {'VmHWM MB':>9} {'x hello':>8}"
      f" {'1st invoke ms':>14} {'init+1st ms':>12}  answers")
def line(name, rs):
    inits = sorted(r["init_ms"] for r in rs)
    p10, p90 = inits[int(0.1 * (len(inits) - 1))], inits[int(round(0.9 * (len(inits) - 1)))]
    hwm = max(r["vmhwm_kb"] for r in rs) / 1024
    inv = med(r["invoke_ms"] for r in rs)
    tot = med(r["init_ms"] + r["invoke_ms"] for r in rs)
    answers = sorted({r["answer"] for r in rs})
    print(f"{name:<28} {med(inits):>8.2f} {med(inits) / h_init:>8.2f} {p10:>6.1f}..{p90:<6.1f} "
          f"{hwm:>9.1f} {hwm / h_hwm:>8.2f} {inv:>14.2f} {tot:>12.2f}  {','.join(answers)}")
line("hello (lambda_runtime)", hello)
for label, _ in sets:
    for fn in functions:
        if group(label, fn):
            line(fn if label == "release" else f"{fn} [{label}]", group(label, fn))
print("x hello: the function's median over hello's median (init), max over max (VmHWM);"
      " MB = MiB")
if bad:
    log(f"{bad} measurements got an unexpected answer (see above)")
    sys.exit(1)
EOF
