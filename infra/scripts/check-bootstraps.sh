#!/usr/bin/env bash
# Check that every function of template.yaml has a built `bootstrap` that is an
# aarch64 Linux ELF executable (64-bit, little-endian, e_machine 0xB7 = EM_AARCH64)
# that is position-dependent (ET_EXEC, see .cargo/config.toml) and needs no newer glibc
# than provided.al2023's 2.34, and print each one's size.
# Reads the ELF header bytes with od (no `file` needed).
#
#   bash infra/scripts/check-bootstraps.sh [BUILD_DIR]
#
# BUILD_DIR defaults to .aws-sam/build when it exists (sam build output:
# <LogicalId>/bootstrap), else target/lambda (cargo lambda output:
# <Binary>/bootstrap). Both layouts are accepted in either directory.
# Exits 1 if any bootstrap is missing or not an aarch64 ELF executable.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
template="$repo_root/template.yaml"

if [[ $# -gt 1 ]]; then
  echo "usage: $0 [BUILD_DIR]" >&2
  exit 2
fi
if [[ $# -eq 1 ]]; then
  build_dir="$1"
  [[ $build_dir == /* ]] || build_dir="$PWD/$build_dir"
elif [[ -d "$repo_root/.aws-sam/build" ]]; then
  build_dir="$repo_root/.aws-sam/build"
else
  build_dir="$repo_root/target/lambda"
fi
[[ -d $build_dir ]] || { echo "check-bootstraps: no build directory $build_dir (run infra/scripts/build-arm64.sh)" >&2; exit 1; }

# "LogicalId Binary" for each AWS::Serverless::Function in template.yaml
# (Binary from Metadata.BuildProperties.Binary, "-" when absent).
functions="$(awk '
  function flush() { if (name != "" && fn) print name, (bin == "" ? "-" : bin) }
  /^Resources:/ { inres = 1; next }
  /^[^ #]/ { if (inres) flush(); inres = 0; name = ""; next }
  inres && /^  [A-Za-z0-9]+:[[:space:]]*$/ { flush(); name = $1; sub(/:$/, "", name); fn = 0; bin = ""; next }
  inres && /^    Type:[[:space:]]*AWS::Serverless::Function[[:space:]]*$/ { fn = 1; next }
  inres && /^        Binary:/ { bin = $2 }
  END { if (inres) flush() }
' "$template")"
[[ -n $functions ]] || { echo "check-bootstraps: no AWS::Serverless::Function in $template" >&2; exit 1; }

# Hex bytes (space separated) of COUNT bytes at OFFSET of FILE.
bytes() { od -An -v -tx1 -j "$2" -N "$3" -- "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

max_glibc="2.34" # glibc of the provided.al2023 runtime
failures=0
total=0
printf '%-22s %-14s %12s %9s  %s\n' FUNCTION BINARY BYTES MiB RESULT
while read -r logical_id binary; do
  bootstrap=""
  for candidate in "$build_dir/$logical_id/bootstrap" "$build_dir/$binary/bootstrap"; do
    if [[ -f $candidate ]]; then bootstrap="$candidate"; break; fi
  done
  if [[ -z $bootstrap ]]; then
    printf '%-22s %-14s %12s %9s  %s\n' "$logical_id" "$binary" - - "MISSING (no $logical_id/bootstrap or $binary/bootstrap in $build_dir)"
    failures=$((failures + 1))
    continue
  fi
  size="$(wc -c <"$bootstrap" | tr -d ' ')"
  total=$((total + size))
  mib="$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }')"
  problems=()
  if [[ $size -lt 64 ]]; then
    problems+=("too short for an ELF header")
  else
    [[ "$(bytes "$bootstrap" 0 4)" == "7f 45 4c 46" ]] || problems+=("not ELF (magic $(bytes "$bootstrap" 0 4))")
    [[ "$(bytes "$bootstrap" 4 1)" == "02" ]] || problems+=("not 64-bit (EI_CLASS $(bytes "$bootstrap" 4 1))")
    [[ "$(bytes "$bootstrap" 5 1)" == "01" ]] || problems+=("not little-endian (EI_DATA $(bytes "$bootstrap" 5 1))")
    e_type="$(bytes "$bootstrap" 16 2)"
    # ET_EXEC: position-dependent, as .cargo/config.toml builds the Lambda target. A
    # position-independent one (ET_DYN) means those rustflags were not applied (a
    # RUSTFLAGS variable replaces them): the bootstrap works, larger and slower to start.
    case "$e_type" in
      "02 00") ;;
      "03 00") problems+=("position-independent (ET_DYN): built without .cargo/config.toml's rustflags") ;;
      *) problems+=("not an executable (e_type $e_type)") ;;
    esac
    e_machine="$(bytes "$bootstrap" 18 2)"
    [[ $e_machine == "b7 00" ]] || problems+=("not aarch64 (e_machine $e_machine, want b7 00)")
  fi
  [[ -x $bootstrap ]] || problems+=("not executable (mode bits)")
  # Newest glibc symbol version it links against: provided.al2023 has glibc 2.34.
  glibc="$(LC_ALL=C grep -ao 'GLIBC_2\.[0-9][0-9.]*' -- "$bootstrap" | sort -u -t. -k2,2n -k3,3n | tail -n 1 || true)"
  if [[ -n $glibc ]]; then
    newest="$(printf '%s\n' "${glibc#GLIBC_}" "$max_glibc" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)"
    [[ $newest == "$max_glibc" ]] || problems+=("needs $glibc, provided.al2023 has glibc $max_glibc")
  fi
  if [[ ${#problems[@]} -eq 0 ]]; then
    result="OK aarch64 ELF64 LE, position-dependent${glibc:+, needs $glibc}"
  else
    result="BAD: $(IFS=';'; echo "${problems[*]}")"
    failures=$((failures + 1))
  fi
  printf '%-22s %-14s %12s %9s  %s\n' "$logical_id" "$binary" "$size" "$mib" "$result"
done <<<"$functions"

count="$(wc -l <<<"$functions" | tr -d ' ')"
echo "check-bootstraps: $count functions in $build_dir, total $(awk -v s="$total" 'BEGIN { printf "%.2f", s / 1048576 }') MiB"
if [[ $failures -gt 0 ]]; then
  echo "check-bootstraps: $failures of $count bootstraps missing or wrong" >&2
  exit 1
fi
echo "check-bootstraps: OK"
