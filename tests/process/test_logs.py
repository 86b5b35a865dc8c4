"""Logs of real gateways: a file per profile, size rotation under a running gateway followed by
`openclaw logs --follow`, the file fallback when the gateway is down, the `--json` line shapes,
the truncated notice, and the console level and style."""

from __future__ import annotations

import datetime as _dt
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..harness import OPENCLAW, Gateway, Home, wait_for
from ..wsclient import open_client

LOG_KEYS = {"type", "time", "level", "subsystem", "module", "plugin", "message", "raw"}


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR for the default log folder (and ipc:// paths, which must stay short)."""
    path = Path(tempfile.mkdtemp(prefix="oc-logs-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def events(gw: Gateway, texts: list[str]) -> None:
    """Each `system-event` writes one info line ("system event", text=...) from the front-end."""
    c = open_client(gw.url)
    try:
        for text in texts:
            assert c.call("system-event", {"text": text, "instanceId": "logs-test"})["ok"]
    finally:
        c.close()


def on_a_terminal(home: Home, *args: str, no_color_env: bool = False) -> str:
    """`openclaw <args>` with its stdout on a pseudo-terminal; what it printed there."""
    env = home.env()
    if not no_color_env:
        env.pop("NO_COLOR")
    main, sub = pty.openpty()
    try:
        proc = subprocess.run([OPENCLAW, *args], env=env, stdout=sub, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=30, check=False)
        os.close(sub)
        sub = -1
        assert proc.returncode == 0, proc.stderr
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")
    finally:
        os.close(main)
        if sub >= 0:
            os.close(sub)


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


# --------------------------------------------------------------------------- one file per gateway


def test_two_profiles_log_to_two_dated_files(tmp_path: Path, short_tmp: Path) -> None:
    """No logging.file: the default profile writes /tmp/openclaw/openclaw-DATE.log, `rescue`
    writes openclaw-rescue-DATE.log; each `openclaw logs` reads its own."""
    main = Home(tmp_path / "main")
    rescue = Home(tmp_path / "main", profile="rescue")  # the same HOME, another profile
    gateways = []
    try:
        for home, profile in ((main, None), (rescue, "rescue")):
            cfg = home.default_config()
            del cfg["logging"]
            home.write_config(cfg)
            env = home.env(TMPDIR=str(short_tmp), **({"OPENCLAW_PROFILE": profile} if profile else {}))
            gw = Gateway(home, ["--port", "0"], env=env)
            gateways.append((gw, env))
            gw.start()
        for gw, _ in gateways:
            gw.wait_ready()
        day = _dt.date.today().isoformat()
        folder = short_tmp / "openclaw"
        files = {"main": folder / f"openclaw-{day}.log", "rescue": folder / f"openclaw-rescue-{day}.log"}
        for (gw, env), name in zip(gateways, files, strict=True):
            pids = {r["pid"] for r in map(json.loads, files[name].read_text().splitlines())}
            assert gw.pid in pids, name  # its supervisor writes its own file...
            other = files["rescue" if name == "main" else "main"]
            assert gw.pid not in {r["pid"] for r in map(json.loads, other.read_text().splitlines())}  # ...only
            r = subprocess.run([OPENCLAW, "logs", "--json", "--limit", "5"], env=env, capture_output=True, text=True, timeout=30, check=False)
            assert r.returncode == 0, r.stderr
            assert jsonl(r.stdout)[0]["file"] == str(files[name])
        assert mode(folder) == 0o700
    finally:
        for gw, _ in gateways:
            gw.stop()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# --------------------------------------------------------------------------- rotation and --follow


@pytest.fixture
def rotating(tmp_path: Path) -> Iterator[Gateway]:
    """A gateway whose log rotates every ~6 KiB, keeping 2 rotated files."""
    home = Home(tmp_path)
    cfg = home.default_config()
    cfg["logging"].update(maxFileBytes=6144, maxFiles=2)
    home.write_config(cfg)
    gw = Gateway(home, ["--port", "0"])
    try:
        gw.start()
        gw.wait_ready()
        yield gw
    finally:
        gw.stop()


class Follower:
    """`openclaw logs --follow --json` as a subprocess, its stdout and stderr in files."""

    def __init__(self, home: Home) -> None:
        self.out, self.err = home.root / "follow.out", home.root / "follow.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [OPENCLAW, "logs", "--follow", "--json", "--interval", "100"], env=home.env(),
                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )

    def records(self) -> list[dict[str, Any]]:
        return jsonl(self.out.read_text(errors="replace"))

    def texts(self) -> list[str]:
        return [r["message"] for r in self.records() if r["type"] == "log"]

    def event_texts(self) -> list[str]:
        """The `text` of every followed "system event" line, in order."""
        out = []
        for r in self.records():
            if r["type"] == "log":
                text = json.loads(r["raw"]).get("fields", {}).get("text")
                if isinstance(text, str):
                    out.append(text)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def test_rotation_under_a_running_gateway_is_followed_then_read_from_the_file(rotating: Gateway) -> None:
    home = rotating.home
    follower = Follower(home)
    try:
        wait_for(lambda: follower.records(), 20, what="the follower's first page")
        assert follower.records()[0]["type"] == "meta"
        sent: list[str] = []
        for batch in range(8):  # ~35 KB of lines: 5+ rotations, each batch followed before the next
            texts = [f"rotation-marker-{batch}-{i}-" + "r" * 150 for i in range(8)]
            events(rotating, texts)
            sent += texts
            wait_for(lambda t=texts[-1]: t in follower.event_texts(), 10, what=f"batch {batch} followed")
        assert [t for t in follower.event_texts() if t.startswith("rotation-marker-")] == sent  # each once, in order
        assert {"type": "notice", "message": "Log cursor reset (file rotated)."} in follower.records()

        files = sorted(p.name for p in home.log_file.parent.glob("openclaw*.log"))
        assert files == ["openclaw.1.log", "openclaw.2.log", "openclaw.log"], files  # at most maxFiles kept
        for name in files:
            assert (home.log_file.parent / name).stat().st_size <= 6144 + 2048, name

        # the gateway stops: the follower goes on from the file, so it prints the last lines too
        rotating.stop()
        wait_for(lambda: any("completed cleanly" in m for m in follower.texts()), 15, what="shutdown line followed")
        assert follower.proc.poll() is None
        err = jsonl(follower.err.read_text())
        assert {"type": "notice", "message": "Local Gateway RPC unavailable; reading configured file log instead."} in err
        fallback_meta = [r for r in follower.records() if r["type"] == "meta" and r.get("localFallback")]
        assert fallback_meta and fallback_meta[0]["file"] == str(home.log_file)
    finally:
        follower.stop()

    # and a one-shot `openclaw logs` with the gateway down reads the file, saying so on stderr only
    r = home.cli("logs", "--limit", "5")
    assert r.returncode == 0, r.stderr
    assert "Local Gateway RPC unavailable; reading configured file log instead." in r.stderr
    assert r.stdout.startswith(f"Log file: {home.log_file}\n") and "completed cleanly" in r.stdout
    r = home.cli("logs", "--json", "--limit", "5")
    lines = jsonl(r.stdout)
    assert r.returncode == 0 and lines[0] == {"type": "meta", "file": str(home.log_file), "sourceKind": "file",
                                               "cursor": lines[0]["cursor"], "size": lines[0]["size"], "localFallback": True}
    assert all(x["type"] == "log" for x in lines[1:]) and len(lines) == 6
    assert jsonl(r.stderr) == [{"type": "notice", "message": "Local Gateway RPC unavailable; reading configured file log instead."}]


def test_gateway_down_with_no_log_file_says_so(home: Home, tmp_path: Path) -> None:
    cfg = home.default_config(port=1)  # nothing listens on port 1
    home.write_config(cfg)
    r = home.cli("logs", "--timeout", "2000")
    assert r.returncode == 0, r.stderr
    assert "reading configured file log instead" in r.stderr and f"No log file yet at {home.log_file}" in r.stderr


def test_explicit_url_does_not_fall_back(home: Home) -> None:
    home.write_config(home.default_config())
    r = home.cli("logs", "--url", "ws://127.0.0.1:1", "--token", "x" * 30, "--timeout", "2000")
    assert r.returncode == 1 and "not reachable" in r.stderr and "file log" not in r.stderr


# --------------------------------------------------------------------------- --json shapes and notices


def test_json_shapes_and_the_truncated_notice(gateway: Gateway) -> None:
    home = gateway.home
    events(gateway, [f"fill-{i}" for i in range(210)])  # more lines than the default --limit 200
    wait_for(lambda: any("fill-209" in json.dumps(r) for r in home.log_records()), 10, what="lines written")

    r = home.cli("logs", "--json", "--limit", "3")
    lines = jsonl(r.stdout)
    assert r.returncode == 0, r.stderr
    meta = lines[0]
    assert list(meta) == ["type", "file", "sourceKind", "cursor", "size"] and meta["file"] == str(home.log_file)
    assert meta["sourceKind"] == "file" and meta["cursor"] == meta["size"] > 0
    logs = lines[1:]
    assert len(logs) == 3 and all(x["type"] == "log" and set(x) <= LOG_KEYS for x in logs)
    for x in logs:
        assert {"time", "level", "subsystem", "message", "raw"} <= set(x) and json.loads(x["raw"])["message"] == x["message"]
    assert r.stderr == ""  # an explicit --limit: no "increase --limit" notice

    r = home.cli("logs", "--json")  # the default --limit: the notice, as upstream prints it
    lines = jsonl(r.stdout)
    assert lines[-1] == {"type": "notice", "message": "Log tail truncated (increase --limit or --max-bytes)."}
    assert sum(x["type"] == "log" for x in lines) == 200

    r = home.cli("logs", "--limit", "2", "--plain")
    out = r.stdout.splitlines()
    assert r.returncode == 0 and out[0] == f"Log file: {home.log_file}" and len(out) == 3
    assert "\x1b[" not in r.stdout and " info " in out[1]

    tty = on_a_terminal(home, "logs", "--limit", "3")
    assert "\x1b[36minfo\x1b[0m" in tty and "\x1b[2mLog file:\x1b[0m" in tty  # coloured by level on a TTY
    assert re.search(r"\x1b\[2m\d\d:\d\d:\d\d[+-]\d\d:\d\d\x1b\[0m", tty)  # the short local time
    for plain in (on_a_terminal(home, "logs", "--limit", "3", "--no-color"),
                  on_a_terminal(home, "logs", "--limit", "3", "--plain"),
                  on_a_terminal(home, "logs", "--limit", "3", no_color_env=True)):
        assert "\x1b[" not in plain and "info" in plain

    assert home.cli("logs", "--limit", "0").returncode == 2
    assert home.cli("logs", "--max-bytes", "2000000").returncode == 2


# --------------------------------------------------------------------------- console


def test_console_level_and_style_are_honoured_and_hot(make_gateway: Any, home: Home) -> None:
    cfg = home.default_config()
    cfg["logging"].update(consoleStyle="json", consoleLevel="warn")
    gw = make_gateway(config=cfg)
    home.write_config("{ not json5")  # the supervisor logs an error: printed, as a JSON line
    wait_for(lambda: "config reload failed" in gw.output(), 10, what="the reload error printed")
    printed = [json.loads(x) for x in gw.output().splitlines() if x.startswith("{")]
    assert any(r["_meta"]["logLevelName"] == "ERROR" and r["process"] == "supervisor" for r in printed), printed
    assert not [r for r in printed if r["_meta"]["logLevelName"] == "INFO"]  # below consoleLevel: not printed...
    assert any(r["_meta"]["logLevelName"] == "INFO" for r in home.log_records())  # ...but in the file (level info)

    cfg["logging"].update(consoleStyle="compact", consoleLevel="info")  # hot: pushed to every process
    home.write_config(cfg)
    gw.wait_applied()

    def printed_compact() -> bool:
        events(gw, ["console-marker"])  # logged by the front-end, once it has the new settings
        return any(" INFO  [frontend] " in x and "text=console-marker" in x for x in gw.output().splitlines())

    wait_for(printed_compact, 10, interval=0.2, what="an info line of the front-end printed in the compact style")
