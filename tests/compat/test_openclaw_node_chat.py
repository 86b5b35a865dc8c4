"""The openclaw-node client's agent stream (client.chat / chatSync / agentWait / agents.list) against
our gateway: it filters `agent` events by runId === its request id, takes `data.delta`, treats a
`delta === text` after earlier text as a new assistant message, and ends on the final res."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ..harness import TOKEN, Gateway, Home
from .conftest import UpstreamCli

SCRIPT = Path(__file__).with_name("sdk_chat.cjs")


def run_chat(upstream_cli: UpstreamCli, home: Home, gateway: Gateway, tmp_path: Path, message: str) -> dict:
    env = upstream_cli.env(home, NODE_PATH=str(upstream_cli.wrapper.parent.parent / "sdk" / "node_modules"))
    proc = subprocess.run(
        [str(upstream_cli.node_bin / "node"), str(SCRIPT), gateway.url, TOKEN, str(tmp_path / "id.json"), message,
         "agent:main:sdk"], env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_openclaw_node_chat_stream(upstream_cli: UpstreamCli, home: Home, make_gateway, tmp_path: Path) -> None:
    gateway = make_gateway()
    seen = run_chat(upstream_cli, home, gateway, tmp_path, "hello from node")
    types = [c["type"] for c in seen["chunks"]]
    assert types[0] == "agent_start" and "agent_end" in types and types[-1] == "done", types
    text = "".join(c["text"] for c in seen["chunks"] if c["type"] == "text")
    assert text == "Echo: hello from node"
    assert {c["runId"] for c in seen["chunks"] if c.get("runId")} == {seen["chunks"][0]["runId"]}
    assert seen["sync"] == "Echo: second turn"
    assert seen["waited"]["status"] == "ok"
    assert [a["id"] for a in seen["agents"]["agents"]] == ["main"]


def test_openclaw_node_chat_tool_turns(upstream_cli: UpstreamCli, home: Home, make_gateway, tmp_path: Path) -> None:
    """A tool call splits the reply into two assistant messages: openclaw-node emits tool_use, tool_result and a
    `done` between the two texts (the second turn's first delta equals its text)."""
    gateway = make_gateway()
    seen = run_chat(upstream_cli, home, gateway, tmp_path, '/tool sessions_list {}')
    types = [c["type"] for c in seen["chunks"]]
    assert "tool_use" in types and "tool_result" in types, types
    after = types[types.index("tool_result") + 1:]
    assert "text" in after, types
    second = "".join(c["text"] for c in seen["chunks"][types.index("tool_result") + 1:] if c["type"] == "text")
    assert second.startswith("Tool sessions_list returned"), seen["chunks"]
