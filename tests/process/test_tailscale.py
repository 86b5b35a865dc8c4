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


PASSWORD_AUTH = {"mode": "password", "password": "a-long-enough-password-0123456789"}  # what Funnel needs


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
    home = _home(tmp_path, tailscale={"mode": "funnel"}, auth=PASSWORD_AUTH)
    with running_gateway(home, ["--port", "0"], env=env(home)) as gw:
        assert ["funnel", "--bg", "--yes", str(gw.port)] in calls()
        gw.signal(signal.SIGTERM)
        assert gw.wait_exit() == 0
    assert not any(c[-1:] == ["reset"] for c in calls())  # resetOnExit not asked: the route stays


def test_reset_on_exit_from_config(tmp_path: Path, fake_ts) -> None:
    env, calls = fake_ts
    home = _home(tmp_path, tailscale={"mode": "funnel", "resetOnExit": True}, auth=PASSWORD_AUTH)
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
    home = _home(tmp_path, auth=PASSWORD_AUTH)
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


@pytest.mark.parametrize(
    ("mode", "auth", "expected"),
    [
        ("funnel", {"mode": "none"}, "tailscale funnel requires gateway auth mode=password"),
        ("funnel", {"mode": "token", "token": "a-long-enough-token-0123456789"},
         "tailscale funnel requires gateway auth mode=password"),
        ("serve", {"mode": "none"}, "gateway.auth.mode=none cannot be used with gateway.tailscale.mode=serve"),
    ],
)
def test_exposure_without_the_auth_it_needs_is_refused(tmp_path: Path, fake_ts, mode: str, auth: dict,
                                                         expected: str) -> None:
    """As upstream: Funnel (the public internet) needs password auth, serve needs some auth; refused
    before anything is bound or `tailscale` is asked to expose the port (exit 78)."""
    env, calls = fake_ts
    home = Home(tmp_path)
    home.write_config({"gateway": {"mode": "local", "auth": auth}, "logging": {"file": str(home.log_file)}})
    code, out = _run_refused(home, ["--port", "0", "--tailscale", mode], env(home))
    assert code == 78 and expected in out and "Traceback" not in out, out
    assert calls() == []


def test_a_bad_timeout_variable_is_a_clear_failure_not_a_traceback(tmp_path: Path, fake_ts) -> None:
    """OPENCLAW_TAILSCALE_TIMEOUT_S is read when tailscale is used: garbage, 0, inf or nan there is a
    clear exit 1 for `--tailscale`, and every other command (which never runs tailscale) is unaffected."""
    env, calls = fake_ts
    home = _home(tmp_path)
    for bad in ("abc", "0", "inf", "nan", "-5"):
        r = home.cli("gateway", "status", "--no-probe", env=env(home, OPENCLAW_TAILSCALE_TIMEOUT_S=bad))
        assert "Traceback" not in r.stderr and r.returncode in (0, 1), (bad, r.stderr)
    code, out = _run_refused(home, ["--port", "0", "--tailscale", "serve"], env(home, OPENCLAW_TAILSCALE_TIMEOUT_S="inf"))
    assert code == 1 and "Invalid OPENCLAW_TAILSCALE_TIMEOUT_S" in out and "Traceback" not in out, out
    assert calls() == []


def test_a_hanging_tailscale_is_bounded_and_leaves_nothing_behind(tmp_path: Path, fake_ts) -> None:
    """`tailscale` that never answers (here a wrapper whose child hangs): exit 1 after the timeout
    with a clear message, and the whole process group it started is gone, not left sleeping."""
    import time

    import psutil

    env, _calls = fake_ts
    home = _home(tmp_path)
    pidfile = tmp_path / "hung.pid"
    started = time.monotonic()
    code, out = _run_refused(home, ["--port", "0", "--tailscale", "serve"],
                             env(home, FAKE_TS_HANG_CHILD=str(pidfile), OPENCLAW_TAILSCALE_TIMEOUT_S="2"))
    took = time.monotonic() - started
    assert code == 1 and "`tailscale status --json` did not answer within 2 s" in out, out
    assert took < 10, took
    hung = int(pidfile.read_text())
    try:
        wait_for(lambda: not psutil.pid_exists(hung) or psutil.Process(hung).status() == psutil.STATUS_ZOMBIE, 5,
                 what="the hung tailscale child gone")
    finally:
        if psutil.pid_exists(hung):
            os.kill(hung, signal.SIGKILL)


@pytest.mark.parametrize("answer", [
    '{"BackendState": "Running", "Self": {"TailscaleIPs": 5}}', '{"BackendState": "Running", "Self": []}',
    '{"BackendState": "Running", "Self": {"TailscaleIPs": "100.64.0.1"}}', "[1]", "null", "",
])
def test_garbage_status_json_is_a_tailscale_error(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    """Whatever `tailscale status --json` prints, the answer is a status or a TailscaleError (exit 1)."""
    import subprocess

    from openclaw.ipc import tailscale

    monkeypatch.setattr(tailscale, "_run", lambda args, limit_s=None: subprocess.CompletedProcess(args, 0, answer, ""))
    try:
        st = tailscale.status()
    except tailscale.TailscaleError:
        return
    assert st.ipv4 is None and st.ipv6 is None
