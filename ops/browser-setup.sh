#!/usr/bin/env bash
# The headless browser the Control UI tests drive (tests/browser): Debian's chromium + chromium-driver.
# Installed with apt when missing and we are root (no daemon, no listener: these packages start nothing);
# otherwise the browser tests skip, saying why. Idempotent; prints the chromedriver path on stdout.
#
#   ops/browser-setup.sh            -> /usr/bin/chromedriver
# Exit 3 = not available here (not Debian-like, not root, or the download failed).
set -euo pipefail

log() { printf 'browser-setup: %s\n' "$*" >&2; }
unavailable() { printf 'browser-setup: unavailable: %s\n' "$*" >&2; exit 3; }

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    command -v chromedriver
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || unavailable "apt-get not found (install chromium and chromedriver yourself)"
[ "$(id -u)" = 0 ] || unavailable "not root: install Debian's chromium and chromium-driver (apt) to run the browser tests"
if command -v flock >/dev/null 2>&1; then
    exec 9>/tmp/.openclaw-browser-setup.lock
    flock -w 600 9 || unavailable "timed out waiting for another browser set-up"
fi
log "installing chromium and chromium-driver (apt, --no-install-recommends)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends chromium chromium-driver >/tmp/.openclaw-browser-setup.log 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q --no-install-recommends chromium chromium-driver >/tmp/.openclaw-browser-setup.log 2>&1 \
        || unavailable "apt-get install chromium chromium-driver failed (see /tmp/.openclaw-browser-setup.log)"
fi
command -v chromedriver >/dev/null 2>&1 || unavailable "chromedriver missing after the install"
command -v chromedriver
