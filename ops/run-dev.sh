#!/usr/bin/env bash
# Set up and start a gateway on the embedded dev default: profile "dev", port 19001,
# state in <repo>/.state-dev (your ~/.openclaw is untouched), a generated token printed.
# Extra arguments go to `openclaw gateway` (e.g. --port 0, --verbose).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
"$repo/ops/setup-venv.sh"
export OPENCLAW_HOME="${OPENCLAW_HOME:-$repo/.state-dev}"
mkdir -p "$OPENCLAW_HOME"
echo "state: $OPENCLAW_HOME/.openclaw-dev   (talk to it: OPENCLAW_HOME=$OPENCLAW_HOME $repo/.venv/bin/openclaw --dev gateway health)"
exec "$repo/.venv/bin/openclaw" gateway --dev "$@"
