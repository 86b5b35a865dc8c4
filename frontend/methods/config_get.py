"""`config.get`: the config file as the gateway sees it, secrets redacted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc.config import load_config, redact, redact_raw
from openclaw.ipc.errors import ConfigRefusal

from .params import Empty, decode

if TYPE_CHECKING:
    from ..context import Frontend
    from ..ws.session import Session


def config_get(fe: Frontend, session: Session, raw: bytes) -> bytes:
    decode(raw, Empty, "config.get")
    g = fe.gateway
    path = Path(g.config_path)
    out: dict[str, Any] = {"path": str(path), "issues": [], "warnings": [], "legacyIssues": []}
    try:
        loaded = load_config(path)
    except ConfigRefusal as exc:
        out.update(exists=path.exists(), valid=False, raw=None, parsed=None, config=None, hash=None)
        out["issues"].append({"path": "<root>", "message": str(exc)})
    else:
        parsed = redact(loaded.data)
        out.update(
            exists=loaded.exists,
            valid=True,
            raw=redact_raw(loaded.raw, loaded.data) if loaded.exists else None,
            parsed=parsed,
            config=parsed,
            hash=loaded.hash,
        )
    out["appliedConfigHash"] = g.config_hash
    out["resolved"] = {
        "gateway": {
            "mode": "local",
            "port": g.port,
            "portSource": g.port_source,
            "bind": g.bind_mode,
            "bindHosts": g.bind_hosts,
            "auth": {"mode": g.auth_mode, "secretSource": g.secret_source},
            "reload": {"mode": g.reload_mode},
        },
        "logging": {"file": g.log_file},
    }
    return msgspec.json.encode(out)
