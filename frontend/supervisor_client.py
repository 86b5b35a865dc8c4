"""The front-end's questions to the supervisor (status, restart, config read/write), answered by
query id over the control socket. Low rate, so a future per question is fine here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from openclaw.ipc import control
from openclaw.ipc.child_link import SupervisorLink
from openclaw.ipc.errors import unavailable

QUERY_TIMEOUT_S = 5.0
WRITE_EXPIRES_S = 10.0  # the supervisor drops a write not started by then; we wait a little longer
MAX_PENDING_WRITES = 4
Answer = control.StatusReply | control.RestartAck | control.ConfigReply | control.ConfigWriteReply


class SupervisorClient:
    def __init__(self, link: SupervisorLink) -> None:
        self.link = link
        self.pending: dict[int, asyncio.Future[Answer]] = {}
        self.next_id = 1
        self.writes = 0
        for kind in (control.StatusReply, control.RestartAck, control.ConfigReply, control.ConfigWriteReply):
            link.on(kind, self._on_answer)

    def _on_answer(self, msg: Answer) -> None:
        fut = self.pending.pop(msg.query_id, None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    async def _ask(self, make: Callable[[int], control.ChildToSupervisor], timeout_s: float = QUERY_TIMEOUT_S) -> Answer:
        qid = self.next_id
        self.next_id += 1
        fut: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.pending[qid] = fut
        try:
            if not self.link.send(make(qid)):
                raise unavailable("the supervisor is not reachable", retry_after_ms=1000)
            return await asyncio.wait_for(fut, timeout_s)
        except asyncio.TimeoutError:
            raise unavailable("the supervisor did not answer in time", retry_after_ms=1000) from None
        finally:
            self.pending.pop(qid, None)

    async def status(self) -> control.StatusReply:
        reply = await self._ask(lambda qid: control.StatusQuery(query_id=qid))
        assert isinstance(reply, control.StatusReply)
        return reply

    async def restart(self, reason: str, target_pid: int | None = None, target_port: int | None = None) -> control.RestartAck:
        reply = await self._ask(
            lambda qid: control.RestartRequest(query_id=qid, reason=reason, target_pid=target_pid, target_port=target_port)
        )
        assert isinstance(reply, control.RestartAck)
        return reply

    async def config_get(self) -> bytes:
        reply = await self._ask(lambda qid: control.ConfigQuery(query_id=qid))
        assert isinstance(reply, control.ConfigReply)
        return reply.payload

    async def config_write(self, mode: str, raw: str, base_hash: str | None, note: str | None) -> control.ConfigWriteReply:
        """Writes queue one at a time in the supervisor: a few may wait, more are refused at once,
        and a write that waited too long is dropped there, so "retry" always means "not written"."""
        if self.writes >= MAX_PENDING_WRITES:
            raise unavailable(
                f"{MAX_PENDING_WRITES} config writes are already waiting; retry", retry_after_ms=500,
                details={"reason": "config-busy"},
            )
        self.writes += 1
        deadline = time.monotonic() + WRITE_EXPIRES_S
        try:
            reply = await self._ask(
                lambda qid: control.ConfigWrite(
                    query_id=qid, mode=mode, raw=raw, base_hash=base_hash, note=note, deadline=deadline
                ),
                timeout_s=WRITE_EXPIRES_S + 20.0,  # a write that started runs to its end: wait for its answer
            )
        finally:
            self.writes -= 1
        assert isinstance(reply, control.ConfigWriteReply)
        return reply
