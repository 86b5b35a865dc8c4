"""The upstream CLI's everyday commands against our gateway (issue 5 §1): `health`, `status` in all
its forms, `doctor`. Each runs against the implicit local gateway (port and token from the config)
and against an explicit target: these commands do not take `--url`, so the explicit form is the
`OPENCLAW_GATEWAY_URL` + `OPENCLAW_GATEWAY_TOKEN` environment (upstream's equivalent).

Assertions are what a user looks at: the exit code, no crash text, the lines that say the
gateway is reachable and healthy, and in `status --all` one gateway process on the port.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..harness import TOKEN, Gateway
from .conftest import UPSTREAM_VERSION, CliResult

pytestmark = pytest.mark.timeout(300, func_only=True)

CRASH_MARKERS = ("Cannot read properties", "is not iterable", "is not a function", "TypeError", "Reason:")


@pytest.fixture(params=["implicit", "explicit"])
def target_env(request: pytest.FixtureRequest, config_port_gateway: Gateway) -> dict[str, str]:
    if request.param == "implicit":
        return {}
    return {"OPENCLAW_GATEWAY_URL": config_port_gateway.url, "OPENCLAW_GATEWAY_TOKEN": TOKEN}


def clean(res: CliResult) -> str:
    assert res.returncode == 0, res.describe()
    out = res.stdout + res.stderr
    for marker in CRASH_MARKERS:
        assert marker not in out, f"crash text {marker!r}:\n{res.describe()}"
    assert "unknown method" not in out, res.describe()
    return out


def test_health_human(cli, target_env: dict[str, str]) -> None:
    out = clean(cli("health", env=target_env))
    assert "Gateway event loop: ok" in out
    assert "Agents: main (default)" in out


def test_status_human(cli, target_env: dict[str, str]) -> None:
    out = clean(cli("status", env=target_env))
    gateway_row = next(line for line in out.splitlines() if line.strip("│ ").startswith("Gateway "))
    assert "reachable" in gateway_row and "unreachable" not in gateway_row, out
    assert "auth token" in gateway_row and "mismatch" not in out.lower(), out
    # `app <version>` is absent, as against upstream: the CLI reads it from system-presence over a
    # probe-mode connection, whose scopes are cleared (spec §2.6); `status --json` checks the version.
    heartbeat_row = next(line for line in out.splitlines() if "Heartbeat" in line)
    assert "30m" in heartbeat_row and "disabled" not in heartbeat_row, out


def test_status_json(cli, target_env: dict[str, str], config_port_gateway: Gateway) -> None:
    res = cli("status", "--json", env=target_env)
    clean(res)
    d: dict[str, Any] = res.json()
    assert d["gateway"]["reachable"] is True, res.describe()
    assert d["runtimeVersion"] == UPSTREAM_VERSION
    by_agent = d["sessions"]["byAgent"]
    assert [a["agentId"] for a in by_agent] == ["main"] and by_agent[0]["recent"] == []
    assert isinstance(d["channelSummary"], list)
    assert d["agents"]["defaultId"] == "main"  # from cliProjection
    rows = {p["name"]: p for p in d["supervision"]["processes"]}
    assert rows["supervisor"]["pid"] == config_port_gateway.pid
    assert {rows[n]["state"] for n in ("frontend", "agent", "node")} == {"running"}


def test_status_deep(cli, target_env: dict[str, str]) -> None:
    out = clean(cli("status", "--deep", env=target_env))
    rows = [line for line in out.splitlines() if line.startswith("│ ")]
    assert any("Gateway" in r and "reachable" in r for r in rows), out
    assert any("Event loop" in r and "OK" in r for r in rows), out


def test_status_all_sees_one_listener(cli, target_env: dict[str, str], config_port_gateway: Gateway) -> None:
    out = clean(cli("status", "--all", env=target_env))
    assert f"✓ Port {config_port_gateway.port}" in out, out
    assert "appear to be listening" not in out
    assert "Telemetry exporters: unavailable" not in out


def test_doctor_non_interactive(cli, target_env: dict[str, str], config_port_gateway: Gateway) -> None:
    before = config_port_gateway.home.config_path.read_bytes()
    out = clean(cli("doctor", "--non-interactive", env=target_env))
    assert "version mismatch" not in out.lower()
    assert "Exporter diagnostics failed" not in out
    assert config_port_gateway.home.config_path.read_bytes() == before  # doctor changed nothing
