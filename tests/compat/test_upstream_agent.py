"""The upstream CLI 2026.9.6 runs agent turns through our gateway: `openclaw agent --message hi --json`
(final payload verbatim, exit 0; a failed run's cli_error JSON, exit 1) and `openclaw gateway call agent
--expect-final --params …` (skips the accepted res, prints the final payload)."""

from __future__ import annotations

import json

from ..harness import Gateway, Home


def test_upstream_agent_message_json(cli, home: Home, config_port_gateway: Gateway) -> None:
    res = cli("agent", "--message", "hi", "--json")
    assert res.returncode == 0, res.describe()
    payload = res.json()
    assert payload["status"] == "ok" and payload["summary"] == "completed", res.describe()
    assert payload["result"]["payloads"] == [{"text": "Echo: hi", "mediaUrl": None}]
    assert payload["result"]["meta"]["agentMeta"]["sessionFile"] == "agent:main:main"
    human = cli("agent", "--message", "plain words")
    assert human.returncode == 0 and human.stdout.strip().endswith("Echo: plain words"), human.describe()
    failed = cli("agent", "--message", "/fail", "--json")
    assert failed.returncode == 1, failed.describe()
    err = json.loads(failed.stdout)
    assert err["ok"] is False and err["error"]["type"] == "cli_error" and err.get("runId"), failed.describe()
    # the runs landed in agent:main:main, which upstream's own `sessions --json` reads from our store
    listed = cli("sessions", "--json")
    assert listed.returncode == 0, listed.describe()
    keys = [s["key"] for s in listed.json()["sessions"]]
    assert "agent:main:main" in keys, listed.describe()


def test_upstream_gateway_call_agent_expect_final(cli, home: Home, config_port_gateway: Gateway) -> None:
    params = json.dumps({"message": "hello", "idempotencyKey": "cli-agent-1"})
    res = cli("gateway", "call", "agent", "--expect-final", "--params", params)
    assert res.returncode == 0, res.describe()
    assert res.stdout.startswith("Gateway call: agent\n"), res.describe()  # upstream's header, then the payload
    payload = json.loads(res.stdout.split("\n", 1)[1])
    assert payload["runId"] == "cli-agent-1" and payload["status"] == "ok"
    assert payload["result"]["payloads"][0]["text"] == "Echo: hello"
    assert payload["result"]["meta"]["agentMeta"]["sessionId"] == "cli-agent-1"
    assert payload["result"]["meta"]["agentMeta"]["sessionFile"] == "agent:main:explicit:cli-agent-1"
    again = cli("gateway", "call", "agent", "--expect-final", "--params", params)  # replay: the final res only
    assert again.returncode == 0 and json.loads(again.stdout.split("\n", 1)[1]) == payload, again.describe()
