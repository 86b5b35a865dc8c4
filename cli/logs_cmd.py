"""`openclaw logs`: read the gateway's log file through `logs.tail`."""

from __future__ import annotations

import json
import time
from typing import Any

from openclaw.ipc import scopes

from .client import GatewayClient
from .output import style
from .rpc import target_or_exit, with_client


def _entry(line: str) -> dict[str, Any]:
    try:
        rec = json.loads(line)
    except ValueError:
        return {"type": "log", "time": None, "level": None, "subsystem": None, "message": line, "raw": line}
    meta = rec.get("_meta") or {}
    sub = None
    try:
        sub = json.loads(rec.get("0", "{}")).get("subsystem")
    except (ValueError, AttributeError):
        pass
    return {
        "type": "log",
        "time": rec.get("time"),
        "level": str(meta.get("logLevelName", "")).lower() or None,
        "subsystem": sub,
        "message": rec.get("message", rec.get("1")),
        "raw": line,
    }


def logs_cmd(url: str | None, token: str | None, password: str | None, timeout: int, as_json: bool,
             limit: int, max_bytes: int, follow: bool, interval_ms: int) -> None:
    target = target_or_exit(url, token, password, as_json)

    def action(c: GatewayClient) -> None:
        res = c.call("logs.tail", {"limit": limit, "maxBytes": max_bytes})
        _emit(res, as_json, first=True)
        while follow:
            time.sleep(max(0.1, interval_ms / 1000))
            c.deadline = time.monotonic() + timeout / 1000
            res = c.call("logs.tail", {"cursor": res["cursor"], "limit": 5000, "maxBytes": max_bytes})
            _emit(res, as_json, first=False)

    with_client(
        target, timeout_ms=timeout, scopes=[scopes.READ], as_json=as_json, action=action,
        client_id="gateway-client", mode="backend", display_name="gateway:logs.tail",
    )


def _emit(res: dict[str, Any], as_json: bool, first: bool) -> None:
    if as_json:
        if first:
            print(json.dumps({"type": "meta", "file": res.get("file"), "cursor": res.get("cursor"), "size": res.get("size")}))
        for line in res.get("lines", []):
            print(json.dumps(_entry(line), ensure_ascii=False))
        if first and res.get("truncated"):
            print(json.dumps({"type": "notice", "message": "Log tail truncated (increase --limit or --max-bytes)."}))
        return
    if first:
        print(style(f"Log file: {res.get('file')}", fg="dim"))
    for line in res.get("lines", []):
        e = _entry(line)
        level = (e["level"] or "").upper()
        colour = {"ERROR": "red", "WARN": "yellow"}.get(level)
        print(f"{e['time']} {style(level.ljust(5), fg=colour) if colour else level.ljust(5)} {e['subsystem']}: {e['message']}")

