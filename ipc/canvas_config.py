"""The canvas host's settings, from config + environment: is it on, which port, which directory.

    on      unless OPENCLAW_SKIP_CANVAS_HOST=1 or canvasHost.enabled=false
    port    OPENCLAW_CANVAS_HOST_PORT > canvasHost.port > gateway port + 4
            (a gateway on an ephemeral port, 0, or above 65531 gets an ephemeral canvas port)
    root    canvasHost.root (~ expanded; relative to the state dir) or <stateDir>/workspace/canvas

`canvasHost` is the top-level section (seed 003); `gateway.canvasHost` (seed 004) is read too,
key by key, the top level winning. Used by the supervisor (which children exist, the resolved
port in ResolvedGateway) and by the canvas process itself (the root, on every config change).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import ConfigRefusal

PREFIX = "/__openclaw__/canvas/"
PORT_OFFSET = 4
ENV_SKIP = "OPENCLAW_SKIP_CANVAS_HOST"
ENV_PORT = "OPENCLAW_CANVAS_HOST_PORT"
_TRUE = ("1", "true", "yes", "on")


def section(data: dict[str, Any]) -> dict[str, Any]:
    """`canvasHost` merged over `gateway.canvasHost` (non-dict values are the schema's business)."""
    gw = data.get("gateway")
    legacy = gw.get("canvasHost") if isinstance(gw, dict) else None
    top = data.get("canvasHost")
    out: dict[str, Any] = dict(legacy) if isinstance(legacy, dict) else {}
    if isinstance(top, dict):
        out.update(top)
    return out


def enabled(data: dict[str, Any], env: dict[str, str] | os._Environ[str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get(ENV_SKIP, "").strip().lower() in _TRUE:
        return False
    return section(data).get("enabled") is not False


def resolve_port(data: dict[str, Any], env: dict[str, str] | os._Environ[str], gateway_port: int) -> int | None:
    """The port to bind (0: ephemeral), or None when the canvas host is off. Raises ConfigRefusal."""
    if not enabled(data, env):
        return None
    raw = env.get(ENV_PORT, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) > 65535:
            raise ConfigRefusal(f"Invalid {ENV_PORT}: {raw!r} (an integer 0..65535)")
        port = int(raw)
    else:
        configured = section(data).get("port")
        if configured is not None:
            if isinstance(configured, bool) or not isinstance(configured, int) or not 0 <= configured <= 65535:
                raise ConfigRefusal(f"Invalid canvasHost.port: {configured!r} (an integer 0..65535)")
            port = configured
        elif gateway_port == 0 or gateway_port + PORT_OFFSET > 65535:
            port = 0  # ephemeral: `health.canvasHost.port` says which
        else:
            port = gateway_port + PORT_OFFSET
    if port != 0 and port == gateway_port:
        raise ConfigRefusal(f"canvasHost.port {port} is the gateway's own port: choose another one")
    return port


def root(data: dict[str, Any], state_dir: str) -> Path:
    configured = section(data).get("root")
    if isinstance(configured, str) and configured.strip():
        path = Path(configured.strip()).expanduser()
        return path if path.is_absolute() else Path(state_dir) / path
    return Path(state_dir) / "workspace" / "canvas"
