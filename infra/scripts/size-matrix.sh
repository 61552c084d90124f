#!/usr/bin/env bash
# Sizes of the aarch64 bootstraps under a matrix of build choices: opt-level, LTO,
# codegen-units (the release profile, set through CARGO_PROFILE_RELEASE_*), and the AWS
# SDK's HTTP/TLS stack and features (a patched copy of the workspace). Each bootstrap is
# built as sam build builds it (cargo lambda build --release --arm64 --bin NAME, in the
# workspace root), then stripped by the profile as deployed.
#
#   bash infra/scripts/size-matrix.sh [--functions "authorizer create-token"]
#        [--opt "3 s z"] [--lto "thin fat"] [--cgu "1 16"] [--cells "z/fat/1 s/thin/16"]
#        [--variants "adopted pie aws-lc sso sdk-defaults"]
#        [--variant-profile OPT/LTO/CGU] [--out FILE]
#   bash infra/scripts/size-matrix.sh --report FILE
#
#   --functions         binaries to build in each cell (default: every function)
#   --opt, --lto, --cgu the profile axes, crossed, built with the adopted SDK stack
#   --cells LIST        instead of the full cross, these OPT/LTO/CGU cells only (a
#                       fraction of the matrix, when CPU time is short)
#   --variants          SDK stacks, each built once with --variant-profile (default:
#                       the workspace's release profile):
#                         adopted       the workspace as it is: aws-sdk-* and aws-config
#                                       without default features, one hyper 1 + rustls
#                                       (ring) client, no SSO or credential_process in
#                                       the functions, position-dependent executables
#                                       (.cargo/config.toml)
#                         pie           adopted, position-independent (RUSTFLAGS="")
#                         aws-lc        adopted, rustls on aws-lc (the SDK's default
#                                       crypto) instead of ring
#                         sso           adopted, with aws-config's SSO and
#                                       credential_process providers
#                         sdk-defaults  adopted, with the SDK crates' default features:
#                                       a second client (hyper 1 + rustls on aws-lc) and
#                                       the legacy hyper 0.14 + rustls 0.21 + ring one
#   --out FILE          also append one JSON line per bootstrap to FILE
#   --report FILE       print the table of the JSON lines in FILE (of one or more runs
#                       with --out), build nothing
#
# Builds go to target/size-matrix (its own target directory: the main one keeps its
# artifacts). CPU heavy: every cell rebuilds the dependency tree for aarch64. Needs
# cargo-lambda and zig (infra/requirements.txt) and the aarch64-unknown-linux-gnu
# standard library, as infra/scripts/build-arm64.sh installs them.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$repo_root/infra/scripts"
cd "$repo_root"

mapfile -t all_functions < <(sed -n 's/^[[:space:]]*Binary:[[:space:]]*\([A-Za-z0-9_-]*\).*/\1/p' template.yaml)
functions="${all_functions[*]}"
opts="3 s z"
ltos="thin fat"
cgus="1 16"
cells=""
variants=""
variant_profile=""
out=""
report=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --functions) functions="$2"; shift 2 ;;
    --opt) opts="$2"; shift 2 ;;
    --lto) ltos="$2"; shift 2 ;;
    --cgu) cgus="$2"; shift 2 ;;
    --cells) cells="$2"; shift 2 ;;
    --variants) variants="$2"; shift 2 ;;
    --variant-profile) variant_profile="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    -h | --help) sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "size-matrix: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf 'size-matrix: %s\n' "$*" >&2; }

# print_table FILE: the table of FILE's JSON lines.
print_table() {
  python3 - "$1" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
if not rows:
    sys.exit("size-matrix: nothing built")
fns = list(dict.fromkeys(r["function"] for r in rows))
cells = list(dict.fromkeys((r["stack"], r["opt"], r["lto"], r["cgu"]) for r in rows))
print()
print("aarch64 bootstrap sizes, MiB (stripped, panic=abort); build: wall seconds of the cell")
head = f"{'stack':<13} {'opt':>3} {'lto':>4} {'cgu':>3} " + " ".join(f"{f[:12]:>12}" for f in fns) + f" {'max':>6} {'build':>6}"
print(head)
for c in cells:
    rs = {r["function"]: r for r in rows if (r["stack"], r["opt"], r["lto"], r["cgu"]) == c}
    sizes = [rs[f]["bytes"] / 2**20 if f in rs else float("nan") for f in fns]
    build_s = next(iter(rs.values()))["build_s"]
    print(f"{c[0]:<13} {c[1]:>3} {c[2]:>4} {c[3]:>3} " + " ".join(f"{s:>12.2f}" for s in sizes)
          + f" {max(sizes):>6.2f} {build_s:>6}")
EOF
}

if [[ -n $report ]]; then
  print_table "$report"
  exit 0
fi


# shellcheck source=python-tools.sh
source "$scripts/python-tools.sh"
ensure_python_tools cargo-lambda ziglang -- cargo-lambda
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

matrix_dir="$repo_root/target/size-matrix"
export CARGO_TARGET_DIR="$matrix_dir/target"
mkdir -p "$matrix_dir"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT

# The workspace release profile, for --variant-profile's default.
profile_value() { sed -n "/^\[profile.release\]/,/^\[/s/^$1 *= *\"\{0,1\}\([^\"]*\)\"\{0,1\}.*/\1/p" Cargo.toml; }
if [[ -z $variant_profile ]]; then
  variant_profile="$(profile_value opt-level)/$(profile_value lto)/$(profile_value codegen-units)"
fi

# A copy of the workspace (tracked and new files, no target/) with the SDK stack of
# VARIANT; prints its path. The adopted stack is the workspace itself.
workspace_for() {
  local variant="$1" dir="$matrix_dir/src-$1"
  if [[ $variant == adopted ]]; then
    echo "$repo_root"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$dir"
  local sdk='default-features = false, features = \["rt-tokio"\]'
  local config='features = \["behavior-version-latest", "rt-tokio"\]'
  case "$variant" in
    pie)
      # Same sources; the build drops the config's rustflags (variant_env).
      ;;
    aws-lc)
      sed -i -E 's/features = \["rustls-ring"\]/features = ["rustls-aws-lc"]/' "$dir/Cargo.toml"
      sed -i -E 's/CryptoMode::Ring/CryptoMode::AwsLc/' "$dir/shared/src/sdk_config.rs" ;;
    sso)
      sed -i -E "s/$config/features = [\"behavior-version-latest\", \"rt-tokio\", \"credentials-process\", \"sso\"]/" "$dir/Cargo.toml" ;;
    sdk-defaults)
      sed -i -E "s/$sdk/features = []/" "$dir/Cargo.toml" ;;
    *) log "unknown variant $variant"; exit 2 ;;
  esac
  # Every variant but pie must have changed its sources.
  if [[ $variant != pie ]] && cmp -s "$dir/Cargo.toml" "$repo_root/Cargo.toml"; then
    log "variant $variant: the workspace's SDK lines were not found; nothing patched"
    exit 1
  fi
  echo "$dir"
}

# The environment of VARIANT's build: pie replaces .cargo/config.toml's rustflags
# (RUSTFLAGS, even empty, takes their place).
variant_env() {
  if [[ $1 == pie ]]; then echo "RUSTFLAGS="; else echo "PATGATE_SIZE_VARIANT=$1"; fi
}
# build VARIANT OPT LTO CGU: one cell.
build() {
  local variant="$1" opt="$2" lto="$3" cgu="$4" dir bins=() start secs
  dir="$(workspace_for "$variant")"
  for f in $functions; do bins+=(--bin "$f"); done
  log "build: stack $variant, opt-level=$opt lto=$lto codegen-units=$cgu: ${functions}"
  start=$SECONDS
  local lock=(--locked)
  [[ $variant == adopted ]] || lock=()
  if ! (cd "$dir" && env "$(variant_env "$variant")" CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt" CARGO_PROFILE_RELEASE_LTO="$lto" \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS="$cgu" CARGO_PROFILE_RELEASE_STRIP=true \
    CARGO_PROFILE_RELEASE_PANIC=abort \
    cargo lambda build --release --arm64 "${lock[@]}" "${bins[@]}" >"$matrix_dir/last-build.log" 2>&1); then
    log "build failed (see $matrix_dir/last-build.log)"
    tail -n 20 "$matrix_dir/last-build.log" >&2
    return 1
  fi
  secs=$((SECONDS - start))
  for f in $functions; do
    local bootstrap="$CARGO_TARGET_DIR/lambda/$f/bootstrap" size
    size="$(wc -c <"$bootstrap" | tr -d ' ')"
    printf '{"stack":"%s","opt":"%s","lto":"%s","cgu":"%s","function":"%s","bytes":%s,"build_s":%s}\n' \
      "$variant" "$opt" "$lto" "$cgu" "$f" "$size" "$secs" | tee -a "$results" ${out:+"$out"} >/dev/null
  done
  log "  done in ${secs} s"
}

if [[ -z $cells ]]; then
  for opt in $opts; do
    for lto in $ltos; do
      for cgu in $cgus; do
        cells+="$opt/$lto/$cgu "
      done
    done
  done
fi
IFS=/ read -r v_opt v_lto v_cgu <<<"$variant_profile"
# The variants first: they share the variant profile's cell with the adopted stack.
if [[ -n $variants ]]; then
  build adopted "$v_opt" "$v_lto" "$v_cgu"
  for variant in $variants; do
    [[ $variant == adopted ]] || build "$variant" "$v_opt" "$v_lto" "$v_cgu"
  done
fi
for cell in $cells; do
  IFS=/ read -r opt lto cgu <<<"$cell"
  [[ -n $variants && $cell == "$variant_profile" ]] && continue
  build adopted "$opt" "$lto" "$cgu"
done

print_table "$results"
