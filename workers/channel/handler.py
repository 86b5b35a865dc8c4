"""One channel worker per configured channel (`channels.<id>`): the unit of per-channel restart.

Until the chat protocols land it loads its section, checks it, and reports its state in
`channels.status` and `health` (configured, not linked). A section it cannot use makes it
exit 78: the supervisor marks it FATAL instead of restarting it in a loop.
"""

from __future__ import annotations

import time
from typing import Any

from openclaw.ipc import control
from openclaw.ipc.errors import ConfigRefusal
from openclaw.workers.runtime import Worker


def check_section(channel_id: str, section: Any) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise ConfigRefusal(f"channels.{channel_id} must be an object")
    token = section.get("botToken")
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ConfigRefusal(f"channels.{channel_id}.botToken must be a non-empty string")
    return section


class ChannelWorker(Worker):
    kind = "channel"
    events = ()

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        if not cfg.channel_id:
            raise ConfigRefusal("a channel worker needs its channel id")
        self.channel_id = cfg.channel_id
        self.section = check_section(self.channel_id, (self.config.get("channels") or {}).get(self.channel_id))
        self.started_ms = int(time.time() * 1000)
        self.methods = {}

    def title(self) -> str:
        return f"openclaw-gateway: channel {self.channel_id}"

    def health_fragment(self) -> dict[str, Any]:
        s = self.section
        token_source = "config" if s.get("botToken") else "file" if s.get("tokenFile") else None
        return {
            "channel": {
                "configured": True,
                "running": True,
                "linked": False,
                "state": "running",
                "startedAtMs": self.started_ms,
                "tokenSource": token_source,
                "lastError": None,
                "note": "configured, not linked (no chat protocol in this build yet)",
            }
        }


def make_worker(cfg: control.Configure) -> ChannelWorker:
    return ChannelWorker(cfg)
