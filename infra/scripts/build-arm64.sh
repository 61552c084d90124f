#!/usr/bin/env bash
# Build every Lambda function of template.yaml for arm64 (provided.al2023) with
# `sam build`, without Docker: SAM's rust-cargolambda build method runs
# `cargo lambda build --release --arm64 --bin <Binary>` in the workspace root
# (cargo-lambda cross-links with zig), then copies each bootstrap to
# .aws-sam/build/<LogicalId>/bootstrap. Then checks every bootstrap
# (infra/scripts/check-bootstraps.sh).
#
#   bash infra/scripts/build-arm64.sh              # sam build + check
#   bash infra/scripts/build-arm64.sh --cargo-lambda
#       # fallback without SAM: `cargo lambda build --release --arm64 --bin X`
#       # per function into target/lambda/X/bootstrap, then check those
#
# Needs: cargo (rustup), python3 + pip, network access to PyPI (first run only:
# infra/requirements.txt), static.rust-lang.org (first run only: the
# aarch64-unknown-linux-gnu standard library) and crates.io. No Docker, no AWS
# account or credentials. Works from any directory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scripts="$repo_root/infra/scripts"
rust_target="aarch64-unknown-linux-gnu"

mode=sam
case "${1:-}" in
  "") ;;
  --cargo-lambda) mode=cargo-lambda ;;
  -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build-arm64: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

log() { printf 'build-arm64: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools

# shellcheck source=python-tools.sh
source "$scripts/python-tools.sh"

command -v cargo >/dev/null 2>&1 || { log "cargo is required (https://rustup.rs)"; exit 1; }
command -v python3 >/dev/null 2>&1 || { log "python3 (with pip) is required"; exit 1; }

ensure_python_tools aws-sam-cli cargo-lambda ziglang -- sam cargo-lambda

# The aarch64 standard library for the active toolchain (rustup's own client).
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$rust_target"; then
    log "adding Rust target $rust_target"
    rustup target add "$rust_target"
  fi
fi

# Keep SAM CLI from phoning home; SAM wants a region even though the build
# never calls AWS.
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

cd "$repo_root"

# ---------------------------------------------------------------- build

start=$SECONDS
if [[ $mode == sam ]]; then
  log "sam build (SAM CLI $(sam --version | awk '{print $4}'), cargo-lambda $(cargo lambda --version | awk '{print $2}'))"
  # samconfig.toml [default.build.parameters] keeps the builds sequential: all
  # functions share the workspace's target/ folder.
  sam build --template-file template.yaml --build-dir .aws-sam/build
  build_dir=".aws-sam/build"
else
  # Binary names from template.yaml (Metadata.BuildProperties.Binary).
  mapfile -t binaries < <(sed -n 's/^[[:space:]]*Binary:[[:space:]]*\([A-Za-z0-9_-]*\).*/\1/p' template.yaml)
  [[ ${#binaries[@]} -gt 0 ]] || { log "no BuildProperties.Binary found in template.yaml"; exit 1; }
  bin_args=()
  for b in "${binaries[@]}"; do bin_args+=(--bin "$b"); done
  log "cargo lambda build --release --arm64 ${bin_args[*]}"
  cargo lambda build --release --arm64 --locked "${bin_args[@]}"
  build_dir="target/lambda"
fi
log "build took $((SECONDS - start)) s"

"$scripts/check-bootstraps.sh" "$build_dir"
