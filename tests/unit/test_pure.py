"""Pure pieces: state tables, backoff, config precedence, scopes, log paging, frame bytes."""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import msgspec
import pytest

from openclaw.frontend.ws.framing import text_frame
from openclaw.ipc import control, envelope, frames, launch, scopes
from openclaw.ipc.config import parse_port_value, resolve_gateway
from openclaw.ipc.config_file import LoadedConfig, load_config
from openclaw.ipc.config_redact import redact, redact_raw
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.log_tail import read_page
from openclaw.ipc.paths import profile_default_port, resolve_paths
from openclaw.ipc.version import GATEWAY_VERSION
from openclaw.supervisor.backoff import Backoff
from openclaw.supervisor.gateway_state import GatewayEvent, GatewayState, next_state

REPO = Path(__file__).resolve().parents[2]


def test_version_constant_matches_pyproject():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert GATEWAY_VERSION == meta["project"]["version"]


def test_gateway_state_table():
    assert next_state(GatewayState.RUNNING, GatewayEvent.RESTART) is GatewayState.RESTARTING
    assert next_state(GatewayState.STOPPING, GatewayEvent.RESTART) is None  # no restart while stopping
    assert next_state(GatewayState.RESTARTING, GatewayEvent.STOP) is GatewayState.STOPPING


def test_backoff_grows_caps_and_resets():
    b = Backoff(jitter=0.0)
    delays = [b.next_delay(uptime_s=1.0) for _ in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == 30.0
    assert b.next_delay(uptime_s=120.0) == 0.5  # stable for a minute: start over
    j = Backoff()
    rng = random.Random(1)
    for _ in range(50):
        d = j.next_delay(1.0, rng)
        assert d <= 36.0


@pytest.mark.parametrize("text, port", [("1234", 1234), ("host:2345", 2345), ("[::1]:3456", 3456)])
def test_env_port_forms(text, port):
    assert parse_port_value(text, "env") == port


@pytest.mark.parametrize("text", ["", "abc", "host:", "99999", "1.2.3.4:x"])
def test_env_port_rejects_garbage(text):
    with pytest.raises(ConfigRefusal):
        parse_port_value(text, "env")


def _loaded(data: dict) -> LoadedConfig:
    return LoadedConfig(path="/x/openclaw.json", exists=True, raw=json.dumps(data), data=data, hash="h")


def test_port_and_secret_precedence(tmp_path):
    paths = resolve_paths(None, {"HOME": str(tmp_path)})
    data = {"gateway": {"mode": "local", "port": 1111, "auth": {"token": "config-token-0123456789abcdef"}}}
    g = resolve_gateway(launch.LaunchOptions(), paths, _loaded(data), {})
    assert (g.port, g.port_source, g.token) == (1111, "config gateway.port", "config-token-0123456789abcdef")
    env = {"OPENCLAW_GATEWAY_PORT": "2222", "OPENCLAW_GATEWAY_TOKEN": "env-token-0123456789abcdefgh"}
    g = resolve_gateway(launch.LaunchOptions(), paths, _loaded(data), env)
    assert (g.port, g.token) == (2222, "env-token-0123456789abcdefgh")
    g = resolve_gateway(launch.LaunchOptions(port=3333, token="flag-token-0123456789abcdefg"), paths, _loaded(data), env)
    assert (g.port, g.token, g.secret_source) == (3333, "flag-token-0123456789abcdefg", "cli --token")


def test_profile_paths_and_ports(tmp_path):
    p = resolve_paths("work", {"HOME": str(tmp_path)})
    assert p.state_dir == tmp_path / ".openclaw-work"
    assert p.config_path == tmp_path / ".openclaw-work" / "openclaw.json"
    p = resolve_paths(None, {"HOME": str(tmp_path), "OPENCLAW_CONFIG_PATH": "/etc/oc.json5"})
    assert p.config_path == Path("/etc/oc.json5")
    assert profile_default_port(None) == 18789
    assert profile_default_port("dev") == 19001
    assert profile_default_port("x") == 22695


def test_long_state_dir_gets_a_short_runtime_dir(tmp_path):
    p = resolve_paths(None, {"HOME": str(tmp_path / ("d" * 120))})
    assert len(str(p.runtime_dir())) < 90


def test_json5_config(tmp_path):
    f = tmp_path / "openclaw.json"
    f.write_text("// comment\n{ gateway: { mode: 'local', port: 1234, }, }\n")
    assert load_config(f).data == {"gateway": {"mode": "local", "port": 1234}}


def test_redaction():
    data = {"gateway": {"auth": {"token": "s3cret-token-value"}}, "models": [{"apiKey": "k-123456"}], "port": 1}
    red = redact(data)
    assert red["gateway"]["auth"]["token"] == "__OPENCLAW_REDACTED__"
    assert red["models"][0]["apiKey"] == "__OPENCLAW_REDACTED__"
    raw = redact_raw(json.dumps(data), data)
    assert "s3cret" not in raw and "k-123456" not in raw


def test_scopes():
    assert scopes.required_scope("health") == scopes.READ
    assert scopes.required_scope("no.such.method") == scopes.ADMIN
    assert scopes.required_scope("agent", {"message": "/reset now"}) == scopes.ADMIN
    assert scopes.required_scope("agent", {"message": "hi"}) == scopes.WRITE
    assert scopes.satisfies([scopes.WRITE], scopes.READ)
    assert not scopes.satisfies([scopes.READ], scopes.WRITE)
    assert scopes.satisfies([scopes.ADMIN], "operator.pairing")
    assert scopes.normalize(["operator.read", "bogus", "operator.read"]) == ["operator.read"]
    assert scopes.least_privilege("status") == [scopes.READ]


def test_logs_tail_paging(tmp_path):
    f = tmp_path / "log"
    f.write_bytes(b"".join(b'{"n":%d}\n' % i for i in range(10)) + b'{"partial"')
    first = read_page(f, False, None, 3, 10_000)
    assert first["lines"] == ['{"n":7}', '{"n":8}', '{"n":9}'] and first["truncated"]
    with f.open("ab") as fh:
        fh.write(b':1}\n{"n":11}\n')
    nxt = read_page(f, False, first["cursor"], 100, 10_000)
    assert nxt["lines"] == ['{"partial":1}', '{"n":11}']
    assert read_page(f, False, 10**9, 5, 10_000)["reset"] is True
    assert read_page(tmp_path / "missing", False, None, 5, 100)["lines"] == []


def test_frames_and_framing():
    prefix = frames.event_prefix("tick", b'{"ts":1}', {"presence": 1, "health": 2})
    ev = json.loads(frames.event_with_seq(prefix, 7))
    assert ev == {"type": "event", "event": "tick", "payload": {"ts": 1}, "stateVersion": {"presence": 1, "health": 2}, "seq": 7}
    assert json.loads(frames.response_ok(5, b"[1]")) == {"type": "res", "id": 5, "ok": True, "payload": [1]}
    assert text_frame(b"x" * 10)[:2] == b"\x81\x0a"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70000)[:2] == b"\x81\x7f"


def test_ipc_round_trips():
    call = envelope.Call(call_id=1, method="m", params=b"{}", deadline=1.5,
                         caller=envelope.CallerInfo(conn_id="c", client_id="cli", client_mode="cli", role="operator", scopes=[]))
    assert envelope.worker_decoder.decode(envelope.encode(call)) == call
    with pytest.raises(msgspec.ValidationError):
        envelope.frontend_decoder.decode(envelope.encode(call))  # wrong direction for this socket
    msg = control.Drain(reason="r", restart_expected_ms=5)
    assert control.child_decoder.decode(control.encode(msg)) == msg


def test_agents_config_default_and_ids() -> None:
    from openclaw.ipc import agents_config as ac

    assert ac.agent_ids({}) == ["main"] and ac.default_agent_id({}) == "main"
    cfg = {"agents": {"ownership": "explicit", "entries": {"Work": {}, "main": {}}}}
    assert ac.agent_ids(cfg) == ["work", "main"] and ac.default_agent_id(cfg) == "main"
    assert ac.default_agent_id({"agents": {"entries": {"a": {}, "b": {"default": True}}}}) == "b"
    assert ac.default_agent_id({"agents": {"list": [{"id": "ops"}, {"id": "x", "default": True}]}}) == "x"
    assert ac.agent_ids({"agents": {"entries": {"bad id!": {}}}}) == ["main"]
    assert not ac.model_configured({}) and ac.model_configured({"models": {"providers": {"p": {}}}})
    assert ac.model_configured({"agents": {"defaults": {"model": "p/m"}}})
