"""The front-end's requests to the supervisor (status, restart) and what it is told (drain, worker lost)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from openclaw.ipc import control
from openclaw.ipc.child_link import SupervisorLink
from openclaw.ipc.errors import unavailable

QUERY_TIMEOUT_S = 3.0


class SupervisorClient:
    def __init__(
        self,
        link: SupervisorLink,
        on_drain: Callable[[control.Drain], None],
        on_peer_exited: Callable[[control.PeerExited], None],
    ) -> None:
        self.link = link
        self.on_drain = on_drain
        self.on_peer_exited = on_peer_exited
        self.pending: dict[int, asyncio.Future[control.SupervisorToChild]] = {}
        self.next_id = 1
        link.handlers.append(self._on_message)

    def _on_message(self, msg: control.SupervisorToChild) -> None:
        match msg:
            case control.StatusReply() | control.RestartAck():
                fut = self.pending.pop(msg.query_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            case control.Drain():
                self.on_drain(msg)
            case control.PeerExited():
                self.on_peer_exited(msg)

    async def _ask(self, make: Callable[[int], control.ChildToSupervisor]) -> control.SupervisorToChild:
        qid = self.next_id
        self.next_id += 1
        fut: asyncio.Future[control.SupervisorToChild] = asyncio.get_running_loop().create_future()
        self.pending[qid] = fut
        self.link.send(make(qid))
        try:
            return await asyncio.wait_for(fut, QUERY_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise unavailable("the supervisor did not answer in time", retry_after_ms=1000) from None
        finally:
            self.pending.pop(qid, None)

    async def status(self) -> control.StatusReply:
        reply = await self._ask(lambda qid: control.StatusQuery(query_id=qid))
        assert isinstance(reply, control.StatusReply)
        return reply

    async def restart(self, reason: str) -> control.RestartAck:
        reply = await self._ask(lambda qid: control.RestartRequest(query_id=qid, reason=reason))
        assert isinstance(reply, control.RestartAck)
        return reply
