"""The Control UI on the gateway port (spec agent-nodes-channels §7, protocol §5).

`<basePath>/` and `<basePath>/index.html` answer the app's document; the app's static files come
from an in-memory table built once from the package folder `frontend/control_ui/` (a request path is
looked up in that table, never joined onto a directory: no traversal); any other GET under the base
path without a file extension is the SPA fallback (the document again), unless it is an API or
reserved path. `<basePath>/control-ui-config.json` needs the gateway's Bearer secret.
`gateway.controlUi.enabled` and `.basePath` are read on every request (hot).
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web
from openclaw.ipc.agents_config import default_agent_id
from openclaw.ipc.control_ui_links import base_path, reserved_path, ui_enabled

from . import bearer
from .responses import SECURITY_HEADERS, json_response

if TYPE_CHECKING:
    from ..services import Services

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
UI_HEADERS = {"Cache-Control": "no-cache", "X-Frame-Options": "DENY", "Content-Security-Policy": CSP}
CONFIG_FILE = "control-ui-config.json"
BASE_MARK = "__OPENCLAW_BASE_PATH__"
TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json; charset=utf-8",
    ".webmanifest": "application/manifest+json; charset=utf-8", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _content_type(name: str) -> str:
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    return TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def load_assets() -> tuple[dict[str, Asset], str]:
    """`{"/app.js": Asset, "/views/chat.js": Asset, ...}` (index.html kept apart as a template)."""
    root = resources.files("openclaw.frontend") / "control_ui"
    table: dict[str, Asset] = {}
    template = ""

    def walk(folder: Any, prefix: str, depth: int) -> None:
        nonlocal template
        for entry in folder.iterdir():
            name = entry.name
            if name.startswith(".") or name == "__pycache__":
                continue
            if entry.is_dir():
                if depth < 1:
                    walk(entry, f"{prefix}{name}/", depth + 1)
                continue
            body = entry.read_bytes()
            if prefix == "/" and name == "index.html":
                template = body.decode("utf-8")
                continue
            table[prefix + name] = Asset(body, _content_type(name), _etag(body))

    if root.is_dir():
        walk(root, "/", 0)
    return table, template


class ControlUi:
    """The static table (built once) and the rendered document per base path."""

    def __init__(self) -> None:
        self.assets, self.template = load_assets()
        self._documents: dict[str, Asset] = {}

    def document(self, base: str) -> Asset:
        doc = self._documents.get(base)
        if doc is None:
            # a checked plain path, but one that may hold `&` (`/a&amp;b` must not reach the page as `/a&b`)
            body = self.template.replace(BASE_MARK, html.escape(base, quote=True)).encode("utf-8")
            doc = self._documents[base] = Asset(body, TYPES[".html"], _etag(body))
        return doc


CONTROL_UI: web.AppKey[ControlUi] = web.AppKey("control_ui", ControlUi)


def install(app: web.Application) -> None:
    app[CONTROL_UI] = ControlUi()


def _not_modified(request: web.Request, etag: str) -> bool:
    """If-None-Match by weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`, `*` matches any."""
    tags = {t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")}
    return etag in tags or "*" in tags


def _answer(request: web.Request, asset: Asset) -> web.Response:
    headers = {**SECURITY_HEADERS, **UI_HEADERS, "ETag": asset.etag}
    if _not_modified(request, asset.etag):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = asset.content_type
    return web.Response(body=asset.body, headers=headers)


def _not_found_text() -> web.Response:
    return web.Response(status=404, text="not found", content_type="text/plain", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def ui_config(svc: Services, base: str) -> dict[str, Any]:
    """The `control-ui-config.json` object (upstream's keys, our values)."""
    config = svc.settings.config
    return {
        "basePath": base, "assistantName": "Assistant", "assistantAvatar": "A", "assistantAvatarSource": None,
        "assistantAvatarStatus": None, "assistantAvatarReason": None, "assistantAgentId": default_agent_id(config),
        "serverVersion": svc.version, "serverBuildId": svc.build_id, "embedSandbox": "scripts",
        "allowExternalEmbedUrls": False, "automaticallyFetchFavicons": False, "communityInvite": False,
        "terminalEnabled": False, "cliAgentsEnabled": False, "pluginAssetsRequireAuth": True, "pluginFrameGrants": [],
    }


async def maybe_control_ui(request: web.Request, svc: Services) -> web.StreamResponse | None:
    """The UI's answer for this request, or None when it is not the UI's (the caller's 404)."""
    config = svc.settings.config
    if not ui_enabled(config) or request.method not in ("GET", "HEAD"):
        return None
    path = request.path
    if "\x00" in path or reserved_path(path, config):
        return None
    base = base_path(config)
    if base:
        if path != base and not path.startswith(base + "/"):
            return None
        rel = path[len(base):] or "/"
    else:
        rel = path
    ui = request.app[CONTROL_UI]
    if rel in ("/", "/index.html"):
        return _answer(request, ui.document(base))
    if rel == "/" + CONFIG_FILE:
        refused = await bearer.authorize(request, svc)
        if refused is not None:
            return refused
        return json_response(ui_config(svc, base))
    asset = ui.assets.get(rel)
    if asset is not None:
        return _answer(request, asset)
    last = rel.rsplit("/", 1)[-1]
    if "." in last:  # a file that is not there: no document in its place
        return _not_found_text()
    return _answer(request, ui.document(base))
