"""`--tailscale serve|funnel`, `--tailscale-reset-on-exit`, `gateway.bind: tailnet` (issue 10 §4).

A fake `tailscale` executable (tests/fakes/tailscale.py, first on PATH) records its argv as JSON lines and answers
`status --json` like the real CLI; its tailnet address is 127.0.0.2, so nothing leaves loopback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.fakes.tailscale import install_fake_tailscale
from tests.harness import Gateway, Home, running_gateway, wait_for


@pytest.fixture
def fake_ts(tmp_path: Path):
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    install_fake_tailscale(bindir)
    log = tmp_path / "tailscale-calls.jsonl"

    def env(home: Home, **extra: str) -> dict[str, str]:
        return home.env(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", FAKE_TS_LOG=str(log), **extra)

    def calls() -> list[list[str]]:
        try:
            return [json.loads(ln) for ln in log.read_text().splitlines()]
        except FileNotFoundError:
            return []

    return env, calls


def _home(tmp_path: Path, **gateway) -> Home:
    home = Home(tmp_path)
    home.write_config(home.default_config(**gateway))
    return home


def test_serve_at_start_and_reset_on_exit(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path)
    with running_gateway(home, ["--port", "0", "--tailscale", "serve", "--tailscale-reset-on-exit"], env=env(home)) as gw:
        port = gw.port
        assert ["serve", "--bg", "--yes", str(port)] in calls()
        assert f"tailscale serve: https://gw.tail1234.ts.net/ -> 127.0.0.1:{port}" in gw.output()
        assert ["serve", "reset"] not in calls()
        gw.signal(signal.SIGTERM)
        assert gw.wait_exit() == 0
    assert calls()[-1] == ["serve", "reset"]


def test_funnel_from_config_without_reset(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path, tailscale={"mode": "funnel"})
    with running_gateway(home, ["--port", "0"], env=env(home)) as gw:
        assert ["funnel", "--bg", "--yes", str(gw.port)] in calls()
        gw.signal(signal.SIGTERM)
        assert gw.wait_exit() == 0
    assert not any(c[-1:] == ["reset"] for c in calls())  # resetOnExit not asked: the route stays


def test_reset_on_exit_from_config(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path, tailscale={"mode": "funnel", "resetOnExit": True})
    with running_gateway(home, ["--port", "0"], env=env(home)) as gw:
        gw.signal(signal.SIGINT)
        gw.wait_exit()
    assert calls()[-1] == ["funnel", "reset"]


def _run_refused(home: Home, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    gw = Gateway(home, args, env=env)
    try:
        gw.start()
        code = gw.wait_exit(15)
        return code, gw.output()
    finally:
        gw.stop()


def test_missing_cli_is_a_clear_failure(tmp_path: Path) -> None:
    home = _home(tmp_path)
    env = home.env(PATH=str(Path(sys.executable).parent))  # python, openclaw; no tailscale
    code, out = _run_refused(home, ["--port", "0", "--tailscale", "serve"], env)
    assert code == 1, out
    assert "the tailscale CLI is not on PATH" in out and "Traceback" not in out
    code, out = _run_refused(home, ["--port", "0", "--bind", "tailnet"], env)
    assert code == 1, out
    assert "the tailscale CLI is not on PATH" in out


def test_logged_out_is_a_clear_failure(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path)
    code, out = _run_refused(home, ["--port", "0", "--tailscale", "serve"], env(home, FAKE_TS_STATE="NeedsLogin"))
    assert code == 1, out
    assert "not logged in or not running (BackendState: NeedsLogin)" in out and "tailscale up" in out
    assert calls() == [["status", "--json"]]  # no serve attempted


def test_refused_funnel_is_a_clear_failure(tmp_path: Path, fake_ts) -> None:
    env, _calls = fake_ts
    home = _home(tmp_path)
    code, out = _run_refused(home, ["--port", "0", "--tailscale", "funnel"], env(home, FAKE_TS_REFUSE="1"))
    assert code == 1, out
    assert "`tailscale funnel` refused: Funnel not available" in out


def test_bad_values(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path)
    r = home.cli("gateway", "--port", "0", "--tailscale", "public", env=env(home))
    assert r.returncode == 2 and "Invalid --tailscale" in r.stderr + r.stdout
    home.write_config(home.default_config(bind="lan", tailscale={"mode": "serve"}))
    code, out = _run_refused(home, ["--port", "0"], env(home))
    assert code == 78 and "needs gateway.bind loopback (current: lan)" in out, out
    assert calls() == []


def test_bind_tailnet_listens_on_the_tailnet_address_only(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path)
    gw = Gateway(home, ["--port", "0", "--bind", "tailnet"], env=env(home))
    try:
        gw.start()

        def bound() -> int | None:
            assert gw.proc is not None and gw.proc.poll() is None, gw.output()
            rec = gw.instance()
            return rec["port"] if rec and "ready:" in gw.output() else None

        port = wait_for(bound, 20, what="tailnet gateway ready")
        with socket.create_connection(("127.0.0.2", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert ["status", "--json"] in calls()
    finally:
        gw.stop()


def test_bind_tailnet_needs_auth(tmp_path: Path, fake_ts) -> None:
    env, _calls = fake_ts
    home = Home(tmp_path)
    home.write_config({"gateway": {"mode": "local", "bind": "tailnet", "auth": {"mode": "none"}}})
    code, out = _run_refused(home, ["--port", "0"], env(home))
    assert code == 78 and "Refusing to bind gateway to tailnet (127.0.0.2) without auth" in out, out
