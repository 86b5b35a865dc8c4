"""nginx for the reverse-proxy recipe test, never installed system-wide.

Where it comes from, first found wins:
  1. OPENCLAW_TEST_NGINX=<path to an nginx binary>
  2. ops/nginx-cache.sh: the Debian packages nginx + nginx-common unpacked into .cache/nginx
     (ops/test.sh runs it before the suite; run here on first use otherwise)
  3. /usr/sbin/nginx, when the cache cannot be had but the package is installed
Otherwise the test skips with the reason. `nginx_command()` returns the binary and the environment
(LD_LIBRARY_PATH for libraries unpacked into the cache) to start it with.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .harness import REPO

CACHE_SCRIPT = REPO / "ops" / "nginx-cache.sh"
SYSTEM_NGINX = Path("/usr/sbin/nginx")
UNAVAILABLE = 3  # the script's "cannot be obtained here" exit code
ENV_OVERRIDE = "OPENCLAW_TEST_NGINX"


def _cached() -> tuple[Path | None, str]:
    try:
        proc = subprocess.run(
            ["bash", str(CACHE_SCRIPT)], check=False, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, "ops/nginx-cache.sh did not finish within 300 s (package download)"
    if proc.returncode == 0 and proc.stdout.strip():
        return Path(proc.stdout.strip().splitlines()[-1]), ""
    lines = proc.stderr.strip().splitlines()
    return None, lines[-1] if lines else f"ops/nginx-cache.sh exited {proc.returncode}"


def nginx_command() -> tuple[Path, dict[str, str]]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        if not os.access(override, os.X_OK):
            pytest.fail(f"{ENV_OVERRIDE}={override} is not an executable", pytrace=False)
        return Path(override), env
    binary, why = _cached()
    if binary is None:
        if os.access(SYSTEM_NGINX, os.X_OK):
            return SYSTEM_NGINX, env
        pytest.skip(f"no nginx for the reverse-proxy test: {why}")
    root = binary.parent.parent.parent
    triplet = next((p.name for p in (root / "usr" / "lib").glob("*-linux-gnu*")), "x86_64-linux-gnu")
    env["LD_LIBRARY_PATH"] = f"{root}/usr/lib/{triplet}:{root}/lib/{triplet}"
    return binary, env
