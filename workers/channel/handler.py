"""One channel worker per channel account (`channel:telegram`, `channel:telegram:work`,
`channel:webhook:crm`): the unit of per-channel restart.

The front-end addresses it by slot with Asks: `channel.send` (the `send` RPC, after the front-end
picked this account), `channel.status {probe, timeoutMs}` and `channel.inbound {headers, body}`
(a webhook POST whose secret the front-end checked). The channel implementation
(telegram/channel.py, webhook_channel.py) does the platform's work; this module owns what every
channel shares: the `send` idempotency ledger, status publishing, config refusal.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from openclaw.ipc import control
from openclaw.ipc.channels_config import ChannelAccount, account_for
from openclaw.ipc.errors import ConfigRefusal, ErrorCode, GatewayError
from openclaw.workers.runtime import Worker

from .host import ChannelHost, ChannelImpl
from .send_ledger import SendLedger

MAX_INBOUND_BYTES = 1024 * 1024
MAX_PROBE_TIMEOUT_S = 30.0
SEND_KEYS = (
    "to", "message", "mediaUrl", "mediaUrls", "buffer", "filename", "contentType", "asVoice", "gifPlayback",
    "replyToId", "threadId", "forceDocument", "silent", "parseMode",
)


class UnsupportedChannel:
    """A `channels.<id>` this build has no protocol for: reported, never linked."""

    def __init__(self, host: ChannelHost) -> None:
        self.host = host
        self.started_ms = int(time.time() * 1000)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def status(self) -> dict[str, Any]:
        kind = self.host.account.kind
        return {
            "accountId": self.host.account.account_id, "enabled": True, "configured": True, "running": True,
            "connected": False, "linked": False, "lifecycle": "unsupported", "lastStartAt": self.started_ms,
            "lastError": None, "note": f"this gateway has no {kind} channel (configured, not linked)",
        }

    async def probe(self, timeout_s: float) -> dict[str, Any]:
        return {"ok": False, "status": None, "error": f"no {self.host.account.kind} channel in this build", "elapsedMs": 0}

    async def send(self, req: dict[str, Any]) -> dict[str, Any]:
        raise GatewayError(ErrorCode.INVALID_REQUEST, f"unsupported channel: {self.host.account.kind}")

    async def inbound(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return 404, {"content-type": "text/plain"}, b"not found"


def make_impl(host: ChannelHost) -> ChannelImpl:
    kind = host.account.kind
    if kind == "telegram":
        from .telegram.channel import TelegramChannel

        return TelegramChannel(host)
    if kind == "webhook":
        from .webhook_channel import WebhookChannel

        return WebhookChannel(host)
    return UnsupportedChannel(host)


class ChannelWorker(Worker):
    kind = "channel"
    events = ()

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        if not cfg.channel_id:
            raise ConfigRefusal("a channel worker needs its channel id")
        self.channel_id = cfg.channel_id
        account = account_for(self.channel_id, self.config)
        if account is None:
            raise ConfigRefusal(f"channel {self.channel_id} is not configured (or is disabled)")
        self.account: ChannelAccount = account
        state_dir = Path(self.gateway.state_dir)
        self.host = ChannelHost(self, account, state_dir, self.config)
        self.impl: ChannelImpl = make_impl(self.host)
        self.ledger = SendLedger(state_dir / "channels" / f"{self.channel_id.replace(':', '-')}.sqlite")
        self.topics = {"channel.send": self._send, "channel.status": self._status, "channel.inbound": self._inbound}

    def title(self) -> str:
        return f"openclaw-gateway: channel {self.channel_id}"

    async def start(self) -> None:
        await self.impl.start()

    async def stop(self) -> None:
        try:
            await self.impl.stop()
        finally:
            self.ledger.close()

    def apply_config(self, config: dict[str, Any], paths: list[str]) -> None:
        # the supervisor replaces this worker when its own section changes; other keys (session, agents) are read live
        self.config = config
        self.host.config = config

    def health_fragment(self) -> dict[str, Any]:
        return {"channel": {"kind": self.account.kind, **self.impl.status()}}

    # ------------------------------------------------------------------ front-end calls

    async def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        key = params.get("idempotencyKey")
        if not isinstance(key, str) or not key:
            raise GatewayError(ErrorCode.INVALID_REQUEST, "invalid send params: must have required property 'idempotencyKey'")
        req = {k: params[k] for k in SEND_KEYS if params.get(k) is not None}
        result = await self.ledger.once(key, req, lambda: self.impl.send(req))
        self.host.changed()
        return result

    async def _status(self, params: dict[str, Any]) -> dict[str, Any]:
        status = {"kind": self.account.kind, **self.impl.status()}
        if params.get("probe"):
            timeout = params.get("timeoutMs")
            timeout_s = min(max(timeout / 1000, 0.1), MAX_PROBE_TIMEOUT_S) if isinstance(timeout, int | float) else 10.0
            status["probe"] = await self.impl.probe(timeout_s)
            status["lastProbeAt"] = int(time.time() * 1000)
        return status

    async def _inbound(self, params: dict[str, Any]) -> dict[str, Any]:
        headers = params.get("headers") if isinstance(params.get("headers"), dict) else {}
        try:
            body = base64.b64decode(params.get("body") or "", validate=True)
        except (ValueError, TypeError):
            raise GatewayError(ErrorCode.INVALID_REQUEST, "inbound body is not base64") from None
        if len(body) > MAX_INBOUND_BYTES:
            return {"status": 413, "headers": {"content-type": "text/plain"}, "body": "payload too large"}
        status, out_headers, out_body = await self.impl.inbound({str(k).lower(): str(v) for k, v in headers.items()}, body)
        return {"status": status, "headers": out_headers, "body": out_body.decode("utf-8", "replace")}


def make_worker(cfg: control.Configure) -> ChannelWorker:
    return ChannelWorker(cfg)
