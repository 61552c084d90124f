#!/usr/bin/env bash
# Every benchmark of patgate in one run, and one table of ratios at the end, with the
# machine and the build described:
#
#   decision    the authorizer against one consistent GetItem, interleaved
#               (tests/benches/authorizer_latency.rs), against a DynamoDB Local of
#               this run
#   cold start  init and peak RSS of every function against a hello-world
#               lambda_runtime binary, and the first invocation
#               (infra/scripts/lambda-init-bench.sh)
#   size        the aarch64 bootstraps, when built (infra/scripts/check-bootstraps.sh;
#               build them with infra/scripts/build-arm64.sh)
#   lifecycle   stream records per second through the events function, and a day of
#               reminders (infra/scripts/bench-lifecycle.sh, --lifecycle-tokens)
#   config      reading and checking the permission configuration at cold start: the
#               demo file against a 200-route, 10-role one (infra/scripts/large_config.py,
#               patgate-config time); the cold start rows include the authorizer with
#               that file (authorizer-200routes)
#   cache mix   authorizer invocations per 1,000 requests of 20 tokens x 10 routes,
#               TTL 300 s, with the cache keyed by token and route (template.yaml's
#               identity sources) against token alone (infra/local authorizer-cache-mix)
#   local stack the local gateway's req/s with the policy cache off against raw
#               consistent GetItem/s at the same concurrency, release builds
#               (infra/scripts/bench-local.sh --compare-getitem), when wrk is installed
#   revocation  commit of a revoke to the first refused call at the local gateway with
#               the authorizer cache at 300 s (p50/p99), and the cache hit rate of 20
#               tokens x 10 routes with one revocation a minute (simulated clock)
#               (infra/scripts/bench-revocation.py)
#
#   bash infra/scripts/bench.sh [--runs N] [--lifecycle-tokens N] [--bootstraps DIR]
#                               [--skip NAME]...
#
#   --runs N              cold start rounds (default 15)
#   --bootstraps DIR      where the aarch64 bootstraps are (default: check-bootstraps.sh's
#                         own choice, .aws-sam/build or target/lambda)
#   --lifecycle-tokens N  tokens of the day of reminders (default 10000)
#   --skip NAME           leave out decision, cold-start, size, lifecycle, config, cache-mix,
#                         local or revocation
#
# Host release builds (the workspace release profile, which `cargo bench` inherits).
# The figures are ratios taken within one run, so they compare like with like on a
# loaded machine; the absolute times are this machine's.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$repo_root/infra/scripts"
cd "$repo_root"

runs=15
lifecycle_tokens=10000
skip=" "
bootstraps=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --lifecycle-tokens) lifecycle_tokens="$2"; shift 2 ;;
    --skip) skip+="$2 "; shift 2 ;;
    --bootstraps) bootstraps=("$2"); shift 2 ;;
    -h | --help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
wanted() { [[ $skip != *" $1 "* ]]; }
log() { printf '\n==> bench: %s\n' "$*" >&2; }

out="$(mktemp -d)"
port=""
cleanup() {
  [[ -n $port ]] && "$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1
  rm -rf "$out"
}
trap cleanup EXIT

# ---------------------------------------------------------------- machine and build
profile() { sed -n '/^\[profile.release\]/,/^\[/{/^[a-z-]* *=/p}' Cargo.toml | tr -s ' ' | paste -sd ';' | sed 's/;/; /g'; }
{
  echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
    "$(uname -sr) $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
  echo "build: $(rustc -V), host release profile: $(profile)"
  echo "Lambda target rustflags (.cargo/config.toml; the cold start builds use them too): $(sed -n 's/^rustflags *= *//p' .cargo/config.toml)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)')"
} >"$out/header"
cat "$out/header" >&2

"$scripts/dynamodb-local.sh" install >/dev/null

# ---------------------------------------------------------------- decision
if wanted decision; then
  log "decision latency: authorizer vs one consistent GetItem (tests/benches/authorizer_latency.rs)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$scripts/dynamodb-local.sh" start --in-memory --port "$port" >&2
  PATGATE_TEST_DYNAMODB="http://127.0.0.1:$port" \
    cargo bench --locked -p patgate-tests --bench authorizer_latency | tee "$out/decision"
  "$scripts/dynamodb-local.sh" stop --port "$port" >/dev/null 2>&1 || true
  port=""
fi

# ---------------------------------------------------------------- cold start
if wanted cold-start; then
  log "cold start: every function against hello-lambda (infra/scripts/lambda-init-bench.sh --runs $runs)"
  bash "$scripts/lambda-init-bench.sh" --runs "$runs" --json "$out/cold.jsonl" | tee "$out/cold"
fi

# ---------------------------------------------------------------- size
if wanted size; then
  log "bootstrap sizes (infra/scripts/check-bootstraps.sh)"
  if [[ -d .aws-sam/build || -d target/lambda || ${#bootstraps[@]} -gt 0 ]] &&
    bash "$scripts/check-bootstraps.sh" "${bootstraps[@]}" | tee "$out/size"; then
    :
  else
    echo "no aarch64 bootstraps built (infra/scripts/build-arm64.sh builds them)" | tee "$out/size-missing"
    rm -f "$out/size"
  fi
fi

# ---------------------------------------------------------------- lifecycle
if wanted lifecycle; then
  log "lifecycle throughput (infra/scripts/bench-lifecycle.sh $lifecycle_tokens)"
  bash "$scripts/bench-lifecycle.sh" "$lifecycle_tokens" | tee "$out/lifecycle"
fi

# ---------------------------------------------------------------- config
if wanted config; then
  log "permission configuration load at cold start (patgate-config time)"
  python3 "$scripts/large_config.py" "$out/permissions-200routes.json"
  cargo run -q --release --locked -p patgate-config -- time --runs 500 \
    infra/config/permissions.json "$out/permissions-200routes.json" | tee "$out/config"
fi

# ---------------------------------------------------------------- cache mix
if wanted cache-mix; then
  log "authorizer invocations per 1,000 requests (cargo run --release -p patgate-local --bin authorizer-cache-mix)"
  cargo run -q --release --locked -p patgate-local --bin authorizer-cache-mix | tee "$out/cache-mix"
fi

# ---------------------------------------------------------------- local stack
if wanted local; then
  if [[ -f $scripts/bench-local.sh ]] && command -v wrk >/dev/null 2>&1; then
    # A release stack and its GetItem driver, built with the same profile: the floor is
    # DynamoDB Local's, so a debug client would measure itself.
    log "cargo build --release --locked -p patgate-local"
    cargo build --release --locked -p patgate-local >&2
    log "local stack under load (infra/scripts/bench-local.sh --cache-ttl 0 --compare-getitem)"
    bash "$scripts/bench-local.sh" --binary "$repo_root/target/release/patgate-local" \
      --cache-ttl 0 --compare-getitem | tee "$out/local" ||
      echo "bench-local.sh failed" >"$out/local-failed"
  else
    echo "bench-local.sh or wrk missing: local stack not measured" | tee "$out/local-missing"
  fi
fi

# ---------------------------------------------------------------- revocation
if wanted revocation; then
  log "revocation latency and cache hit rate (infra/scripts/bench-revocation.py)"
  cargo build --locked -p patgate-local >&2
  python3 "$scripts/bench-revocation.py" | tee "$out/revocation" ||
    echo "bench-revocation.py failed" >"$out/revocation-failed"
fi

# ---------------------------------------------------------------- the table
python3 - "$out" <<'EOF'
import json, os, re, statistics, sys
out = sys.argv[1]
def read(name):
    p = os.path.join(out, name)
    return open(p).read() if os.path.exists(p) else None

rows = []  # (area, what, ratio, target, figures)
def row(area, what, ratio, target, figures):
    rows.append((area, what, ratio, target, figures))

text = read("decision")
if text:
    def us(label):
        m = re.search(rf"{label}\s+p50\s+([\d.]+) us\s+p99\s+([\d.]+) us", text)
        return (float(m.group(1)), float(m.group(2))) if m else (None, None)
    g50, g99 = us("one consistent GetItem")
    a50, a99 = us("authorizer, allow")
    f50, _ = us("authorizer, forged token")
    if g50 and a50:
        row("decision", "authorizer p50 / consistent GetItem p50", a50 / g50, "<= 1.15",
            f"{a50:.0f} us / {g50:.0f} us")
        row("decision", "authorizer p99 / consistent GetItem p99", a99 / g99, "<= 1.3",
            f"{a99:.0f} us / {g99:.0f} us")
    if f50 and g50:
        row("decision", "forged token p50 / GetItem p50 (no network)", f50 / g50, "",
            f"{f50:.1f} us")

cold = read("cold.jsonl")
if cold:
    rs = [json.loads(l) for l in cold.splitlines()]
    med = statistics.median
    hello = [r for r in rs if r["function"] == "hello"]
    h_init = med(r["init_ms"] for r in hello)
    h_hwm = max(r["vmhwm_kb"] for r in hello)
    fns = list(dict.fromkeys(r["function"] for r in rs if r["function"] != "hello"))
    for fn in fns:
        g = [r for r in rs if r["function"] == fn and r["label"] == "release"]
        init = med(r["init_ms"] for r in g)
        hwm = max(r["vmhwm_kb"] for r in g)
        inv = med(r["invoke_ms"] for r in g)
        row("cold start", f"{fn}: init / hello init", init / h_init, "<= 1.5",
            f"{init:.2f} ms / {h_init:.2f} ms; 1st invoke {inv:.2f} ms")
        row("cold start", f"{fn}: peak RSS / hello", hwm / h_hwm, "",
            f"{hwm / 1024:.1f} MiB / {h_hwm / 1024:.1f} MiB")

size = read("size")
if size:
    for line in size.splitlines():
        m = re.match(r"(\S+)\s+(\S+)\s+(\d+)\s+([\d.]+)\s+OK", line)
        if m:
            mb = int(m.group(3)) / 1e6
            row("size", f"{m.group(2)}: aarch64 bootstrap / 6 MB", mb / 6, "<= 1.0",
                f"{mb:.2f} MB ({float(m.group(4)):.2f} MiB)")
elif read("size-missing"):
    row("size", "aarch64 bootstraps", None, "", "not built in this run")

life = read("lifecycle")
if life:
    m = re.search(r"(\d+) stream records .*?: ([\d.]+) records/s, ([\d.]+) events/s", life)
    if m:
        row("lifecycle", "events function, records/s", None, "", f"{float(m.group(2)):.0f} records/s")
    m = re.search(r"(\d+) sent in ([\d.]+) s \(([\d.]+) reminders/s\) by (\d+) runs of at most (\d+) s", life)
    if m:
        row("lifecycle", f"day of {m.group(1)} reminders: time / one run's budget",
            float(m.group(2)) / float(m.group(5)), "", f"{m.group(2)} s in {m.group(4)} runs, {float(m.group(3)):.0f}/s")

config = read("config")
loads = re.findall(r"load and check p50 (\d+) us, p90 (\d+) us \((\d+) bytes, (\d+) routes", config or "")
if len(loads) == 2:
    (demo_us, _, _, demo_routes), (large_us, _, large_bytes, large_routes) = loads
    row("config", f"load {large_routes} routes / load {demo_routes} routes (p50)", int(large_us) / int(demo_us), "",
        f"{large_us} us / {demo_us} us; {large_bytes} bytes")
    cold_rows = [json.loads(l) for l in (read("cold.jsonl") or "").splitlines()]
    hello = sorted(r["init_ms"] for r in cold_rows if r["function"] == "hello")
    if hello:
        row("config", "200-route load / hello init", int(large_us) / 1000 / hello[len(hello) // 2], "",
            f"{large_us} us / {hello[len(hello) // 2]:.2f} ms")

mix = read("cache-mix")
for m in re.finditer(r"(\d+) requests per TTL: token key ([\d.]+), token\+route key ([\d.]+) invocations", mix or ""):
    per_ttl, before, after = m.groups()
    row("cache mix", f"invocations per 1000 req, token+route / token ({per_ttl} req per TTL)",
        float(after) / float(before), "", f"{after} / {before} per 1000 requests")

revocation = read("revocation")
if revocation:
    m = re.search(r"p50 (\d+) ms p99 (\d+) ms", revocation)
    if m:
        row("revocation", "commit to refused call p99 / 2 s (cache 300 s)", int(m.group(2)) / 2000, "<= 1.0",
            f"p50 {m.group(1)} ms, p99 {m.group(2)} ms")
    m = re.search(r"200 calls/s, 1 revocation/min, simulated hour\): hit rate ([\d.]+)%", revocation)
    if m:
        row("revocation", "cache hit rate, 20 tokens x 10 routes, 200 calls/s / 95%", float(m.group(1)) / 95, ">= 1.0",
            f"{m.group(1)}%")

local = read("local")
if local:
    m = re.search(r"median of (\d+) rounds at concurrency (\d+): getitem (\d+) req/s, "
                  r"gateway (\d+) req/s, ratio ([\d.]+)", local)
    cpu = re.search(r"median CPU per call: patgate-local (\d+) us .*?, getitem-load (\d+) us", local)
    if m:
        rounds, conc, getitem, gateway, ratio = m.groups()
        row("local stack", f"gateway req/s / consistent GetItem/s (cache off, c={conc})",
            float(ratio), "", f"{gateway} / {getitem} req/s, median of {rounds} rounds")
    if cpu:
        row("local stack", "gateway CPU per request / GetItem driver CPU per call",
            int(cpu.group(1)) / int(cpu.group(2)), "", f"{cpu.group(1)} us / {cpu.group(2)} us")
    if not m:
        row("local stack", "bench-local.sh", None, "", "no comparison line in its output")
elif read("local-missing") or read("local-failed"):
    row("local stack", "bench-local.sh", None, "", (read("local-missing") or read("local-failed")).strip())

print()
print(read("header").rstrip())
print()
w = max(len(r[1]) for r in rows) if rows else 20
print(f"{'area':<12} {'ratio':<{w}} {'value':>7} {'target':>7}  figures")
for area, what, ratio, target, figures in rows:
    value = f"{ratio:.2f}" if ratio is not None else "-"
    print(f"{area:<12} {what:<{w}} {value:>7} {target:>7}  {figures}")
EOF
