"""POST /tools/invoke and the tools.* RPCs against a real gateway (brief §4, §5.6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..harness import Gateway, Home, running_gateway
from ..wsclient import open_client
from .http_kit import assert_security_headers, request


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("tools"))
    cfg = home.default_config(tools={"allow": ["web_fetch", "read"]})
    cfg["tools"] = {"allow": ["ls"]}
    home.write_config(cfg)
    with running_gateway(home) as gateway:
        yield gateway


def invoke(gw: Gateway, body: object, **kw: object):  # noqa: ANN201
    return request(gw, "POST", "/tools/invoke", body, **kw)  # type: ignore[arg-type]


def test_bearer_required(gw: Gateway) -> None:
    r = invoke(gw, {"tool": "sessions_list"}, auth=False)
    assert r.status == 401 and r.json() == {"error": {"message": "Unauthorized", "type": "unauthorized"}}
    assert_security_headers(r)
    r = invoke(gw, {"tool": "sessions_list"}, auth=False, headers={"Authorization": "Bearer wrong"})
    assert r.status == 401


def test_method_and_body_errors(gw: Gateway) -> None:
    r = request(gw, "GET", "/tools/invoke")
    assert r.status == 405 and r.header("Allow") == "POST" and r.body == b"Method Not Allowed"
    r = invoke(gw, None, raw=b"{not json")
    assert r.status == 400 and r.json()["ok"] is False
    r = invoke(gw, {})
    assert r.status == 400
    assert r.json() == {"ok": False, "error": {"type": "invalid_request", "message": "tools.invoke requires name"}}
    r = invoke(gw, None, raw=b'{"tool":"sessions_list","args":{"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}}')
    assert r.status == 413


def test_safe_tools_run(gw: Gateway) -> None:
    r = invoke(gw, {"tool": "sessions_list", "args": {}})
    assert r.status == 200, r.body
    body = r.json()
    assert body["ok"] is True
    assert body["result"]["content"][0]["type"] == "text"
    assert body["result"]["details"]["count"] == len(body["result"]["details"]["sessions"])
    r = invoke(gw, {"name": "agents_list"})
    details = r.json()["result"]["details"]
    assert details["requester"] == "main" and details["allowAny"] is False
    assert [a["id"] for a in details["agents"]] == ["main"]
    assert invoke(gw, {"tool": "get_goal"}).json()["result"]["details"] == {"status": "missing"}


def test_bad_args_is_a_tool_error(gw: Gateway) -> None:
    r = invoke(gw, {"tool": "sessions_search", "args": {}})
    assert r.status == 400
    assert r.json() == {"ok": False, "error": {"type": "tool_error", "message": "query must not be empty"}}


@pytest.mark.parametrize("tool", ["exec", "read", "ls", "nosuchtool", "sessions_send"])
def test_denied_unknown_and_coding_tools_are_404(gw: Gateway, tool: str) -> None:
    # `read` is in gateway.tools.allow and `ls` in tools.allow: coding tools never run over HTTP
    r = invoke(gw, {"tool": tool})
    assert r.status == 404
    assert r.json() == {"ok": False, "error": {"type": "not_found", "message": f"Tool not available: {tool}"}}


def test_rpc_catalog_effective_invoke(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        cat = c.call("tools.catalog", {})
        assert cat["ok"], cat
        groups = {g["id"]: [t["id"] for t in g["tools"]] for g in cat["payload"]["groups"]}
        assert "exec" in groups["runtime"] and "sessions_list" in groups["sessions"]
        eff = c.call("tools.effective", {"sessionKey": "agent:main:main"})
        tools = [t["id"] for t in eff["payload"]["groups"][0]["tools"]]
        assert "sessions_list" in tools and "ls" in tools  # tools.allow adds ls to the agent loop
        assert "exec" not in tools and "read" not in tools
        ok = c.call("tools.invoke", {"name": "get_goal", "args": {}})
        assert ok["ok"] and ok["payload"]["result"]["details"] == {"status": "missing"}
        denied = c.call("tools.invoke", {"name": "exec"})
        assert not denied["ok"] and denied["error"]["message"] == "Tool not available: exec"
        bad = c.call("tools.catalog", {"bogus": 1})
        assert not bad["ok"] and "unexpected property 'bogus'" in bad["error"]["message"]
    finally:
        c.close()
