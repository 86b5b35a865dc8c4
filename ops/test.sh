#!/usr/bin/env bash
# Set up everything the tests need (venv, the upstream CLI for tests/compat) and run the suite.
# Extra arguments go to pytest.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
ops/setup-venv.sh test
if [ "${OPENCLAW_SKIP_UPSTREAM:-}" != "1" ]; then
  ops/upstream-cli.sh >/dev/null
fi
# An OpenSSH server for the `gateway probe --ssh` tests, unpacked into .cache/sshd (never installed).
ops/sshd-cache.sh >/dev/null || echo "test.sh: no OpenSSH server available; the ssh tunnel tests will skip" >&2
# Debian's chromium + chromium-driver for the Control UI tests in a real headless browser (tests/browser).
ops/browser-setup.sh >/dev/null || echo "test.sh: no headless chromium; the browser tests will skip" >&2
# nginx for the reverse-proxy recipe test, unpacked into .cache/nginx (never installed: its postinst starts nginx on :80).
ops/nginx-cache.sh >/dev/null || echo "test.sh: no nginx cache; the nginx test uses /usr/sbin/nginx or skips" >&2
set +e
# The process tests mostly wait on real processes: 3 in parallel on 2 cores (OPENCLAW_TEST_WORKERS=1: serial);
# loadgroup keeps a module marked xdist_group (the browser tests: one chromium, one gateway) on one worker.
.venv/bin/python -m pytest -n "${OPENCLAW_TEST_WORKERS:-3}" --dist loadgroup "$@"
code=$?
set -e
[ "$code" -eq 5 ] && { echo "no tests collected" >&2; exit 1; }
exit "$code"
