"""The newcomer's path, tried as a new user would: the README's first lines from a fresh shell, what a
failed connect says, the busy-port message for each kind of holder, and `--help` without `<bool>`."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import termios
from pathlib import Path

from ..harness import OPENCLAW, REPO, Gateway, Home, free_port

VENV_BIN = REPO / ".venv" / "bin"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


class ScriptGateway(Gateway):
    """A gateway started by a command other than `openclaw gateway` (ops/run-dev.sh, a pty)."""

    def __init__(self, home: Home, argv: list[str], env: dict[str, str], **popen: object) -> None:
        super().__init__(home, [], env)
        self.argv = argv
        self.popen = popen

    def start(self) -> ScriptGateway:
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=self._out, stderr=subprocess.STDOUT,
            **({"stdin": subprocess.DEVNULL} | self.popen),  # type: ignore[arg-type]
        )
        self.known.add(self.proc.pid)
        return self


def readme_path_line() -> str:
    """The README's one documented line that puts `openclaw` on PATH."""
    head = (REPO / "README.md").read_text().split("## What this is")[0]
    lines = [line.split("#")[0].strip() for line in head.splitlines() if line.startswith("export PATH=")]
    assert len(lines) == 1, "the README's first lines put the CLI on PATH in one line"
    return lines[0]


def second_shell(home: Path, command: str) -> subprocess.CompletedProcess[str]:
    """A fresh shell in the repo with only HOME and the system PATH, running the README line first."""
    return subprocess.run(
        ["bash", "-c", f"{readme_path_line()} && {command}"], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"HOME": str(home), "PATH": SYSTEM_PATH, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
    )


def test_run_dev_gateway_answers_a_second_shell(tmp_path: Path) -> None:
    assert (VENV_BIN / "openclaw").exists(), "ops/run-dev.sh runs the CLI of <repo>/.venv"
    home = Home(tmp_path, profile="dev")
    first = {"HOME": str(home.home), "PATH": SYSTEM_PATH, "NO_COLOR": "1", "OPENCLAW_SKIP_SETUP": "1"}
    gw = ScriptGateway(home, [str(REPO / "ops" / "run-dev.sh"), "--port", "0"], first)  # 19001 may be in use here
    try:
        gw.start().wait_ready()
        out = gw.output()
        assert f"state {home.home}/.openclaw-dev" in out and "export PATH=" in out
        assert (home.state_dir / "openclaw.json").exists() and (home.state_dir / "gateway.token").exists()
        r = second_shell(home.home, "openclaw --dev gateway health")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "OK" in r.stdout and f"ws://127.0.0.1:{gw.port}" in r.stdout

        # the same gateway reached from a shell of another profile or another home explains itself
        r = second_shell(home.home, f"OPENCLAW_GATEWAY_PORT={gw.port} openclaw gateway health")
        assert r.returncode == 1
        assert f"No token found for ws://127.0.0.1:{gw.port}: looked in --token" in r.stderr
        assert "OPENCLAW_GATEWAY_TOKEN" in r.stderr and f"{home.home}/.openclaw/gateway.token (no such file)" in r.stderr
        assert "DEVICE_IDENTITY_REQUIRED" in r.stderr and "paired device identity" in r.stderr
        assert "profile \"dev\"'s gateway" in r.stderr and "openclaw --profile dev ..." in r.stderr
        stranger = tmp_path / "stranger"
        stranger.mkdir()
        r = second_shell(stranger, f"OPENCLAW_GATEWAY_PORT={gw.port} openclaw gateway health")
        assert r.returncode == 1 and "registry does not list" in r.stderr, r.stderr
        r = second_shell(stranger, f"OPENCLAW_GATEWAY_PORT={gw.port} OPENCLAW_GATEWAY_TOKEN=not-the-token-of-this-gw "
                                   "openclaw gateway health --json")
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert "refused the token from OPENCLAW_GATEWAY_TOKEN" in r.stdout and "AUTH_TOKEN_MISMATCH" in r.stdout
    finally:
        gw.stop()


def _start_gateway_expecting_busy(home: Home, port: int, env: dict[str, str]) -> str:
    r = subprocess.run([OPENCLAW, "gateway", "--port", str(port)], env=env | {"OPENCLAW_BIND_RETRY_S": "0.3"},
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"port {port} is already in use" in r.stderr
    return r.stderr


def test_busy_port_names_a_foreign_holder_without_suggesting_gateway_stop(home: Home) -> None:
    home.write_config(home.default_config())
    port = free_port()
    script = (f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); "
              "print('up', flush=True); time.sleep(60)")
    squatter = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == "up"
        err = _start_gateway_expecting_busy(home, port, home.env())
    finally:
        squatter.kill()
        squatter.wait()
    assert f"pid {squatter.pid}" in err and "import socket" in err
    assert "not an OpenClaw gateway" in err and f"kill {squatter.pid}" in err
    assert "gateway stop" not in err and "--force" in err


def test_busy_port_names_the_profile_of_our_gateway(make_gateway, tmp_path: Path) -> None:
    main = Home(tmp_path, profile="main")
    port = free_port()
    holder = make_gateway(args=["--port", str(port)], h=main, env=main.env(OPENCLAW_PROFILE="main"))
    other = Home(tmp_path)  # same home, default profile
    other.write_config(other.default_config())
    err = _start_gateway_expecting_busy(other, port, other.env())
    assert f"pid {holder.pid}" in err and "openclaw-gateway: supervisor [main]" in err
    assert "`openclaw --profile main gateway stop`" in err
    assert "Ctrl-C" not in err  # started without a terminal


def test_busy_port_offers_ctrl_c_for_a_foreground_gateway(tmp_path: Path) -> None:
    fg = Home(tmp_path)
    fg.write_config(fg.default_config())
    port = free_port()
    master, slave = os.openpty()
    gw = ScriptGateway(fg, [OPENCLAW, "gateway", "--port", str(port)], fg.env(), stdin=slave, start_new_session=True,
                       preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    try:
        gw.start()
        os.close(slave)  # the gateway holds it now, as its controlling terminal
        gw.wait_ready()
        other = Home(tmp_path, profile="b")
        other.write_config(other.default_config())
        err = _start_gateway_expecting_busy(other, port, other.env(OPENCLAW_PROFILE="b"))
        assert "profile \"default\"'s OpenClaw gateway, in the foreground on /dev/pts/" in err
        assert "press Ctrl-C in its terminal, or run `openclaw gateway stop`" in err
    finally:
        gw.stop()
        os.close(master)


def test_help_shows_flags_without_bool(home: Home) -> None:
    r = home.cli("--help")
    assert r.returncode == 0 and "--dev" in r.stdout and "<bool>" not in r.stdout
    r = home.cli("gateway", "--help")
    assert r.returncode == 0 and re.search(r"--allow-unconfigured\s+Start", r.stdout) and "<bool>" not in r.stdout
    assert "<int>" in r.stdout  # options that take a value still say so

    import typer
    from typer.testing import CliRunner

    from openclaw.cli.main import app

    def walk(cmd: object, path: list[str]) -> list[list[str]]:
        subs = getattr(cmd, "commands", {}) or {}
        return [path] + [p for name, sub in sorted(subs.items()) for p in walk(sub, [*path, name])]

    paths = walk(typer.main.get_command(app), [])
    assert ["doctor"] in paths and ["gateway", "status"] in paths and len(paths) >= 10
    runner = CliRunner()
    for path in paths:
        res = runner.invoke(app, [*path, "--help"], env={"NO_COLOR": "1", "COLUMNS": "120"})
        assert res.exit_code == 0, (path, res.output)
        assert "<bool>" not in res.output, path


def test_second_shell_wait_is_bounded_when_nothing_listens(tmp_path: Path) -> None:
    """No gateway at all: a clear unreachable message naming the target, not an auth riddle."""
    home = tmp_path / "h"
    home.mkdir()
    port = free_port()  # nothing listens there
    r = second_shell(home, f"OPENCLAW_GATEWAY_PORT={port} openclaw --dev gateway health --timeout 3000")
    assert r.returncode == 1 and f"not reachable at ws://127.0.0.1:{port}" in r.stderr
