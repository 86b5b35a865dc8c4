"""What the Telegram component tests share: a fake channel host (the agent side: runs keyed by idempotency
key, executed once, like the agent worker's dedupe) and a way to run a TelegramChannel against the fake
Bot API (tests/fakes/telegram_api.py) inside one asyncio.run()."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from openclaw.ipc.channels_config import ChannelAccount
from openclaw.ipc.errors import ErrorCode, GatewayError
from openclaw.ipc.logs import get_logger
from openclaw.workers.channel.host import RunFailed
from openclaw.workers.channel.telegram.channel import TelegramChannel

TOKEN = "111:AAA"
ALICE, BOB, CAROL = 555001, 555002, 555003
TIMEOUT_S = 10.0


async def until(cond: Callable[[], Any], what: str, timeout: float = TIMEOUT_S) -> Any:
    """Wait for a condition (polled every 10 ms); TimeoutError naming it otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := cond()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return value


class FakeHost:
    """A ChannelHost stand-in. `reply(params) -> text` answers runs (default `Echo: <message>`); a run is
    executed once per idempotency key and keeps going when its caller is cancelled (as on the agent worker);
    `fail_with` makes runs raise (RunFailed or GatewayError); `gate` (an Event) holds runs until set."""

    def __init__(self, state_dir: Path, section: dict[str, Any], account_id: str = "default", *,
                 reply: Callable[[dict[str, Any]], str] | None = None, config: dict[str, Any] | None = None) -> None:
        self.account = ChannelAccount("telegram", account_id, section)
        self.state_dir = state_dir
        self.config = config or {}
        self.log = get_logger("test/telegram", console=False)
        self.reply = reply or (lambda p: f"Echo: {p['message']}")
        self.calls: list[dict[str, Any]] = []  # every run_agent call
        self.executions: list[str] = []  # idempotency keys actually run
        self.results: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self.fatal_reasons: list[str] = []
        self.crash_reasons: list[str] = []
        self.changes = 0
        self.gate: asyncio.Event | None = None
        self.delay_s = 0.0
        self.fail_with: Exception | None = None
        self.active = 0
        self.max_active = 0

    async def _execute(self, params: dict[str, Any]) -> dict[str, Any]:
        self.executions.append(params["idempotencyKey"])
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.fail_with is not None:
                raise self.fail_with
            text = self.reply(params)
        finally:
            self.active -= 1
        return {"runId": params["idempotencyKey"], "status": "ok", "result": {"payloads": [{"text": text}]}}

    async def run_agent(self, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(params)
        key = params["idempotencyKey"]
        task = self.results.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.get_running_loop().create_task(self._execute(params))
            self.results[key] = task
        return await asyncio.shield(task)

    async def abort_run(self, session_key: str, run_id: str) -> None:
        pass

    def changed(self) -> None:
        self.changes += 1

    def fatal(self, reason: str) -> None:
        self.fatal_reasons.append(reason)

    def crash(self, reason: str) -> None:
        self.crash_reasons.append(reason)

    def session_key_for(self, channel: str, peer_kind: str, peer_id: str) -> str:
        if peer_kind == "direct":
            return "agent:main:main"
        return f"agent:main:{channel}:{peer_kind}:{peer_id.lower()}"


def unavailable() -> GatewayError:
    return GatewayError(ErrorCode.UNAVAILABLE, "agent worker restarting", retryable=True)


def run_failed(message: str = "model overloaded") -> RunFailed:
    return RunFailed(message, {"status": "error"})


@contextlib.asynccontextmanager
async def running(host: FakeHost) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(host)  # type: ignore[arg-type]
    await channel.start()
    try:
        yield channel
    finally:
        await channel.stop()


def section(api_root: str, **extra: Any) -> dict[str, Any]:
    return {"botToken": TOKEN, "apiRoot": api_root, **extra}
