"""Pure parts of `gateway status` / `gateway probe`: SSH target parsing, the log tail, capabilities."""

from __future__ import annotations

import json

import pytest
from openclaw.cli.gateway_probe import capability_of, strongest_capability
from openclaw.cli.log_tail import last_error_line, tail_lines
from openclaw.cli.ssh_tunnel import SshTarget, parse_ssh_target, ssh_command


@pytest.mark.parametrize(("raw", "want"), [
    ("alice@gw.example", SshTarget("alice", "gw.example", 22)),
    ("alice@gw.example:2222", SshTarget("alice", "gw.example", 2222)),
    ("gw.example", SshTarget(None, "gw.example", 22)),
    ("ssh bob@10.0.0.5:22", SshTarget("bob", "10.0.0.5", 22)),
])
def test_ssh_targets(raw: str, want: SshTarget) -> None:
    assert parse_ssh_target(raw) == want


@pytest.mark.parametrize("raw", [
    "", "-oProxyCommand=x", "alice@-oProxyCommand=x", "-l@host", "alice@host:0", "alice@host:99999",
    "alice@host:abc", "alice@ho st", "alice@ho\x01st", "a@b@c", "alice@:22",
])
def test_unsafe_or_bad_ssh_targets_are_refused(raw: str) -> None:
    assert parse_ssh_target(raw) is None


def test_ssh_command_is_batch_and_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENCLAW_SSH_CONFIG", raising=False)
    argv = ssh_command(SshTarget("alice", "gw.example", 2222), 40001, 18789, "/k/id", 2.5)
    joined = " ".join(argv)
    for part in ("-N -L 127.0.0.1:40001:127.0.0.1:18789", "-p 2222", "BatchMode=yes", "ExitOnForwardFailure=yes",
                 "StrictHostKeyChecking=yes", "ConnectTimeout=3", "-i /k/id"):
        assert part in joined
    assert argv[-2:] == ["--", "alice@gw.example"]  # the destination can never be read as an option
    monkeypatch.setenv("OPENCLAW_SSH_CONFIG", "/cfg")
    assert ssh_command(SshTarget(None, "h", 22), 1, 2, None, 1)[1:3] == ["-F", "/cfg"]


def _line(level: str, msg: str) -> str:
    return json.dumps({"time": "T", "_meta": {"logLevelName": level}, "message": msg})


def test_last_error_line(tmp_path) -> None:
    log = tmp_path / "g.log"
    assert last_error_line(log) is None  # missing file
    log.write_text("\n".join([_line("ERROR", "old"), _line("ERROR", "bind failed"), _line("INFO", "newest")]) + "\n")
    assert last_error_line(log) == "T ERROR bind failed"
    log.write_text(_line("INFO", "a") + "\nplain text: address already in use\n" + _line("INFO", "b") + "\n")
    assert last_error_line(log) == "plain text: address already in use"
    log.write_text(_line("INFO", "only info") + "\n")
    assert last_error_line(log) == "T INFO only info" and last_error_line(log, require_error=True) is None


def test_tail_is_bounded_and_starts_on_a_line(tmp_path) -> None:
    log = tmp_path / "g.log"
    log.write_text("first\n" + "x" * 100 + "\nsecond\nthird\n")
    assert tail_lines(log, max_bytes=20) == ["second", "third"]  # the cut line is dropped
    assert tail_lines(log)[0] == "first"


def test_capabilities() -> None:
    assert capability_of(["operator.admin"], True) == "admin_capable"
    assert capability_of(["operator.write"], True) == "write_capable"
    assert capability_of(["operator.read"], True) == "read_only"
    assert capability_of([], True) == "connected_no_operator_scope"
    assert capability_of([], False) == "unknown"
    assert capability_of([], False, "PAIRING_REQUIRED") == "pairing_pending"
    assert strongest_capability(["read_only", "admin_capable", "unknown"]) == "admin_capable"
    assert strongest_capability([]) == "unknown"
