# Sourced by the scripts that use the Python-distributed tools of infra/requirements.txt.
#   ensure_python_tools PACKAGE... -- COMMAND...
# installs infra/requirements.txt when a PACKAGE is missing or not at its pinned
# version, or a COMMAND is not on PATH.

python_tools_requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/requirements.txt"

# Pinned version of a package in requirements.txt.
pinned() { sed -n "s/^$1==\([^[:space:]#]*\).*/\1/p" "$python_tools_requirements"; }

# Installed version of a Python distribution, empty when absent.
installed() {
  python3 -c 'import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass' "$1"
}

ensure_python_tools() {
  local need_install=false pkg want have
  while [[ $# -gt 0 && "$1" != "--" ]]; do
    pkg="$1"; shift
    want="$(pinned "$pkg")"
    have="$(installed "$pkg")"
    if [[ "$have" != "$want" ]]; then
      echo "$pkg ${have:-not installed}, want $want" >&2
      need_install=true
    fi
  done
  [[ "${1:-}" == "--" ]] && shift
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || need_install=true
  done
  if $need_install; then
    echo "installing $python_tools_requirements" >&2
    python3 -m pip install -q -r "$python_tools_requirements"
  fi
}
