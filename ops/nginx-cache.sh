#!/usr/bin/env bash
# nginx for the reverse-proxy recipe test (tests/process/test_nginx_proxy.py), unpacked into a cache
# folder and never installed (the Debian package's postinst would start nginx on 0.0.0.0:80).
#
#   ops/nginx-cache.sh      -> prints <cache>/root/usr/sbin/nginx (stdout carries only that path)
#
# Cache folder: $OPENCLAW_NGINX_CACHE, default <repo>/.cache/nginx (tests/nginx.py sets LD_LIBRARY_PATH).
# Exit 3 = cannot be obtained here: the tests skip, saying so. The work is ops/deb-cache.sh.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$REPO/ops/deb-cache.sh" nginx "${OPENCLAW_NGINX_CACHE:-$REPO/.cache/nginx}" usr/sbin/nginx nginx nginx-common
