"""The Control UI over HTTP (spec agent-nodes-channels §7, protocol §5): the document with its
headers and strict CSP, the static files (types, ETag/304, HEAD), the SPA fallback next to the API's
JSON 404s, `control-ui-config.json` behind the Bearer secret, no traversal, and
`gateway.controlUi.enabled` / `.basePath` applied hot. One gateway for the module."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from ..harness import TOKEN, Gateway, Home, running_gateway
from .http_kit import Reply, request

CSP_DIRECTIVES = {
    "default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "connect-src": "'self'",
    "base-uri": "'none'", "form-action": "'none'", "frame-ancestors": "'none'",
}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("ui-http"))
    with running_gateway(home) as gateway:
        yield gateway


def get(gw: Gateway, path: str, method: str = "GET", **kw: object) -> Reply:
    return request(gw, method, path, auth=False, **kw)  # type: ignore[arg-type]


def is_document(r: Reply, base: str = "") -> bool:
    return (r.status == 200 and r.header("Content-Type") == "text/html; charset=utf-8"
            and f'data-openclaw-control-ui-base-path="{base}"'.encode() in r.body and b"<title>OpenClaw Control</title>" in r.body)


def set_ui(gw: Gateway, **ui: object) -> None:
    cfg = json.loads(gw.home.config_path.read_text())
    if ui:
        cfg["gateway"]["controlUi"] = ui
    else:
        cfg["gateway"].pop("controlUi", None)
    gw.home.write_config(cfg)
    gw.wait_applied()


def test_the_document_has_the_security_headers_and_a_strict_csp(gw: Gateway) -> None:
    for path in ("/", "/index.html"):
        r = get(gw, path)
        assert is_document(r), (path, r.status, r.headers)
        assert r.header("Cache-Control") == "no-cache" and r.header("X-Frame-Options") == "DENY"
        assert r.header("X-Content-Type-Options") == "nosniff" and r.header("Referrer-Policy") == "no-referrer"
        assert r.header("Permissions-Policy")
        csp = dict(d.strip().split(" ", 1) for d in r.header("Content-Security-Policy").split(";"))
        for name, value in CSP_DIRECTIVES.items():
            assert csp[name] == value, (name, csp)
        assert "unsafe-inline" not in r.header("Content-Security-Policy") and "unsafe-eval" not in r.header("Content-Security-Policy")
    # no inline script or style anywhere in the document: every script is a file of ours
    body = get(gw, "/").body.decode()
    assert re.findall(r"<script[^>]*>", body) == ['<script type="module" src="/app.js">']
    assert "<style" not in body and " style=" not in body and "onclick" not in body


def test_static_files_types_etag_304_and_head(gw: Gateway) -> None:
    js = get(gw, "/app.js")
    assert js.status == 200 and js.header("Content-Type") == "text/javascript; charset=utf-8"
    assert js.header("Content-Security-Policy") and js.header("X-Content-Type-Options") == "nosniff"
    assert get(gw, "/style.css").header("Content-Type") == "text/css; charset=utf-8"
    assert get(gw, "/favicon.svg").header("Content-Type") == "image/svg+xml"
    assert get(gw, "/views/chat.js").status == 200
    etag = js.header("ETag")
    assert etag and etag.startswith('"')
    again = get(gw, "/app.js", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.header("ETag") == etag
    assert get(gw, "/app.js", headers={"If-None-Match": '"other"'}).status == 200
    doc_etag = get(gw, "/").header("ETag")
    assert get(gw, "/", headers={"If-None-Match": doc_etag}).status == 304
    head = get(gw, "/app.js", method="HEAD")
    assert head.status == 200 and head.body == b"" and head.header("Content-Length") == str(len(js.body))
    assert get(gw, "/", method="HEAD").status == 200
    # every file the app imports is served (no build step: the modules as shipped)
    for rel in re.findall(r'from "\./(views/[a-z]+\.js|[a-z]+\.js)"', js.body.decode()):
        assert get(gw, "/" + rel).status == 200, rel


@pytest.mark.parametrize("path", ["/some/route", "/chat", "/sessions/agent:main:main", "/livez", "/__openclaw__x"])
def test_unknown_get_without_an_extension_is_the_spa(gw: Gateway, path: str) -> None:
    assert is_document(get(gw, path)), path


@pytest.mark.parametrize("path", ["/api/x", "/v1/other", "/tools/x", "/__openclaw__/canvas/", "/healthz/x", "/hooks/x",
                                  "/channels/webhook/nope"])
def test_api_and_reserved_paths_stay_json_404(gw: Gateway, path: str) -> None:
    r = get(gw, path)
    assert r.status == 404 and r.header("Content-Type", ).startswith("application/json"), (path, r.status, r.body[:80])
    assert r.json() == {"error": {"message": "Not Found", "type": "not_found"}}


def test_missing_asset_and_post_are_404(gw: Gateway) -> None:
    r = get(gw, "/assets/nope.js")
    assert r.status == 404 and r.body == b"not found" and b"<html" not in r.body
    post = request(gw, "POST", "/", {}, auth=False)
    assert post.status == 404 and post.json()["error"]["type"] == "not_found"


def test_control_ui_config_needs_the_bearer_secret(gw: Gateway) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
        r = get(gw, "/control-ui-config.json", headers=headers)
        assert r.status == 401 and r.json() == {"error": {"message": "Unauthorized", "type": "unauthorized"}}, headers
    ok = get(gw, "/control-ui-config.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200 and ok.header("Cache-Control") == "no-store"
    body = ok.json()
    assert body["basePath"] == "" and body["assistantAgentId"] == "main" and body["serverVersion"]
    assert set(body) >= {"assistantName", "assistantAvatar", "serverBuildId", "embedSandbox", "terminalEnabled", "pluginFrameGrants"}


def raw_get(gw: Gateway, target: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", gw.port or 0), timeout=10) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("target", [b"/..%2f..%2fetc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/../../etc/passwd",
                                    b"/views/..%2f..%2f..%2fpyproject.toml", b"/app.js%00.png", b"/%00", b"/views%2f..%2fapp.py",
                                    b"/..%5c..%5capp.py", b"/http/control_ui.py", b"/__init__.py"])
def test_no_traversal(gw: Gateway, target: bytes) -> None:
    status, body = raw_get(gw, target)
    assert b"root:" not in body and b"[project]" not in body and b"import " not in body, (target, body[:200])
    assert status in (200, 400, 404), (target, status)
    if status == 200:
        assert b"<title>OpenClaw Control</title>" in body, target  # at most the SPA document


def test_enabled_false_and_base_path_are_hot(gw: Gateway) -> None:
    try:
        set_ui(gw, enabled=False)
        for path in ("/", "/index.html", "/app.js", "/some/route", "/control-ui-config.json"):
            r = get(gw, path)
            assert r.status == 404 and r.json()["error"]["type"] == "not_found", path
        assert get(gw, "/healthz").status == 200

        set_ui(gw, basePath="/ops/ui/")
        assert is_document(get(gw, "/ops/ui/"), "/ops/ui") and is_document(get(gw, "/ops/ui"), "/ops/ui")
        doc = get(gw, "/ops/ui/deep/route").body.decode()
        assert '<script type="module" src="/ops/ui/app.js">' in doc
        assert get(gw, "/ops/ui/app.js").status == 200 and get(gw, "/ops/ui/views/nodes.js").status == 200
        assert get(gw, "/").status == 404 and get(gw, "/app.js").status == 404 and get(gw, "/ops/uix").status == 404
        cfg = get(gw, "/ops/ui/control-ui-config.json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert cfg.status == 200 and cfg.json()["basePath"] == "/ops/ui"
    finally:
        set_ui(gw)
    assert is_document(get(gw, "/"))


class _Attrs(HTMLParser):
    """Every attribute value as a browser reads it (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.values.setdefault(name, []).append(value or "")


def test_a_base_path_with_an_entity_reaches_the_page_unchanged(gw: Gateway) -> None:
    # `&` and `;` are legal in a path segment: written raw into the document, `/a&amp;b` would be read
    # by the browser as `/a&b` (scripts, styles and the WebSocket at a path the gateway does not serve)
    try:
        set_ui(gw, basePath="/a&amp;b&lt;")
        r = get(gw, "/a&amp;b&lt;/")
        assert r.status == 200, r.status
        parsed = _Attrs()
        parsed.feed(r.body.decode())
        assert parsed.values["data-openclaw-control-ui-base-path"] == ["/a&amp;b&lt;"]
        assert "/a&amp;b&lt;/app.js" in parsed.values["src"] and "/a&amp;b&lt;/style.css" in parsed.values["href"]
        assert get(gw, "/a&amp;b&lt;/app.js").status == 200
    finally:
        set_ui(gw)


def test_if_none_match_uses_the_weak_comparison(gw: Gateway) -> None:
    etag = get(gw, "/app.js").header("ETag")
    assert get(gw, "/app.js", headers={"If-None-Match": f'"x", W/{etag}'}).status == 304
    assert get(gw, "/", headers={"If-None-Match": "*"}).status == 304
    assert get(gw, "/app.js", headers={"If-None-Match": 'W/"other"'}).status == 200


def test_a_base_path_on_an_api_path_is_refused_and_named_by_the_dashboard(gw: Gateway) -> None:
    # `/v1` or `/healthz` as basePath: the API keeps its paths, so the UI would be served nowhere.
    # `config set` refuses it; written into the file by hand, the gateway keeps its last good config
    # and the dashboard names the cause instead of asking whether the UI is disabled.
    for base in ("/v1", "/healthz"):
        res = gw.home.cli("config", "set", "gateway.controlUi.basePath", base)
        assert res.returncode != 0 and "gateway.controlUi.basePath" in res.stderr and "own paths" in res.stderr, res.stderr
    cfg = json.loads(gw.home.config_path.read_text())
    try:
        cfg["gateway"]["controlUi"] = {"basePath": "/v1"}
        gw.home.write_config(cfg)
        res = gw.home.cli("dashboard", "--no-open")
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
        assert "gateway.controlUi.basePath /v1" in res.stderr and "enabled false" not in res.stderr, res.stderr
        assert is_document(get(gw, "/"))  # the gateway kept serving the UI at its last good base path
    finally:
        set_ui(gw)
