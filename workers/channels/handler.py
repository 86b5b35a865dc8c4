"""The channels worker: chat-platform connections (none configured yet)."""

from __future__ import annotations

import time
from typing import Any

from openclaw.ipc import envelope
from openclaw.ipc.config import ResolvedGateway
from openclaw.workers.runtime import Worker


class ChannelsWorker(Worker):
    name = "channels"
    events: list[str] = []

    def __init__(self, gateway: ResolvedGateway) -> None:
        super().__init__(gateway)
        self.channels: dict[str, Any] = {}
        self.methods = {"channels.status": self.channels_status}

    def health_fragment(self) -> dict[str, Any]:
        return {"channels": self.channels, "channelOrder": list(self.channels), "channelLabels": {}}

    async def channels_status(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        return {
            "ts": int(time.time() * 1000),
            "channelOrder": list(self.channels),
            "channelLabels": {},
            "channelDetailLabels": {},
            "channelSystemImages": {},
            "channelMeta": [],
            "channels": self.channels,
            "channelAccounts": {},
            "channelDefaultAccountId": {},
            "statusIssues": [],
        }


def make_worker(gateway: ResolvedGateway) -> ChannelsWorker:
    return ChannelsWorker(gateway)
