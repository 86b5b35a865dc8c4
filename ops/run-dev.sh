#!/usr/bin/env bash
# Set up (.venv) and start a gateway on the embedded dev default: profile "dev", port 19001, state
# in ~/.openclaw-dev (your ~/.openclaw, the default profile, is untouched). The first start writes
# the dev config (gateway.mode=local, token auth) and a generated token in ~/.openclaw-dev/gateway.token,
# which every `openclaw --dev ...` command reads: from a second shell, after putting the CLI on PATH,
#     export PATH="<repo>/.venv/bin:$PATH"
#     openclaw --dev gateway health
# Extra arguments go to `openclaw gateway` (e.g. --port 0, --verbose, --reset).
# OPENCLAW_SKIP_SETUP=1 skips the venv step (it is already set up; no network).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${OPENCLAW_SKIP_SETUP:-}" != "1" ]; then
  "$repo/ops/setup-venv.sh"
fi
cli="$repo/.venv/bin/openclaw"
state="${OPENCLAW_HOME:-$HOME}/.openclaw-dev"
echo "dev gateway: profile dev, state $state, config $state/openclaw.json"
if [ "$(command -v openclaw 2>/dev/null)" != "$cli" ]; then
  echo "put the CLI on PATH in your other shells:  export PATH=\"$repo/.venv/bin:\$PATH\""
fi
echo "talk to it from another shell:  openclaw --dev gateway health"
exec "$cli" --dev gateway "$@"
