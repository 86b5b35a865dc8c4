"""`openclaw gateway probe`: every gateway this CLI knows, as an operator runs it.

Real gateways, a real sshd on a loopback port for `--ssh`; assertions are what an operator reads:
reachable or not, capability, which target is which gateway, the warnings, the exit code.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from typing import Any

import psutil
import pytest

from ..harness import OPENCLAW, TOKEN, Gateway, Home, free_port, wait_for
from ..sshd import running_sshd

RESCUE_TOKEN = "rescue-token-0123456789abcdefghijklmn"


def probe(home: Home, *args: str, env: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, Any], str]:
    r = home.cli("gateway", "probe", "--json", *args, env=env, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    try:
        return r.returncode, json.loads(r.stdout), r.stderr
    except ValueError:
        pytest.fail(f"probe --json printed no JSON (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")


def targets(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in out["targets"]}


def codes(out: dict[str, Any]) -> list[str]:
    return [w["code"] for w in out["warnings"]]


def boot_id(gw: Gateway) -> str:
    r = gw.home.cli("gateway", "call", "status", "--json", env=gw.env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["supervision"]["bootId"]


def test_probe_local_gateway(gateway: Gateway, home: Home) -> None:
    code, out, _ = probe(home)
    assert code == 0, out
    t = targets(out)["localLoopback"]
    assert t["url"] == gateway.url and t["active"] is True
    assert t["connect"]["ok"] is True and t["connect"]["rpcOk"] is True and t["connect"]["scopeLimited"] is False
    assert isinstance(t["connect"]["latencyMs"], int) and t["connect"]["latencyMs"] >= 0
    assert t["auth"]["capability"] == "admin_capable" and out["capability"] == "admin_capable"
    assert t["server"]["bootId"] == boot_id(gateway) and t["version"] == t["server"]["version"]
    assert t["pid"] == gateway.pid and t["summary"]["pid"] == gateway.pid  # the status read answered
    assert t["health"]["ok"] is True and t["self"]["instanceId"]
    assert t["credentialSource"].startswith("config gateway.auth.token")
    assert out["ok"] is True and out["degraded"] is False and out["warnings"] == []
    assert out["primaryTargetId"] == "localLoopback" and out["timeoutMs"] == 3000
    assert out["network"]["localLoopbackUrl"] == gateway.url

    r = home.cli("gateway", "probe")
    assert r.returncode == 0, r.stderr
    assert "Reachable: yes" in r.stdout and "Capability: admin-capable" in r.stdout
    assert f"Local loopback {gateway.url}" in r.stdout
    assert "Connect: ok (" in r.stdout and "Read probe: ok" in r.stdout and f"pid {gateway.pid}" in r.stdout


def test_probe_nothing_reachable_exits_1(home: Home) -> None:
    port = free_port()
    home.write_config(home.default_config(port=port))
    started = time.monotonic()
    code, out, _ = probe(home, "--timeout", "1500")
    assert code == 1 and out["ok"] is False
    assert time.monotonic() - started < 10
    assert "no_gateway_reachable" in codes(out) and out["primaryTargetId"] is None
    t = targets(out)["localLoopback"]
    assert t["url"] == f"ws://127.0.0.1:{port}" and t["connect"]["ok"] is False
    assert "ECONNREFUSED" in t["connect"]["error"] and t["auth"]["capability"] == "unknown"
    r = home.cli("gateway", "probe", "--timeout", "1500")
    assert r.returncode == 1 and "Reachable: no" in r.stdout and "Connect: failed" in r.stdout


def test_one_gateway_under_two_urls_is_not_multiple(gateway: Gateway, home: Home) -> None:
    """`localhost` and 127.0.0.1 are two URLs of one gateway: same boot id, no multiple_gateways warning."""
    other_url = f"ws://localhost:{gateway.port}"
    code, out, _ = probe(home, "--url", other_url, "--token", TOKEN)
    assert code == 0, out
    t = targets(out)
    assert t["explicit"]["url"] == other_url and t["explicit"]["connect"]["rpcOk"] is True
    assert t["localLoopback"]["connect"]["rpcOk"] is True
    assert t["explicit"]["identity"] == t["localLoopback"]["identity"]
    assert t["localLoopback"]["sameGatewayAs"] == "explicit"
    assert "multiple_gateways" not in codes(out) and out["primaryTargetId"] == "explicit"
    # the same URL twice is one target
    code, out, _ = probe(home, "--url", gateway.url, "--token", TOKEN)
    assert [t["id"] for t in out["targets"]] == ["explicit"]


def test_wrong_credentials_are_reachable_but_refused(gateway: Gateway, home: Home) -> None:
    code, out, _ = probe(home, "--token", "not-the-token-0123456789abcdef")  # --token applies to every target
    assert code == 0, out  # the gateway answered: reachable, as upstream counts it
    t = targets(out)["localLoopback"]
    assert t["connect"]["ok"] is True and t["connect"]["rpcOk"] is False and t["connect"]["latencyMs"] is None
    assert "AUTH_TOKEN_MISMATCH" in t["connect"]["error"] and t["auth"]["capability"] == "unknown"
    assert "probe_auth_failed" in codes(out) and out["degraded"] is True


def test_probe_usage_errors(home: Home) -> None:
    for args, code, text in [
        (["--timeout", "0"], 2, "--timeout"),
        (["--ssh", "-oProxyCommand=touch /tmp/x"], 2, "not a valid SSH target"),
        (["--url", "http://127.0.0.1:1", "--token", TOKEN], 2, "ws://"),
        (["--port", "70000"], 2, "--port"),
        (["--url", "ws://127.0.0.1:1"], 1, "requires explicit credentials"),
    ]:
        r = home.cli("gateway", "probe", *args)
        assert r.returncode == code, (args, r.stdout, r.stderr)
        assert text in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def _rescue(tmp_path) -> Home:
    """Profile `rescue` of the same user (same HOME), with its own token and log file."""
    rescue = Home(tmp_path, profile="rescue")
    rescue.log_file = tmp_path / "logs" / "rescue.log"
    cfg = rescue.default_config()
    cfg["gateway"]["auth"]["token"] = RESCUE_TOKEN
    rescue.write_config(cfg)
    return rescue


def test_probe_sees_the_other_profiles_gateway(make_gateway, home: Home, tmp_path) -> None:
    main = make_gateway()
    rescue_home = _rescue(tmp_path)
    rescue_env = home.env(OPENCLAW_PROFILE="rescue")
    rescue = make_gateway(env=rescue_env, h=rescue_home)

    code, out, _ = probe(home)
    assert code == 0, out
    t = targets(out)
    assert set(t) == {"localLoopback", "profile:rescue"}
    assert t["localLoopback"]["url"] == main.url and t["profile:rescue"]["url"] == rescue.url
    # rescue's credentials come from rescue's own config, not from this shell's
    assert t["profile:rescue"]["connect"]["rpcOk"] is True, t["profile:rescue"]
    assert str(rescue_home.config_path) in t["profile:rescue"]["credentialSource"]
    assert t["profile:rescue"]["pid"] == rescue.pid and t["localLoopback"]["pid"] == main.pid
    assert t["profile:rescue"]["kind"] == "profile" and t["profile:rescue"]["active"] is False
    multiple = [w for w in out["warnings"] if w["code"] == "multiple_gateways"]
    assert len(multiple) == 1 and set(multiple[0]["targetIds"]) == {"localLoopback", "profile:rescue"}

    code, out, _ = probe(home, env=rescue_env)  # and from the other side
    t = targets(out)
    assert set(t) == {"localLoopback", "profile:default"} and code == 0
    assert t["localLoopback"]["pid"] == rescue.pid and t["profile:default"]["pid"] == main.pid
    assert t["profile:default"]["connect"]["rpcOk"] is True and "multiple_gateways" in codes(out)
    r = home.cli("gateway", "probe", env=rescue_env)
    assert "Profile default " + main.url in r.stdout and "multiple reachable gateway identities" in r.stdout


def _ssh_left(before: set[int]) -> list[int]:
    """ssh client processes started since `before` that still run (none may outlive the CLI)."""
    left = []
    for p in psutil.process_iter(["pid", "name"]):
        if p.info["name"] == "ssh" and p.info["pid"] not in before:
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p.info["pid"])
            except psutil.NoSuchProcess:
                pass
    return left


def _ssh_pids() -> set[int]:
    return {p.info["pid"] for p in psutil.process_iter(["pid", "name"]) if p.info["name"] == "ssh"}


def test_probe_through_an_ssh_tunnel(make_gateway, home: Home, tmp_path) -> None:
    port = free_port()
    home.write_config(home.default_config(port=port))  # the remote gateway port comes from gateway.port
    gw = make_gateway(args=[])
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    with running_sshd(keys, identity_in_config=False) as sshd:
        env = home.env(**sshd.env())
        before = _ssh_pids()
        code, out, _ = probe(home, "--ssh", sshd.target, "--ssh-identity", str(sshd.client_key), "--token", TOKEN, env=env)
        assert code == 0, f"{out}\n--- sshd log ---\n{sshd.log()}"
        t = targets(out)
        assert "sshTunnel" in t, f"{out['warnings']}\n--- sshd log ---\n{sshd.log()}"
        tunnel = t["sshTunnel"]
        assert tunnel["connect"]["rpcOk"] is True and tunnel["auth"]["capability"] == "admin_capable"
        info = tunnel["tunnel"]
        assert info["kind"] == "ssh" and info["target"] == sshd.target and info["remotePort"] == port
        assert tunnel["url"] == f"ws://127.0.0.1:{info['localPort']}" and info["localPort"] != port
        assert tunnel["pid"] == gw.pid  # through the tunnel: this very gateway
        assert t["localLoopback"]["sameGatewayAs"] == "sshTunnel" and "multiple_gateways" not in codes(out)
        assert out["primaryTargetId"] == "sshTunnel" and f"Accepted publickey for {sshd.user}" in sshd.log()
        # the ssh process was ended by its PID before the CLI returned
        assert not psutil.pid_exists(info["pid"]) or psutil.Process(info["pid"]).status() == psutil.STATUS_ZOMBIE
        assert _ssh_left(before) == []
        wait_for(lambda: not sshd.sessions(), 5, what="sshd session closed")

        # the same from the config: gateway.remote.sshTarget/sshIdentity and gateway.remote.token
        cfg = home.default_config(port=port)
        cfg["gateway"]["remote"] = {"sshTarget": sshd.target, "sshIdentity": str(sshd.client_key), "token": TOKEN}
        home.write_config(cfg)
        code, out, _ = probe(home, env=env)
        assert code == 0 and targets(out)["sshTunnel"]["connect"]["rpcOk"] is True, out
        assert targets(out)["sshTunnel"]["credentialSource"] == "config gateway.remote.token"
        r = home.cli("gateway", "probe", env=env)
        assert "Remote over SSH ws://127.0.0.1:" in r.stdout and f"ssh: {sshd.target} (pid " in r.stdout, r.stdout
        assert _ssh_left(before) == []

        # a refused login is a warning, never a hang or a leftover ssh; the local gateway still answers
        code, out, _ = probe(home, "--ssh", sshd.target, "--ssh-identity", str(keys / "missing_key"), env=env)
        assert code == 0 and "sshTunnel" not in targets(out), out
        failed = [w for w in out["warnings"] if w["code"] == "ssh_tunnel_failed"]
        assert failed and "Permission denied" in failed[0]["message"], out["warnings"]
        assert _ssh_left(before) == []


def test_ssh_tunnel_to_nowhere_is_bounded(gateway: Gateway, home: Home, tmp_path) -> None:
    dead = free_port()  # nothing listens there
    empty = tmp_path / "ssh_config"
    empty.write_text("")  # nothing from the real user's ~/.ssh
    started = time.monotonic()
    code, out, _ = probe(home, "--ssh", f"nobody@127.0.0.1:{dead}", "--timeout", "2000",
                         env=home.env(OPENCLAW_SSH_CONFIG=str(empty)))
    assert time.monotonic() - started < 10
    assert code == 0 and targets(out)["localLoopback"]["connect"]["rpcOk"] is True
    failed = [w for w in out["warnings"] if w["code"] == "ssh_tunnel_failed"]
    assert failed and "Connection refused" in failed[0]["message"], out["warnings"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_probe_leaves_no_ssh_behind(home: Home, tmp_path, sig: int) -> None:
    """The CLI killed while it probes through the tunnel: SIGTERM unwinds and ends ssh by PID, and
    after SIGKILL ssh dies with it (pdeathsig)."""
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    with socket.socket() as silent, running_sshd(keys) as sshd:
        silent.bind(("127.0.0.1", 0))  # the "remote gateway": accepts, never answers, so the probe waits
        silent.listen()
        home.write_config(home.default_config(port=silent.getsockname()[1]))
        cli = subprocess.Popen(
            [OPENCLAW, "gateway", "probe", "--json", "--timeout", "30000", "--ssh", sshd.target, "--token", TOKEN],
            env=home.env(**sshd.env()), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            def tunnel_up() -> list[psutil.Process]:
                kids = [k for k in psutil.Process(cli.pid).children() if k.name() == "ssh"]
                return kids if kids and sshd.sessions() and cli.poll() is None else []

            [ssh] = wait_for(tunnel_up, 15, what="the probe's ssh tunnel logged in")
            cli.send_signal(sig)
            assert cli.wait(10) == (-sig if sig == signal.SIGKILL else 128 + sig)
            wait_for(lambda: not ssh.is_running() or ssh.status() == psutil.STATUS_ZOMBIE, 5, what="ssh gone")
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait(5)
