"""The generic webhook channel (`channels.webhook.<id>`): a second transport behind the same
channel abstraction as Telegram.

Inbound: `POST <path>` on the gateway's port (default `/channels/webhook/<id>`) with the shared
secret (`Authorization: Bearer <secret>` or `X-OpenClaw-Webhook-Secret`, checked by the front-end)
and a JSON body `{"from": "<sender id>", "text": "...", "messageId"?: "...", "name"?: "..."}`;
answered `202 {"accepted": true, "runId": ...}` once queued. The message becomes an agent run in
the sender's session; the reply is POSTed as JSON to `replyUrl`:
`{"channel":"webhook","accountId":<id>,"to":<from>,"text":<reply>,"inReplyTo":<messageId>,"runId":...}`.
`send` POSTs `{"channel","accountId","to","text","messageId"}` there too.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, GatewayError

from .host import RunFailed, reply_text

if TYPE_CHECKING:
    import aiohttp

    from .host import ChannelHost

MAX_QUEUED = 256
MAX_TEXT = 64 * 1024
POST_ATTEMPTS = 3
MAX_PARALLEL_RUNS = 16
_decode = msgspec.json.Decoder()


def _now_ms() -> int:
    return int(time.time() * 1000)


class Inbound(msgspec.Struct, forbid_unknown_fields=False):
    text: str
    from_: str = msgspec.field(name="from")
    messageId: str | None = None
    name: str | None = None


class WebhookChannel:
    def __init__(self, host: ChannelHost) -> None:
        self.host = host
        self.section = host.account.section
        self.reply_url: str | None = self.section.get("replyUrl")
        self.timeout_s = (self.section.get("timeoutMs") or 10_000) / 1000
        allow = self.section.get("allowFrom")
        self.allow = None if not allow or "*" in [str(a) for a in allow] else {str(a).lower() for a in allow}
        self.policy = self.section.get("dmPolicy") or "open"
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(MAX_PARALLEL_RUNS)
        self.started_ms = _now_ms()
        self.last_inbound: int | None = None
        self.last_outbound: int | None = None
        self.last_error: str | None = None
        self.last_probe: int | None = None

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=2)
        if self.session is not None:
            await self.session.close()

    def status(self) -> dict[str, Any]:
        return {
            "accountId": self.host.account.account_id, "enabled": True, "configured": True, "running": True,
            "connected": self.last_error is None, "linked": True, "lifecycle": "ready", "mode": "webhook",
            "lastStartAt": self.started_ms, "lastInboundAt": self.last_inbound, "lastOutboundAt": self.last_outbound,
            "lastError": self.last_error, "lastProbeAt": self.last_probe, "replyUrlConfigured": bool(self.reply_url),
            "queued": len(self.tasks),
        }

    async def probe(self, timeout_s: float) -> dict[str, Any]:
        self.last_probe = _now_ms()
        if not self.reply_url:
            return {"ok": True, "status": None, "error": None, "elapsedMs": 0, "note": "no replyUrl (inbound only)"}
        started = time.monotonic()
        try:
            async with self._client().head(self.reply_url, timeout=_timeout(timeout_s)) as res:
                status = res.status
        except Exception as exc:  # any transport failure is the probe's answer
            return {"ok": False, "status": None, "error": f"{type(exc).__name__}: {exc}"[:300],
                    "elapsedMs": int((time.monotonic() - started) * 1000)}
        return {"ok": status < 500, "status": status, "error": None if status < 500 else f"HTTP {status}",
                "elapsedMs": int((time.monotonic() - started) * 1000)}

    async def send(self, req: dict[str, Any]) -> dict[str, Any]:
        text = req.get("message") or ""
        if not text and not req.get("mediaUrl"):
            raise GatewayError(ErrorCode.INVALID_REQUEST, "send needs a message (this channel posts text)")
        message_id = str(uuid.uuid4())
        body = {"channel": "webhook", "accountId": self.host.account.account_id, "to": req["to"], "text": text,
                "messageId": message_id}
        if req.get("mediaUrl"):
            body["mediaUrl"] = req["mediaUrl"]
        await self._post(body)
        return {"messageId": message_id, "chatId": str(req["to"])}

    async def inbound(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            msg = msgspec.json.decode(body, type=Inbound)
        except (msgspec.ValidationError, *DECODE_ERRORS) as exc:
            return _json(400, {"error": {"message": f"invalid body: {str(exc)[:200]}", "type": "invalid_request_error"}})
        if not msg.text.strip() or len(msg.text) > MAX_TEXT or not msg.from_.strip() or len(msg.from_) > 256:
            return _json(400, {"error": {"message": "from and text are required (text at most 64 KiB)",
                                         "type": "invalid_request_error"}})
        if self.policy == "disabled" or (self.allow is not None and msg.from_.lower() not in self.allow):
            self.host.log.info("webhook message from a sender not admitted; dropped", sender=msg.from_[:64])
            return _json(403, {"error": {"message": "sender not allowed", "type": "permission_error"}})
        if len(self.tasks) >= MAX_QUEUED:
            return _json(503, {"error": {"message": "too many messages in progress; retry", "type": "overloaded"}},
                         {"retry-after": "1"})
        message_id = msg.messageId or str(uuid.uuid4())
        run_id = f"webhook:{self.host.account.account_id}:{message_id}"[:200]
        self.last_inbound = _now_ms()
        self.host.changed()
        task = asyncio.get_running_loop().create_task(self._handle(msg, message_id, run_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return _json(202, {"accepted": True, "runId": run_id})

    async def _handle(self, msg: Inbound, message_id: str, run_id: str) -> None:
        async with self.slots:
            session_key = self.host.session_key_for("webhook", "direct", msg.from_)
            try:
                final = await self.host.run_agent({
                    "message": msg.text, "idempotencyKey": run_id, "sessionKey": session_key,
                    "extraSystemPrompt": f"Inbound message on webhook channel {self.host.account.account_id} "
                                         f"from {msg.from_}" + (f" ({msg.name})" if msg.name else ""),
                })
            except (RunFailed, GatewayError) as exc:
                self._failed(f"agent run failed: {exc}")
                return
            text = reply_text(final)
            if not text or not self.reply_url:
                return
            try:
                await self._post({"channel": "webhook", "accountId": self.host.account.account_id, "to": msg.from_,
                                  "text": text, "inReplyTo": message_id, "runId": run_id})
            except GatewayError as exc:
                self._failed(exc.message)

    def _failed(self, why: str) -> None:
        self.last_error = why[:500]
        self.host.log.warn("webhook channel delivery failed", error=self.last_error)
        self.host.changed()

    async def _post(self, body: dict[str, Any]) -> None:
        if not self.reply_url:
            raise GatewayError(ErrorCode.UNAVAILABLE, "this webhook channel has no replyUrl to deliver to")
        headers = {"content-type": "application/json", **(self.section.get("replyHeaders") or {})}
        data = msgspec.json.encode(body)
        last = ""
        for attempt in range(POST_ATTEMPTS):
            try:
                async with self._client().post(self.reply_url, data=data, headers=headers,
                                               timeout=_timeout(self.timeout_s)) as res:
                    if res.status < 300:
                        self.last_outbound, self.last_error = _now_ms(), None
                        self.host.changed()
                        return
                    last = f"HTTP {res.status} from the reply URL"
                    if res.status < 500 and res.status != 429:
                        break  # the receiver refused it: retrying will not help
            except Exception as exc:  # connection refused, timeout: retried
                last = f"{type(exc).__name__}: {exc}"[:300]
            await asyncio.sleep(0.25 * 2**attempt * random.uniform(0.8, 1.2))
        raise GatewayError(ErrorCode.UNAVAILABLE, f"webhook delivery failed: {last}", retryable=True)

    def _client(self) -> aiohttp.ClientSession:
        if self.session is None:
            import aiohttp

            self.session = aiohttp.ClientSession()
        return self.session


def _timeout(seconds: float) -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(total=seconds)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json", **(headers or {})}, msgspec.json.encode(body)

