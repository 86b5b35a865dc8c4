"""Nodes and devices with real clients nobody here wrote: the upstream CLI's own node host
(`openclaw node run`), its `nodes` and `devices` commands, and the `openclaw-node` npm library
as an operator and with role node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..harness import TOKEN, Gateway, Home, wait_for
from .conftest import UpstreamCli

SDK_SCRIPT = Path(__file__).with_name("sdk_client.cjs")


class Background:
    """A client process in its own session, killed (whole group) at the end."""

    def __init__(self, args: list[str], env: dict[str, str], out: Path) -> None:
        self.out = out
        self._f = open(out, "wb")
        self.proc = subprocess.Popen(args, env=env, stdout=self._f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self._f.close()


@pytest.fixture
def started() -> Iterator[list[Background]]:
    procs: list[Background] = []
    yield procs
    for p in procs:
        p.stop()


def sdk_env(upstream_cli: UpstreamCli, home: Home) -> dict[str, str]:
    return upstream_cli.env(home, NODE_PATH=str(upstream_cli.wrapper.parent.parent / "sdk" / "node_modules"))


def test_upstream_node_host_pairs_and_answers_invoke(upstream_cli: UpstreamCli, cli, home: Home, config_port_gateway: Gateway,
                                                     tmp_path: Path, started: list[Background]) -> None:
    gw = config_port_gateway
    node_home = Home(tmp_path / "node-machine")  # the node host is another user with its own state
    env = upstream_cli.env(node_home, OPENCLAW_GATEWAY_TOKEN=TOKEN)
    host = Background([str(upstream_cli.wrapper), "node", "run", "--host", "127.0.0.1", "--port", str(gw.port), "--no-tls"],
                      env, tmp_path / "node-host.out")
    started.append(host)

    def pending() -> list[dict[str, Any]]:
        res = cli("nodes", "pending", "--json")
        return res.json() if res.returncode == 0 else []

    requests = wait_for(pending, timeout=60, interval=1, what=f"the node host's pairing request\n{host.text()}")
    assert len(requests) == 1
    req = requests[0]
    assert "system.which" in req["commands"] and "file.write" not in req["commands"]  # filtered by the allowlist
    assert req["requiredApproveScopes"] == ["operator.pairing", "operator.admin"]

    approved = cli("nodes", "approve", req["requestId"])
    assert approved.returncode == 0, approved.describe()
    assert approved.json()["node"]["nodeId"] == req["nodeId"]

    invoked = cli("nodes", "invoke", "--node", req["nodeId"], "--command", "system.which", "--params", '{"bins":["ls"]}')
    assert invoked.returncode == 0, f"{invoked.describe()}\n--- node host ---\n{host.text()[-3000:]}"
    result = invoked.json()
    assert result["ok"] is True and result["command"] == "system.which"
    assert result["payload"]["bins"]["ls"].endswith("/ls")

    status = cli("nodes", "status", "--json")
    assert status.returncode == 0, status.describe()
    mine = [n for n in status.json()["nodes"] if n["nodeId"] == req["nodeId"]][0]
    assert mine["connected"] is True and mine["approvalState"] == "approved" and mine["paired"] is True

    listed = cli("nodes", "list", "--json")
    assert listed.returncode == 0 and [n["nodeId"] for n in listed.json()["paired"]] == [req["nodeId"]], listed.describe()

    devices = cli("devices", "list", "--json")
    assert devices.returncode == 0, devices.describe()
    paired = {d["deviceId"]: d for d in devices.json()["paired"]}
    assert paired[req["nodeId"]]["roles"] == ["node"]
    human = cli("devices", "list")
    assert human.returncode == 0 and req["nodeId"] in human.stdout, human.describe()
    assert "node host gateway connected" in host.text()


def test_openclaw_node_library_as_operator_and_as_node(upstream_cli: UpstreamCli, cli, home: Home, gateway: Gateway,
                                                       tmp_path: Path, started: list[Background]) -> None:
    env = sdk_env(upstream_cli, home)
    node_identity = tmp_path / "node-identity.json"
    node = Background([str(upstream_cli.node_bin / "node"), str(SDK_SCRIPT), "node", gateway.url, TOKEN, str(node_identity)],
                      env, tmp_path / "sdk-node.out")
    started.append(node)
    first = wait_for(lambda: [l for l in node.lines() if "connected" in l or "error" in l], timeout=30, what=f"sdk node\n{node.text()}")[0]
    assert first.get("connected") is True, node.text()
    assert first["auth"]["role"] == "node" and first["auth"]["method"] == "token" and len(first["auth"]["deviceToken"]) == 43
    saved = json.loads(node_identity.read_text())
    assert saved["deviceToken"] == first["auth"]["deviceToken"]

    op = subprocess.run([str(upstream_cli.node_bin / "node"), str(SDK_SCRIPT), "operator", gateway.url, TOKEN, str(tmp_path / "op.json")],
                        env=env, capture_output=True, text=True, timeout=60)
    assert op.returncode == 0, op.stdout + op.stderr
    seen = json.loads(op.stdout.strip().splitlines()[-1])
    assert seen["hello"]["type"] == "hello-ok" and seen["hello"]["auth"]["scopes"] == ["operator.read", "operator.write"]
    assert "deviceToken" not in seen["hello"]["auth"]  # gateway-client/backend on loopback: no pairing record
    assert seen["health"]["ok"] is True
    listed = [n for n in seen["nodes"]["nodes"] if n["nodeId"] == saved["deviceId"]]
    assert listed and listed[0]["connected"] is True and listed[0]["displayName"] == "sdk-node"

    # approve its surface with the upstream CLI, invoke through the library's node
    pending = [p for p in cli("nodes", "pending", "--json", "--url", gateway.url, "--token", TOKEN).json() if p["nodeId"] == saved["deviceId"]]
    assert pending, "no pending surface for the sdk node"
    assert cli("nodes", "approve", pending[0]["requestId"], "--url", gateway.url, "--token", TOKEN).returncode == 0
    invoked = cli("nodes", "invoke", "--node", saved["deviceId"], "--command", "system.which", "--params", '{"bins":["sh"]}',
                  "--url", gateway.url, "--token", TOKEN)
    assert invoked.returncode == 0, invoked.describe()
    assert invoked.json()["payload"]["bins"]["sh"].endswith("/sh")

    # next time the library sends its saved device token (as auth.token): accepted as a device token
    node.stop()
    started.remove(node)
    again = Background([str(upstream_cli.node_bin / "node"), str(SDK_SCRIPT), "node", gateway.url, TOKEN, str(node_identity)],
                       env, tmp_path / "sdk-node-2.out")
    started.append(again)
    second = wait_for(lambda: [l for l in again.lines() if "connected" in l or "error" in l], timeout=30, what=f"sdk node again\n{again.text()}")[0]
    assert second.get("connected") is True and second["auth"]["method"] == "device-token", again.text()
