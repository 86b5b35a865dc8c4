"""The Control UI in a real headless browser, as a person meets it: load the page, enter the token,
see the process table, approve a pending node, chat with the agent and watch the streamed reply,
edit a hot config key and see it applied; and the refusals (wrong token, stale hash, invalid
config) and hostile text (presence text with HTML) shown as words. One gateway and one browser."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from ..device_identity import DeviceIdentity
from ..harness import TOKEN, Gateway, Home, running_gateway
from ..wsclient import Client, connect_params, open_client
from .conftest import Browser

pytestmark = pytest.mark.xdist_group("control-ui-browser")  # one gateway + one browser when run with --dist loadgroup


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("ui-browser"))
    with running_gateway(home) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def op(gw: Gateway) -> Iterator[Client]:
    c = open_client(gw.url, scopes=["operator.admin"])
    try:
        yield c
    finally:
        c.close()


def page(gw: Gateway, fragment: str = "") -> str:
    return f"http://127.0.0.1:{gw.port}/" + (f"#{fragment}" if fragment else "")


def connected(browser: Browser, gw: Gateway) -> None:
    """The page loaded with the token and connected (the state every view test starts from)."""
    if browser.js("return document.getElementById('conn') && document.getElementById('conn').dataset.state") != "connected" \
            or not browser.driver.current_url.startswith(page(gw)):
        browser.driver.get(page(gw, "token=" + urllib.parse.quote(TOKEN, safe="")))
    browser.wait(lambda: browser.js("return document.getElementById('conn').dataset.state") == "connected", 15, "connected")


def tab(browser: Browser, name: str) -> None:
    browser.click(f"#tab-{name}")
    browser.one(f"#view-{name}")


def test_wrong_token_is_said_then_the_typed_token_connects_and_the_process_table_matches_status(
        browser: Browser, gw: Gateway, op: Client) -> None:
    browser.driver.get(page(gw))
    browser.js("sessionStorage.clear()")
    browser.driver.get(page(gw))
    browser.wait(lambda: browser.js("return document.getElementById('conn').dataset.state") == "need-token", 10, "asks for a token")
    field = browser.one("#token")
    field.send_keys("not-the-token")
    browser.one("#connect").click()
    browser.wait(lambda: "Wrong token" in browser.text("#settings-status-text"), 10, "the wrong-token message")
    assert browser.js("return document.getElementById('conn').dataset.state") == "refused"
    assert "Wrong token" in browser.text("#banner-text")

    field = browser.one("#token")
    field.clear()
    field.send_keys(TOKEN)
    browser.one("#connect").click()
    browser.wait(lambda: browser.js("return document.getElementById('conn').dataset.state") == "connected", 15, "connected")
    assert browser.js("return sessionStorage.getItem('openclaw.control.token')") == TOKEN

    procs = op.call("status")["payload"]["supervision"]["processes"]
    want = {p["name"]: str(p["pid"]) for p in procs}
    assert {"supervisor", "frontend", "agent", "node"} <= set(want)

    def shown() -> dict[str, str]:
        return browser.js("return Object.fromEntries([...document.querySelectorAll('#processes tr.proc')]"
                          ".map(r => [r.dataset.name, r.dataset.pid]))")

    browser.wait(lambda: shown() == want, 10, f"process rows {want}")
    row = browser.one("#processes tr.proc[data-name='agent']").text
    assert "running" in row and "MiB" in row  # state and RSS


def test_the_dashboard_link_token_is_kept_and_dropped_from_the_address_bar(browser: Browser, gw: Gateway) -> None:
    browser.driver.get(page(gw))
    browser.js("sessionStorage.clear()")
    browser.driver.get(page(gw, "token=" + urllib.parse.quote(TOKEN, safe="")))
    browser.wait(lambda: browser.js("return document.getElementById('conn').dataset.state") == "connected", 15, "connected")
    assert "token" not in browser.driver.current_url and TOKEN not in browser.driver.current_url
    assert browser.js("return sessionStorage.getItem('openclaw.control.token')") == TOKEN
    assert browser.js("return crypto.subtle !== undefined && window.isSecureContext")


def test_approve_a_pending_node(browser: Browser, gw: Gateway, op: Client) -> None:
    connected(browser, gw)
    dev = DeviceIdentity()
    node = Client(gw.url)
    try:
        params = connect_params(client_id="node-host", mode="node", scopes=[], role="node", caps=["system"],
                                commands=["system.notify", "system.which"])
        params["client"].update(displayName="ui-test-node", deviceFamily="Linux")
        assert node.call("connect", dev.sign(params, node.nonce))["ok"] is True
        tab(browser, "nodes")
        browser.one(f"tr.pending-node[data-node-id='{dev.device_id}'] button.approve")
        assert "ui-test-node" in browser.text(f"tr.pending-node[data-node-id='{dev.device_id}']")
        browser.click(f"tr.pending-node[data-node-id='{dev.device_id}'] button.approve")
        browser.one(f"tr.node[data-node-id='{dev.device_id}'][data-approval='approved']")
        assert not browser.css(f"tr.pending-node[data-node-id='{dev.device_id}']")
        listed = {n["nodeId"]: n for n in op.call("node.list")["payload"]["nodes"]}
        assert listed[dev.device_id]["approvalState"] == "approved"
        assert node.next_event("node.pair.resolved")["payload"]["decision"] == "approved"
    finally:
        node.close()


def test_chat_streams_the_reply_and_history_comes_back(browser: Browser, gw: Gateway) -> None:
    connected(browser, gw)
    tab(browser, "chat")
    text = f"hello from the browser {time.monotonic_ns()}"
    box = browser.one("#chat-input")
    box.send_keys(text)
    browser.one("#chat-send").click()
    final = browser.one(".msg-assistant[data-state='final']", timeout=15)
    assert final.find_element("css selector", ".body").text == f"Echo: {text}"
    assert int(final.get_attribute("data-deltas")) >= 1  # shown while it streamed, before the final
    assert browser.one(".msg-user").text.endswith(text)
    # reopened, the conversation comes from chat.history
    tab(browser, "overview")
    tab(browser, "chat")
    browser.wait(lambda: len(browser.css(".msg[data-state='history']")) >= 2, 10, "history")
    bodies = [e.text for e in browser.css(".msg[data-state='history'] .body")]
    assert text in bodies and f"Echo: {text}" in bodies


def _edit_config(browser: Browser, change: Any) -> None:
    editor = browser.one("#config-editor")
    browser.wait(lambda: editor.get_attribute("value").strip(), 10, "the config text")
    cfg = json.loads(editor.get_attribute("value"))
    change(cfg)
    editor.clear()
    editor.send_keys(json.dumps(cfg, indent=1))
    browser.click("#config-apply")


def test_config_editor_applies_a_hot_key_and_says_why_it_refuses(browser: Browser, gw: Gateway, op: Client) -> None:
    connected(browser, gw)
    tab(browser, "config")
    browser.click("#config-reload")
    before = op.call("config.get")["payload"]
    browser.wait(lambda: browser.one("#config-editor").get_attribute("data-hash") == before["hash"], 10, "loaded")
    _edit_config(browser, lambda c: c.setdefault("logging", {}).update(level="debug"))
    browser.wait(lambda: browser.one("#config-outcome").get_attribute("data-kind") == "applied", 10, "applied")
    assert "logging.level" in browser.text("#config-outcome")
    got = op.call("config.get")["payload"]
    assert got["parsed"]["logging"]["level"] == "debug" and got["parsed"]["gateway"]["auth"]["token"] == "__OPENCLAW_REDACTED__"
    assert json.loads(gw.home.config_path.read_text())["gateway"]["auth"]["token"] == TOKEN  # the secret kept
    browser.wait(lambda: browser.one("#config-editor").get_attribute("data-hash") == got["hash"], 10, "reloaded after apply")

    # invalid: the validation error, nothing written
    _edit_config(browser, lambda c: c["gateway"].update(port="not-a-port"))
    browser.wait(lambda: browser.one("#config-outcome").get_attribute("data-kind") == "invalid", 10, "refused")
    assert "gateway.port" in browser.text("#config-outcome")
    assert op.call("config.get")["payload"]["hash"] == got["hash"]

    # changed elsewhere since the editor loaded it: a stale base hash
    browser.click("#config-reload")
    browser.wait(lambda: browser.one("#config-editor").get_attribute("value").find("not-a-port") < 0, 10, "reloaded")
    res = op.call("config.patch", {"raw": '{logging: {level: "info"}}', "baseHash": got["hash"]})
    assert res["ok"] is True, res
    _edit_config(browser, lambda c: c["logging"].update(level="warn"))
    browser.wait(lambda: browser.one("#config-outcome").get_attribute("data-kind") == "stale", 10, "stale")
    assert "changed elsewhere" in browser.text("#config-outcome")
    assert op.call("config.get")["payload"]["parsed"]["logging"]["level"] == "info"


def test_presence_text_with_html_is_shown_as_text(browser: Browser, gw: Gateway, op: Client) -> None:
    connected(browser, gw)
    tab(browser, "overview")
    hostile = '<img src=x onerror="window.__xss=1"><b>bold</b>'
    res = op.call("system-event", {"text": hostile, "instanceId": "xss-probe", "mode": "test", "host": "<script>x</script>"})
    assert res["ok"] is True, res
    browser.wait(lambda: hostile in [e.text for e in browser.css("#presence .presence-text")], 10, "the presence entry")
    assert browser.css("#presence img") == [] and browser.css("#presence b") == [] and browser.css("#presence script") == []
    assert browser.js("return window.__xss === undefined")


def test_logs_follow_and_sessions_channels_render(browser: Browser, gw: Gateway, op: Client) -> None:
    connected(browser, gw)
    tab(browser, "logs")
    browser.wait(lambda: len(browser.css("#logs-lines .line")) > 0, 10, "log lines")
    marker = f"log-marker-{time.monotonic_ns()}"
    assert op.call("system-event", {"text": marker})["ok"] is True  # logged as "system event" with the text
    browser.wait(lambda: any(marker in e.text for e in browser.css("#logs-lines .line")[-50:]), 10, "the new line followed")
    assert op.call("chat.send", {"sessionKey": "main", "message": "for the list", "idempotencyKey": f"k-{marker}"})["ok"]
    tab(browser, "sessions")
    browser.one("tr.session[data-key='agent:main:main']")
    tab(browser, "channels")
    browser.wait(lambda: "No channels configured" in browser.text("#channels-list"), 10, "the channels view")


COUNT_SENDS = """
window.__sent = {};
if (!window.__countingSends) {
  window.__countingSends = true;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try { const f = JSON.parse(data); window.__sent[f.method] = (window.__sent[f.method] || 0) + 1; } catch (e) { /* not JSON */ }
    return send.call(this, data);
  };
}
"""


def test_sessions_follow_the_events_and_a_burst_costs_few_requests(browser: Browser, gw: Gateway, op: Client) -> None:
    # the view said "refreshed on sessions.changed" but never subscribed (only its 5 s poll showed a
    # change); subscribed, each event must not start its own sessions.list (N events a second would
    # become N requests a second from every open tab)
    connected(browser, gw)
    assert op.call("chat.send", {"sessionKey": "main", "message": "a session to label", "idempotencyKey": f"b-{time.monotonic_ns()}"})["ok"]
    tab(browser, "overview")
    tab(browser, "sessions")
    browser.one("tr.session[data-key='agent:main:main']")
    browser.js(COUNT_SENDS)
    for round_ in range(3):  # three rounds well inside one 5 s poll period: each one shown by its event
        label = f"live-{round_}-{time.monotonic_ns()}"
        assert op.call("sessions.patch", {"key": "agent:main:main", "label": label})["ok"] is True
        browser.wait(lambda label=label: label in browser.text("#sessions-list"), 1.4, f"round {round_}: the label shown live")
    before = browser.js("return window.__sent['sessions.list'] || 0")
    for i in range(40):
        label = f"burst-{i}-{time.monotonic_ns()}"
        assert op.call("sessions.patch", {"key": "agent:main:main", "label": label})["ok"] is True
    browser.wait(lambda: label in browser.text("#sessions-list"), 5, "the last label shown")
    lists = browser.js("return window.__sent['sessions.list'] || 0") - before
    assert lists <= 20, f"{lists} sessions.list requests for 40 events"


def test_concurrent_first_uses_of_the_identity_make_one_key(browser: Browser, gw: Gateway) -> None:
    # the settings view and the connect both ask for the identity as a page opens: with no stored key
    # each made its own, so the id shown was not the one that connected (or was stored for the next load)
    connected(browser, gw)
    ids = browser.driver.execute_async_script("""
      const done = arguments[arguments.length - 1];
      const open = indexedDB.open("openclaw-control-ui", 1);
      open.onsuccess = () => {
        const tx = open.result.transaction("identity", "readwrite");
        const saved = tx.objectStore("identity").get("device-v1");
        tx.oncomplete = async () => {
          const del = open.result.transaction("identity", "readwrite");
          del.objectStore("identity").delete("device-v1");
          await new Promise((r) => { del.oncomplete = r; });
          const m = await import("/identity.js?fresh=" + Date.now());  // a module instance with nothing cached
          const got = await Promise.all([m.deviceIdentity(), m.deviceIdentity(), m.deviceIdentity()]);
          const again = await import("/identity.js?fresh2=" + Date.now());
          const stored = await again.deviceIdentity();
          const put = open.result.transaction("identity", "readwrite");
          put.objectStore("identity").put(saved.result, "device-v1");  // the page's own key back
          put.oncomplete = () => done([...got.map((d) => d.deviceId), stored.deviceId]);
        };
      };
      open.onerror = () => done(["no db"]);
    """)
    assert len(ids) == 4 and len(set(ids)) == 1, ids


def test_hostile_text_everywhere_stays_text(browser: Browser, gw: Gateway, op: Client) -> None:
    # a session label, a chat message (its history, and the echo streamed back), a log line, a node's
    # display name and commands: markup in any of them is shown as characters, never parsed
    connected(browser, gw)
    hostile = "<img src=x onerror=window.__xss=1><a href=javascript:window.__xss=2>x</a>"  # no quote: JSON in logs
    tag = f"h{time.monotonic_ns()}"
    assert op.call("chat.send", {"sessionKey": "main", "message": tag + hostile, "idempotencyKey": tag})["ok"]
    assert op.call("sessions.patch", {"key": "agent:main:main", "label": hostile})["ok"] is True
    assert op.call("system-event", {"text": tag + hostile})["ok"] is True
    dev = DeviceIdentity()
    node = Client(gw.url)
    try:
        params = connect_params(client_id="node-host", mode="node", scopes=[], role="node", caps=["system"],
                                commands=[hostile])
        params["client"].update(displayName=hostile)
        node.call("connect", dev.sign(params, node.nonce))
        checks = {"sessions": "#sessions-list", "chat": "#chat-log", "logs": "#logs-lines", "nodes": "#node-pending"}
        for name, box in checks.items():
            tab(browser, name)
            browser.wait(lambda box=box: hostile in browser.text(box), 10, f"the hostile text in {name}")
            assert browser.css(f"{box} img") == [] and browser.css(f"{box} a") == [], name
        assert browser.js("return window.__xss === undefined")
    finally:
        node.close()


def test_a_gateway_without_auth_connects_with_no_token(browser: Browser, tmp_path: Any) -> None:
    # gateway.auth.mode "none" (loopback only): there is no token to enter, yet the page used to stop
    # at "Enter the gateway token"; it asks control-ui-config.json (no Bearer needed then) and connects
    home = Home(tmp_path)
    home.write_config(home.default_config(auth={"mode": "none"}))
    with running_gateway(home) as open_gw:
        browser.driver.get(page(open_gw))
        browser.js("sessionStorage.clear()")
        browser.driver.refresh()
        browser.wait(lambda: browser.js("return document.getElementById('conn').dataset.state") == "connected", 15,
                     "connected without a token")
    browser.driver.get("about:blank")  # the next test starts from its own page


SLOW_LOGS_TAIL = """
window.__slowTail = true;
if (!window.__slowing) {
  window.__slowing = true;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    let slow = false;
    try { slow = window.__slowTail && JSON.parse(data).method === "logs.tail"; } catch (e) { /* not JSON */ }
    if (slow) { setTimeout(() => send.call(this, data), 2500); return undefined; }
    return send.call(this, data);
  };
}
"""


def test_a_slow_log_tail_does_not_show_lines_twice(browser: Browser, gw: Gateway, op: Client) -> None:
    # the follow timer started the next logs.tail every second whether or not the last one had
    # answered: on a slow gateway two calls with the same cursor appended the same lines twice
    connected(browser, gw)
    tab(browser, "logs")
    browser.wait(lambda: len(browser.css("#logs-lines .line")) > 0, 10, "log lines")
    browser.js(SLOW_LOGS_TAIL)
    try:
        marker = f"slow-tail-{time.monotonic_ns()}"
        assert op.call("system-event", {"text": marker})["ok"] is True
        browser.wait(lambda: any(marker in e.text for e in browser.css("#logs-lines .line")[-50:]), 12, "the marker line")
        later = f"slow-tail-after-{time.monotonic_ns()}"
        assert op.call("system-event", {"text": later})["ok"] is True
        browser.wait(lambda: any(later in e.text for e in browser.css("#logs-lines .line")[-50:]), 12, "the next line")
        shown = [e.text for e in browser.css("#logs-lines .line") if marker in e.text]
        assert len(shown) == 1, shown
    finally:
        browser.js("window.__slowTail = false")
