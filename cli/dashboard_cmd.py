"""`openclaw dashboard [--no-open] [--json]`: the Control UI's address, with what it needs to connect.

As upstream: find this profile's gateway (port as `gateway status` resolves it; https when
`gateway.tls` is on; `gateway.controlUi.basePath`), check that the UI document answers (HEAD,
200 text/html, over loopback; with TLS the local certificate is pinned), then print `Dashboard URL:`
and open the browser where there is one. The token travels in the URL fragment (`#token=…`), which
browsers never send to a server; the UI keeps it in the tab's sessionStorage and drops it from the
address bar. A token that is a SecretRef/env reference in the config is never printed.

Exit codes: 0 printed (and opened); 1 the gateway does not answer, or the UI is disabled/unavailable.
"""

from __future__ import annotations

import http.client
import os
import ssl
import sys
import webbrowser
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.control_ui_links import links, shadowed_base_path, ui_enabled
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.paths import resolve_paths
from openclaw.ipc.tls_material import gateway_tls_fingerprint

from .globals import OPTIONS
from .output import print_json
from .target import credentials_for, resolve_local_port

DOCUMENT_TIMEOUT_S = 2.0


@dataclass
class Document:
    ok: bool
    reason: str = ""
    status: int | None = None


def _probe_document(url: str, tls_sha256: str | None) -> Document:
    """HEAD the UI document: 200 text/html means the dashboard is there."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        from .tls_pin import pinned_context

        ctx = pinned_context(tls_sha256) if tls_sha256 else ssl._create_unverified_context()
        conn = http.client.HTTPSConnection(host, port, timeout=DOCUMENT_TIMEOUT_S, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=DOCUMENT_TIMEOUT_S)
    try:
        conn.request("HEAD", parts.path or "/", headers={"Accept": "text/html"})
        res = conn.getresponse()
        kind = (res.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
        if res.status == 200 and kind == "text/html":
            return Document(True)
        if res.status == 404:
            return Document(False, "The Control UI is not served by this gateway (HTTP 404): is gateway.controlUi.enabled false?", 404)
        return Document(False, f"Control UI dashboard is unavailable (HTTP {res.status}).")
    except ConnectionRefusedError:
        return Document(False, "Gateway is not running.")
    except ssl.SSLError as exc:
        return Document(False, f"Gateway TLS check failed: {exc}")
    except (OSError, http.client.HTTPException) as exc:
        return Document(False, f"Gateway did not answer ({type(exc).__name__}: {exc}).")
    finally:
        conn.close()


def _can_open_browser() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def dashboard_cmd(no_open: bool, as_json: bool) -> None:
    paths = resolve_paths(OPTIONS.effective_profile)
    try:
        config: dict[str, Any] = load_config(paths.config_path).data
    except ConfigRefusal as exc:
        _fail(as_json, f"OpenClaw config is invalid: {exc}. Run `openclaw doctor` or `openclaw config validate`.")
        return
    port, _source = resolve_local_port(paths, config)
    fingerprint = gateway_tls_fingerprint(config, paths.state_dir)
    gw = config.get("gateway")
    tls_section = gw.get("tls") if isinstance(gw, dict) else None
    tls = isinstance(tls_section, dict) and tls_section.get("enabled") is True  # as the gateway reads it
    ui = links(port, tls, config)
    if not ui_enabled(config):
        _fail(as_json, "The Control UI is disabled (gateway.controlUi.enabled: false).",
              ["`openclaw config set gateway.controlUi.enabled true` turns it on (hot)."])
        return
    doc = _probe_document(ui["httpUrl"], fingerprint if tls else None)
    if not doc.ok and doc.status == 404:
        shadowed = shadowed_base_path(config)
        if shadowed:
            _fail(as_json, f"The Control UI is served nowhere: gateway.controlUi.basePath {shadowed} is one of the "
                           "gateway's own paths (API, probe, hooks or channel), which keep it.",
                  ["Choose another base path, e.g. `openclaw config set gateway.controlUi.basePath /ui` (hot)."])
            return
    if not doc.ok:
        _fail(as_json, doc.reason, ["Run `openclaw gateway status --deep` for details.",
                                    "Run `openclaw gateway start` to start a managed gateway, or `openclaw gateway run` in the foreground."])
        return
    token, _password, source = credentials_for(paths, config, None, None)
    if config_value(config, "gateway.auth.mode") == "password":
        token, source = None, None  # a leftover gateway.auth.token would be refused: the password is typed in Settings
    url = f"{ui['httpUrl']}#token={quote(token, safe='')}" if token else ui["httpUrl"]
    opened = False
    if not no_open and not as_json and _can_open_browser():
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
    if as_json:
        print_json({"ok": True, "url": url, "httpUrl": ui["httpUrl"], "wsUrl": ui["wsUrl"], "port": port,
                    "tokenIncluded": bool(token), "tokenSource": source, **({"tlsFingerprint": fingerprint} if tls and fingerprint else {})})
        return
    print(f"Dashboard URL: {ui['httpUrl']}")
    if token:
        print(f"With the gateway token (stays in the URL fragment, never sent to a server): {url}")
    else:
        print("No gateway token found for this profile: enter the token or password in the dashboard's settings.")
    if opened:
        print("Opened in your browser. Keep that tab to control OpenClaw.")
    elif no_open:
        print("Browser launch disabled (--no-open). Use the URL above.")
    else:
        print(f"No browser here. From your own machine: ssh -N -L {port}:127.0.0.1:{port} <this host>, then open the URL above.")


def _fail(as_json: bool, reason: str, hints: list[str] | None = None) -> None:
    if as_json:
        print_json({"ok": False, "reason": reason})
    else:
        sys.stderr.write(reason + "\n")
        for hint in hints or []:
            sys.stderr.write(hint + "\n")
    raise SystemExit(ExitCode.FAILURE)
