"""`openclaw gateway status`: the service manager's view and the gateway's answer, kept apart.

Real gateways and processes; each test checks what an operator reads: is it running (and by
whose account), does it answer, who holds the port, what went wrong, the exit code.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from ..harness import TOKEN, Gateway, Home, free_port

SUPERVISOR_TITLE = "openclaw-gateway: supervisor"


def status(home: Home, *args: str, env: dict[str, str] | None = None, code: int = 0) -> dict[str, Any]:
    r = home.cli("gateway", "status", "--json", *args, env=env)
    assert r.returncode == code, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    return json.loads(r.stdout)


def human(home: Home, *args: str, env: dict[str, str] | None = None, code: int = 0) -> str:
    r = home.cli("gateway", "status", *args, env=env)
    assert r.returncode == code, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    return r.stdout + r.stderr


def test_status_of_a_running_gateway(gateway: Gateway, home: Home) -> None:
    out = status(home)
    frontend = gateway.children_by_title()["frontend"]
    svc = out["service"]
    # nothing installed and no service manager here: the runtime comes from the instance record
    assert svc["installed"] is False and svc["command"] is None and svc["label"] == "openclaw-gateway.service"
    assert svc["runtime"] == {
        "status": "running", "pid": gateway.pid, "source": "instance-record",
        "detail": svc["runtime"]["detail"],
    } and "instance record" in svc["runtime"]["detail"]
    assert out["config"]["cli"] == {"path": str(home.config_path), "exists": True, "valid": True}
    assert out["config"]["daemon"]["path"] == str(home.config_path) and "mismatch" not in out["config"]
    gw = out["gateway"]
    assert gw["port"] == gateway.port and gw["portSource"] == "running gateway (instance record)"
    assert gw["probeUrl"] == gateway.url and gw["bindMode"] == "loopback" and gw["version"] == "2026.9.6"
    port = out["port"]
    assert port["status"] == "busy" and port["hints"] == []
    assert {entry["pid"] for entry in port["listeners"]} == {frontend}
    for entry in port["listeners"]:
        assert entry["owner"] == "this-gateway" and entry["ppid"] == gateway.pid
        assert entry["commandLine"] == "openclaw-gateway: frontend" and entry["user"]
    assert {entry["address"] for entry in port["listeners"]} >= {f"127.0.0.1:{gateway.port}"}
    rpc = out["rpc"]
    assert rpc["ok"] is True and rpc["kind"] == "read" and rpc["capability"] == "admin_capable"
    assert rpc["url"] == gateway.url and rpc["auth"]["role"] == "operator"
    assert rpc["server"]["connId"] and rpc["server"]["bootId"] == rpc["status"]["bootId"]
    assert rpc["status"]["pid"] == gateway.pid and rpc["credentialSource"] == f"config gateway.auth.token ({home.config_path})"
    assert {p["name"] for p in rpc["status"]["processes"]} == {"supervisor", "frontend", "agent", "node"}
    assert "lastError" not in out and out["extraServices"] == []
    assert out["logFile"] == str(home.log_file) and out["instance"]["pid"] == gateway.pid

    text = human(home)
    for line in ("Runtime: running (pid", "Connectivity probe: ok", "Read probe: ok", "Capability: admin-capable",
                 f"Listening: 127.0.0.1:{gateway.port}", f"Probe target: {gateway.url}", f"Config (cli): {home.config_path}"):
        assert line in text, f"{line!r} not in:\n{text}"
    assert f"pid {frontend} " in text and "this gateway" in text and "\x1b[" not in text


def test_top_level_status_alias(gateway: Gateway, home: Home) -> None:
    r = home.cli("status", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rpc"]["ok"] is True and out["gateway"]["port"] == gateway.port


def test_no_probe_and_require_rpc(gateway: Gateway, home: Home) -> None:
    out = status(home, "--no-probe")
    assert "rpc" not in out and out["port"]["status"] == "busy" and out["service"]["runtime"]["status"] == "running"
    assert "Connectivity probe: skipped (--no-probe)" in human(home, "--no-probe")
    r = home.cli("gateway", "status", "--no-probe", "--require-rpc")
    assert r.returncode == 2 and "--require-rpc needs probing enabled" in r.stderr and "Traceback" not in r.stderr
    r = home.cli("gateway", "status", "--no-probe", "--require-rpc", "--json")
    assert r.returncode == 2 and json.loads(r.stdout)["error"]["type"] == "usage"
    assert status(home, "--require-rpc")["rpc"]["ok"] is True


def test_status_when_nothing_runs(home: Home) -> None:
    port = free_port()
    home.write_config(home.default_config(port=port))
    out = status(home, "--require-rpc", "--timeout", "1500", code=1)
    assert out["rpc"]["ok"] is False and out["rpc"]["gatewayReached"] is False and "ECONNREFUSED" in out["rpc"]["error"]
    assert out["service"]["runtime"]["status"] == "stopped" and out["port"] == {
        "port": port, "status": "free", "listeners": [], "hints": [],
    }
    assert out["gateway"]["portSource"] == "config gateway.port" and "lastError" not in out
    text = human(home, "--timeout", "1500")  # without --require-rpc a failed probe still exits 0
    assert "Runtime: stopped" in text and "Connectivity probe: failed" in text and f"Port {port} is free" in text


def test_a_stale_record_of_this_profile(home: Home, tmp_path) -> None:
    """A gateway killed with SIGKILL leaves its records: reported as stale, with the cleanup."""
    port = free_port()
    home.write_config(home.default_config(port=port))
    dead = subprocess.Popen(["true"])
    dead.wait()
    rec = _record(home, dead.pid, port, tmp_path / "gone.log")
    registry = home.home / ".local" / "state" / "openclaw" / "gateways"
    registry.mkdir(parents=True)
    (registry / "default.json").write_text(json.dumps(rec))
    home.state_dir.joinpath("gateway.instance.json").write_text(json.dumps(rec))
    out = status(home, "--no-probe")
    assert out["service"]["runtime"]["status"] == "stopped" and out["instance"] is None
    assert out["staleRecord"]["pid"] == dead.pid and "not running" in out["staleRecord"]["staleReason"]
    assert out["staleRecord"]["cleanupHints"] == [
        "openclaw doctor --fix", f"rm {registry / 'default.json'} {home.state_dir / 'gateway.instance.json'}",
    ]
    text = human(home, "--no-probe")
    assert "Stale instance record: pid" in text and "openclaw doctor --fix or rm " in text


def test_port_held_by_another_program(home: Home) -> None:
    port = free_port()
    home.write_config(home.default_config(port=port))
    with socket.socket() as squatter:  # accepts into its backlog, never speaks
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        out = status(home, "--timeout", "1000")
        assert out["port"]["status"] == "busy"
        [entry] = out["port"]["listeners"]
        assert entry["pid"] == os.getpid() and entry["owner"] == "other"
        assert "Another process is listening on this port." in out["port"]["hints"]
        assert out["rpc"]["ok"] is False
        text = human(home, "--timeout", "1000")
        assert f"Port {port} is already in use." in text and "Another process is listening" in text


@contextmanager
def stopped(pids: list[int]) -> Iterator[None]:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def test_a_wedged_gateway_holds_its_port_but_does_not_answer(gateway: Gateway, home: Home) -> None:
    tree = [gateway.pid, *gateway.children_by_title().values()]
    with stopped(tree):
        out = status(home, "--timeout", "1000", "--require-rpc", code=1)
        assert out["service"]["runtime"]["status"] == "running"
        assert out["port"]["status"] == "busy" and {e["owner"] for e in out["port"]["listeners"]} == {"this-gateway"}
        assert out["rpc"]["ok"] is False and "did not answer within 1000ms" in out["rpc"]["error"]
        text = human(home, "--timeout", "1000")
        assert "This gateway listens on port" in text and "did not answer the probe" in text


@pytest.fixture
def fake_supervisor() -> Iterator[subprocess.Popen[bytes]]:
    """A process that looks like a gateway supervisor (its title) but listens on nothing: a gateway whose
    listener died (or never came up) while its process lives on."""
    proc = subprocess.Popen(["bash", "-c", f'exec -a "{SUPERVISOR_TITLE}" sleep 600'])
    try:
        deadline = time.monotonic() + 10
        while not " ".join(psutil.Process(proc.pid).cmdline()).startswith(SUPERVISOR_TITLE):
            assert time.monotonic() < deadline, "the stand-in never took the supervisor's title"
            time.sleep(0.01)
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def _record(home: Home, pid: int, port: int, log_file: Path, state_dir: Path | None = None) -> dict[str, Any]:
    state_dir = state_dir or home.state_dir
    return {
        "pid": pid, "port": port, "bind_hosts": ["127.0.0.1"], "state_dir": str(state_dir),
        "config_path": str(state_dir / "openclaw.json"), "profile": None,
        "started_at_ms": int(psutil.Process(pid).create_time() * 1000) if psutil.pid_exists(pid) else 1,
        "log_file": str(log_file),
    }


def _log_line(level: str, message: str) -> str:
    return json.dumps({"time": "2026-11-21T10:00:00.000Z", "_meta": {"logLevelName": level}, "message": message})


def test_running_but_port_closed_shows_the_last_error(home: Home, fake_supervisor, tmp_path) -> None:
    port = free_port()
    home.write_config(home.default_config(port=port))
    log_file = tmp_path / "gateway.log"
    log_file.write_text("\n".join([
        _log_line("INFO", "listening on 127.0.0.1"),
        _log_line("ERROR", "front-end exited 1: failed to bind gateway socket: EADDRINUSE"),
        _log_line("INFO", "retrying the front-end in 0.5s"),  # newer, but not an error
    ]) + "\n")
    home.state_dir.joinpath("gateway.instance.json").write_text(json.dumps(_record(home, fake_supervisor.pid, port, log_file)))
    out = status(home, "--timeout", "1000")
    assert out["service"]["runtime"]["status"] == "running" and out["service"]["runtime"]["pid"] == fake_supervisor.pid
    assert out["port"]["status"] == "free" and out["logFile"] == str(log_file)
    assert out["lastError"] == "2026-11-21T10:00:00.000Z ERROR front-end exited 1: failed to bind gateway socket: EADDRINUSE"
    text = human(home, "--timeout", "1000")
    assert f"Gateway port {port} is not listening (service appears running)." in text
    assert "Last gateway error: 2026-11-21T10:00:00.000Z ERROR front-end exited 1" in text


def test_last_error_comes_from_a_bounded_tail(home: Home, fake_supervisor, tmp_path) -> None:
    port = free_port()
    home.write_config(home.default_config(port=port))
    log_file = tmp_path / "big.log"
    with open(log_file, "w") as f:
        f.write(_log_line("ERROR", "an old error, megabytes ago") + "\n")
        f.write((_log_line("INFO", "filler " + "y" * 200) + "\n") * 20_000)  # ~5 MB
        f.write(_log_line("INFO", "the newest line") + "\n")
    home.state_dir.joinpath("gateway.instance.json").write_text(json.dumps(_record(home, fake_supervisor.pid, port, log_file)))
    out = status(home, "--no-probe")
    # no error line in the tail: the newest line stands in, never the old error from the start of the file
    assert out["lastError"].endswith("INFO the newest line")


def test_deep_lists_other_gateways_and_stale_records(gateway: Gateway, home: Home, fake_supervisor, tmp_path) -> None:
    registry = home.home / ".local" / "state" / "openclaw" / "gateways"
    assert (registry / "default.json").exists()  # the running gateway registered itself
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale_dir = home.home / ".openclaw-old"
    stale_dir.mkdir()
    stale = _record(home, dead.pid, free_port(), tmp_path / "old.log", state_dir=stale_dir) | {"profile": "old"}
    (registry / "old.json").write_text(json.dumps(stale))
    (stale_dir / "gateway.instance.json").write_text(json.dumps(stale))
    other_dir = home.home / ".openclaw-rescue"
    other = _record(home, fake_supervisor.pid, free_port(), tmp_path / "r.log", state_dir=other_dir) | {"profile": "rescue"}
    (registry / "rescue.json").write_text(json.dumps(other))

    out = status(home, "--deep", "--no-probe")
    others = {g["profileName"]: g for g in out["extraServices"] if g["kind"] == "gateway"}
    assert set(others) == {"old", "rescue"}  # not this gateway itself
    assert others["rescue"]["alive"] is True and others["rescue"]["pid"] == fake_supervisor.pid
    assert others["old"]["alive"] is False and "not running" in others["old"]["staleReason"]
    assert others["old"]["cleanupHints"] == [
        "openclaw doctor --fix", f"rm {registry / 'old.json'} {stale_dir / 'gateway.instance.json'}",
    ]
    assert all({"label", "scope", "detail", "platform"} <= set(e) for e in out["extraServices"])  # upstream's keys
    text = human(home, "--deep", "--no-probe")
    assert "Other gateways on this host:" in text and "- profile rescue: pid" in text and "(running)" in text
    assert "- profile old: pid" in text and "stale" in text and "openclaw doctor --fix" in text
    assert status(home, "--no-probe")["extraServices"] == []  # only with --deep


def test_another_profiles_gateway_on_this_profiles_port(gateway: Gateway, home: Home, tmp_path) -> None:
    """Profile `ghost` is configured with the port the default profile's gateway holds."""
    ghost = Home(tmp_path, profile="ghost")
    ghost.write_config(ghost.default_config(port=gateway.port))
    env = home.env(OPENCLAW_PROFILE="ghost")
    out = status(home, env=env)
    assert out["service"]["runtime"]["status"] == "stopped"  # ghost itself runs nothing
    assert {e["owner"] for e in out["port"]["listeners"]} == {"gateway:default"}
    assert any("The gateway of profile default" in h for h in out["port"]["hints"])
    assert out["rpc"]["ok"] is True and str(home.config_path) in out["rpc"]["foreignGateway"]
    text = human(home, env=env)
    assert "another profile's gateway holds this port" in text and "gateway of profile default" in text


def test_explicit_url_and_port(gateway: Gateway, home: Home) -> None:
    out = status(home, "--url", gateway.url, "--token", TOKEN)
    assert out["rpc"]["ok"] is True and out["gateway"]["probeUrlSource"] == "cli --url"
    out = status(home, "--port", str(gateway.port))
    assert out["gateway"]["portSource"] == "cli" and out["rpc"]["ok"] is True
    r = home.cli("gateway", "status", "--port", "0")
    assert r.returncode == 2 and "--port must be 1-65535" in r.stderr
