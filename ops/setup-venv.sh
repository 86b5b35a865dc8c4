#!/usr/bin/env bash
# Create (or reuse) the repo's virtualenv and install the project into it.
# Usage: ops/setup-venv.sh [extras]    e.g. ops/setup-venv.sh test
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "openclaw: Python 3.11+ is required (found: $("$py" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x "$repo/.venv/bin/python" ]; then
  "$py" -m venv "$repo/.venv"
fi
extras="${1:-}"
spec="$repo"
[ -n "$extras" ] && spec="$repo[$extras]"
"$repo/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
