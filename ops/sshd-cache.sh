#!/usr/bin/env bash
# An OpenSSH server for the `gateway probe --ssh` tests, unpacked into a cache folder and never
# installed (the Debian package's postinst would start an sshd on 0.0.0.0:22).
#
#   ops/sshd-cache.sh      -> prints <cache>/root/usr/sbin/sshd (stdout carries only that path)
#
# Cache folder: $OPENCLAW_SSHD_CACHE, default <repo>/.cache/sshd (tests/sshd.py sets LD_LIBRARY_PATH).
# Exit 3 = cannot be obtained here: the tests skip, saying so. The work is ops/deb-cache.sh.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$REPO/ops/deb-cache.sh" sshd "${OPENCLAW_SSHD_CACHE:-$REPO/.cache/sshd}" usr/sbin/sshd openssh-server openssh-sftp-server
