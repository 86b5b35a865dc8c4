"""The advertiser's Tailscale lookup (workers/advertiser/tailnet.py) against the fake `tailscale`
CLI (tests/fakes/tailscale.py): the MagicDNS name and addresses, the OPENCLAW_TAILNET_DNS override,
and every failure meaning "nothing known" within the bound."""

from __future__ import annotations

import os
import time
from pathlib import Path

from openclaw.workers.advertiser.tailnet import Tailnet, lookup

from tests.fakes.tailscale import DNS_NAME, TAILNET_IPV4, install_fake_tailscale


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    bindir = tmp_path / "bin"
    install_fake_tailscale(bindir)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", **extra}


def test_name_and_addresses_from_tailscale_status(tmp_path: Path, monkeypatch) -> None:
    env = _env(tmp_path)
    monkeypatch.setenv("PATH", env["PATH"])  # ipc.tailscale runs the CLI found on the process's PATH
    assert lookup(env) == Tailnet(DNS_NAME, (TAILNET_IPV4, "fd7a:115c:a1e0::1"))
    assert lookup({**env, "OPENCLAW_TAILNET_DNS": "named.example."}).dns_name == "named.example"
    monkeypatch.setenv("FAKE_TS_STATE", "NeedsLogin")
    assert lookup(env) == Tailnet()


def test_no_cli_and_a_hanging_cli_mean_nothing_known(tmp_path: Path, monkeypatch) -> None:
    assert lookup({"PATH": str(tmp_path), "OPENCLAW_TAILNET_DNS": "x.ts.net"}) == Tailnet("x.ts.net")
    env = _env(tmp_path, OPENCLAW_TAILNET_LOOKUP_TIMEOUT_MS="300")
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("FAKE_TS_HANG", "5")
    started = time.monotonic()
    assert lookup(env) == Tailnet()
    assert time.monotonic() - started < 2
