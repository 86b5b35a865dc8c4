"""Start-up rules: refusals and their exit codes, ports, --force, profiles, secrets."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest

from ..harness import OPENCLAW, TOKEN, Gateway, Home, free_port, wait_for
from ..wsclient import Client, open_client


def run_gateway(home: Home, *args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """For starts that must fail: run to completion and return the result."""
    return subprocess.run([OPENCLAW, "gateway", *args], env=env or home.env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_missing_config_refused_78(home):
    r = run_gateway(home, "--port", "0")
    assert r.returncode == 78
    assert "Missing config" in r.stderr and "--allow-unconfigured" in r.stderr


@pytest.mark.parametrize(
    "config, needle",
    [
        ({"gateway": {"mode": "remote"}}, "set gateway.mode=local (current: remote)"),
        ({"gateway": {"port": 1234}}, "missing gateway.mode"),
        ({"gateway": {"mode": "local", "auth": {"mode": "password"}}}, "no password is configured"),
        ({"gateway": {"mode": "local", "bind": "lan"}, "x": 1}, "without auth"),
        ({"gateway": {"mode": "local", "bind": "lan", "auth": {"mode": "none"}}}, "without auth"),
        ({"gateway": {"mode": "local", "auth": {"token": "undefined"}}}, "placeholder"),
        ({"gateway": {"mode": "local", "reload": {"mode": "sometimes"}}}, "gateway.reload.mode"),
        ("{ gateway: { mode: 'local', ", "Invalid config"),
        ("[1, 2]", "must be an object"),
        ('{"gateway": {"mode": "local"}, "a":' + '{"a":' * 3000 + "1" + "}" * 3001, "nested deeper than 64 levels"),
        ('{gateway: {mode: "local"},\n  oops }', ":2:8: not valid JSON5 (expected ':', found '}')"),
        ({"gateway": {"mode": "local", "prot": 1}}, "gateway.prot: unknown key"),
        ({"gateway": {"mode": "local"}, "meta": {"blob": "x" * (2 * 1024 * 1024)}}, "larger than 2097152 bytes"),
    ],
)
def test_config_refusals_exit_78_before_binding(home, config, needle):
    home.write_config(config)
    port = free_port()
    r = run_gateway(home, "--port", str(port))
    assert r.returncode == 78, r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_lan_without_secret_refused_even_with_flag(home):
    home.write_config({"gateway": {"mode": "local"}})
    r = run_gateway(home, "--bind", "lan", "--port", "0")
    assert r.returncode == 78 and "Refusing to bind gateway to lan" in r.stderr


def test_bad_auth_flag_exit_1(home):
    home.write_config(home.default_config())
    r = run_gateway(home, "--auth", "bogus")
    assert r.returncode == 1
    assert 'Invalid --auth. Use "none", "token", "password", or "trusted-proxy".' in r.stderr


def test_allow_unconfigured_starts_with_runtime_token(make_gateway, home):
    gw = make_gateway(args=["--port", "0", "--allow-unconfigured"], config={"gateway": {"mode": "remote"}})
    token_file = home.state_dir / "gateway.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    assert str(token_file) in gw.output()
    assert json.loads(home.config_path.read_text()) == {"gateway": {"mode": "remote"}}  # never rewritten
    c = open_client(gw.url, token=token)
    assert c.call("health")["ok"]
    c.close()


def test_password_file(make_gateway, home, tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("correct horse battery staple\n")
    gw = make_gateway(args=["--port", "0", "--auth", "password", "--password-file", str(pw)],
                      config={"gateway": {"mode": "local"}, "logging": {"file": str(home.log_file)}})
    c = Client(gw.url)
    ok = c.hello(token=None, auth={"password": "correct horse battery staple"})
    assert ok["ok"] and ok["payload"]["auth"]["method"] == "password"
    c.close()
    bad = Client(gw.url)
    res = bad.hello(token=None, auth={"password": "wrong"})
    assert res["error"]["details"]["code"] == "AUTH_PASSWORD_MISMATCH"
    bad.close()


def test_missing_password_file_is_a_clear_refusal(home, tmp_path):
    home.write_config(home.default_config())
    r = run_gateway(home, "--port", "0", "--auth", "password", "--password-file", str(tmp_path / "nope"))
    assert r.returncode == 78 and "Cannot read --password-file" in r.stderr


def test_port_in_use_names_the_holder_and_exits_1(home):
    home.write_config(home.default_config())
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        r = run_gateway(home, "--port", str(port), env=home.env(OPENCLAW_BIND_RETRY_S="1"))
    finally:
        holder.close()
    assert r.returncode == 1
    assert f"port {port} is already in use" in r.stderr
    assert f"pid {os.getpid()}" in r.stderr
    assert "--force" in r.stderr


def test_force_stops_the_listener_and_starts(make_gateway, home):
    port = free_port()
    squatter = subprocess.Popen(
        [sys.executable, "-c",
         f"import signal,socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
         f"s.bind(('127.0.0.1',{port})); s.listen(); print('up', flush=True); signal.pause()"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert squatter.stdout.readline().strip() == "up"
        gw = make_gateway(args=["--port", str(port), "--force"])
        assert squatter.wait(10) is not None
        assert gw.port == port
    finally:
        if squatter.poll() is None:
            squatter.kill()
        squatter.wait()


def test_second_gateway_on_same_state_dir_refused(make_gateway, home):
    gw = make_gateway()
    r = run_gateway(home, "--port", "0")
    assert r.returncode == 78
    assert f"pid {gw.pid}" in r.stderr


def _status_json(home: Home, *args: str, env: dict | None = None) -> dict:
    r = home.cli(*args, "gateway", "status", "--json", "--no-probe", env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_port_precedence_for_clients(home):
    home.write_config(home.default_config(port=23456))
    assert _status_json(home)["gateway"]["port"] == 23456
    env = home.env(OPENCLAW_GATEWAY_PORT="127.0.0.1:24567")
    assert _status_json(home, env=env)["gateway"]["port"] == 24567
    env = home.env(OPENCLAW_GATEWAY_PORT="[::1]:24568")
    assert _status_json(home, env=env)["gateway"]["port"] == 24568


def test_port_precedence_for_the_server(make_gateway, home):
    p_cfg, p_env, p_flag = free_port(), free_port(), free_port()
    cfg = home.default_config(port=p_cfg)
    gw = make_gateway(args=[], config=cfg)
    assert gw.port == p_cfg
    gw.stop()
    gw = make_gateway(args=[], config=cfg, env=home.env(OPENCLAW_GATEWAY_PORT=str(p_env)))
    assert gw.port == p_env
    gw.stop()
    gw = make_gateway(args=["--port", str(p_flag)], config=cfg, env=home.env(OPENCLAW_GATEWAY_PORT=str(p_env)))
    assert gw.port == p_flag


def test_profile_defaults(tmp_path):
    h = Home(tmp_path, profile="x")
    out = _status_json(h, "--profile", "x")
    assert out["gateway"]["port"] == 22695  # 20000 + fnv1a32("x") % 40000
    assert out["config"]["cli"]["path"] == str(h.home / ".openclaw-x" / "openclaw.json")
    out = _status_json(h, "--dev")
    assert out["gateway"]["port"] == 19001


def test_two_profiles_run_side_by_side(make_gateway, tmp_path):
    a, b = Home(tmp_path / "a", profile="alpha"), Home(tmp_path / "b", profile="beta")
    for h in (a, b):
        h.write_config(h.default_config())
    env_a = a.env(OPENCLAW_PROFILE="alpha")
    env_b = b.env(OPENCLAW_PROFILE="beta")
    ga = make_gateway(args=["--port", "0"], env=env_a, h=a)
    gb = make_gateway(args=["--port", "0"], env=env_b, h=b)
    assert ga.port != gb.port
    ra = a.cli("gateway", "call", "status", "--json", env=env_a)
    rb = b.cli("gateway", "call", "status", "--json", env=env_b)
    assert json.loads(ra.stdout)["pid"] == ga.pid
    assert json.loads(rb.stdout)["pid"] == gb.pid


def test_dev_creates_config_and_prints_token(home):
    gw = Gateway(home, ["--dev", "--port", "0"])
    try:
        gw.start()
        rec = wait_for(lambda: (home.home / ".openclaw-dev" / "gateway.instance.json").exists(), 20, what="dev instance")
        assert rec
        wait_for(lambda: "token:" in gw.output(), 20, what="token printed")
        cfg = json.loads((home.home / ".openclaw-dev" / "openclaw.json").read_text())
        assert cfg["gateway"]["mode"] == "local" and cfg["gateway"]["port"] == 19001
        token = (home.home / ".openclaw-dev" / "gateway.token").read_text().strip()
        assert token in gw.output()
    finally:
        gw.stop()


def test_log_file_is_json_lines_without_secrets(gateway, home):
    c = open_client(gateway.url)
    c.call("health")
    c.close()
    lines = wait_for(lambda: home.log_file.exists() and home.log_file.read_text().splitlines(), 5, what="log lines")
    for line in lines:
        rec = json.loads(line)
        assert "time" in rec and "_meta" in rec and "message" in rec
    assert TOKEN not in home.log_file.read_text()
