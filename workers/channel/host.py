"""What a channel implementation (Telegram, the generic webhook) gets from its worker process:
its account and state dir, agent runs through the front-end, status publishing, and the way
out when the account cannot work as configured (FATAL, exit 78)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Protocol

import msgspec
from openclaw.ipc.agents_config import default_agent_id
from openclaw.ipc.channels_config import ChannelAccount
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, GatewayError
from openclaw.ipc.logs import get_logger

AGENT_ACCEPT_TIMEOUT_S = 10.0
RUN_WAIT_S = 15 * 60.0  # the longest an inbound message's run is waited for (the agent worker ends it sooner)
STATUS_PUBLISH_S = 1.0  # at most one health fragment a second for a busy channel
_decode = msgspec.json.Decoder()


class RunFailed(Exception):
    """The agent run ended in error: its message and the final payload (which names the run)."""

    def __init__(self, message: str, payload: Any = None, code: str = "UNAVAILABLE") -> None:
        super().__init__(message)
        self.message, self.payload, self.code = message, payload, code


def reply_text(final: dict[str, Any]) -> str:
    """The text of a final `agent` payload (its payloads' texts, in order)."""
    result = final.get("result") if isinstance(final.get("result"), dict) else {}
    texts = [p.get("text") for p in result.get("payloads") or [] if isinstance(p, dict)]
    return "\n\n".join(t for t in texts if isinstance(t, str) and t.strip())


class ChannelImpl(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> dict[str, Any]: ...

    async def probe(self, timeout_s: float) -> dict[str, Any]: ...

    async def send(self, req: dict[str, Any]) -> dict[str, Any]: ...

    async def inbound(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]: ...


class ChannelHost:
    def __init__(self, worker: Any, account: ChannelAccount, state_dir: Path, config: dict[str, Any]) -> None:
        self.worker = worker  # workers.channel.handler.ChannelWorker (request, fatal, publish_health)
        self.account = account
        self.state_dir = state_dir
        self.config = config
        self.log = get_logger(f"channel/{account.channel_id}")
        self._publish_at = 0.0
        self._publish_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ agent runs

    async def run_agent(self, params: dict[str, Any]) -> dict[str, Any]:
        """Start an `agent` run and wait for its final answer (see the module docstring of the contract)."""
        params = {"agentId": self.agent_id(), **params}
        fut = self.worker.request("agent", params, AGENT_ACCEPT_TIMEOUT_S)
        try:
            res = await asyncio.wait_for(fut, RUN_WAIT_S)
        except TimeoutError:
            raise GatewayError(ErrorCode.UNAVAILABLE, "the agent run did not finish in time", retryable=True) from None
        try:
            payload = _decode.decode(res.payload) if res.payload else None
        except DECODE_ERRORS:
            payload = None
        if not res.ok:
            err = res.error
            message = err.message if err is not None else "agent run failed"
            if payload is None and err is not None and err.retryable:
                raise GatewayError(ErrorCode.UNAVAILABLE, message, retryable=True, retry_after_ms=err.retryAfterMs or 1000)
            raise RunFailed(message, payload, err.code if err is not None else "UNAVAILABLE")
        if isinstance(payload, dict) and payload.get("status") not in (None, "ok", "completed"):
            raise RunFailed(str(payload.get("summary") or "agent run failed"), payload)
        return payload if isinstance(payload, dict) else {}

    async def abort_run(self, session_key: str, run_id: str) -> None:
        try:
            await asyncio.wait_for(self.worker.request("chat.abort", {"sessionKey": session_key, "runId": run_id}), 5)
        except (GatewayError, TimeoutError):
            pass

    def agent_id(self) -> str:
        chosen = self.account.section.get("agentId")
        return chosen if isinstance(chosen, str) and chosen else default_agent_id(self.config)

    def session_key_for(self, channel: str, peer_kind: str, peer_id: str) -> str:
        """Spec §2.5: direct messages by `session.dmScope`, groups by `session.groupScope`."""
        session = self.config.get("session") if isinstance(self.config.get("session"), dict) else {}
        agent = self.agent_id()
        main = session.get("mainKey") if isinstance(session.get("mainKey"), str) and session.get("mainKey") else "main"
        peer = str(peer_id).strip().lower()
        if peer_kind != "direct":
            if session.get("groupScope") == "main":
                return f"agent:{agent}:{main}"
            return f"agent:{agent}:{channel}:{peer_kind}:{peer}"
        scope = session.get("dmScope") or "main"
        if scope == "per-peer":
            return f"agent:{agent}:direct:{peer}"
        if scope == "per-channel-peer":
            return f"agent:{agent}:{channel}:direct:{peer}"
        if scope == "per-account-channel-peer":
            return f"agent:{agent}:{channel}:{self.account.account_id}:direct:{peer}"
        return f"agent:{agent}:{main}"

    # ------------------------------------------------------------------ status

    def changed(self) -> None:
        """The status changed: publish it (at most once a second)."""
        if self._publish_timer is not None:
            return
        wait = self._publish_at + STATUS_PUBLISH_S - time.monotonic()
        if wait <= 0:
            self._publish()
            return
        self._publish_timer = asyncio.get_running_loop().call_later(wait, self._publish)

    def _publish(self) -> None:
        self._publish_timer = None
        self._publish_at = time.monotonic()
        self.worker.publish_health()

    def fatal(self, reason: str) -> None:
        self.worker.fatal(reason)

    def crash(self, reason: str) -> None:
        """Something broke that a fresh process may not have (a bug, a broken state file): exit 1, the
        supervisor restarts the worker (with its crash backoff) instead of it running on deaf."""
        self.worker.crash(reason)
