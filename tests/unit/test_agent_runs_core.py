"""The run core without processes: state table, queue order, idempotency cache, event order,
abort, timeout, tool loop (a scripted in-test catalog and an in-memory store)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from openclaw.workers.agent.providers import base as pb
from openclaw.workers.agent.runs.idempotency import IdempotencyCache
from openclaw.workers.agent.runs.manager import RunManager
from openclaw.workers.agent.runs.run import Run
from openclaw.workers.agent.runs.run_queue import RunQueue
from openclaw.workers.agent.runs.state import (
    IllegalTransition,
    RunEvent,
    RunState,
    next_state,
)
from openclaw.workers.agent.runs.turn import MAX_TOOL_OUTPUT, TurnDeps, cap_output

REF = pb.ModelRef("openclaw-local", "echo")


def aio(fn):  # type: ignore[no-untyped-def]
    """Run an async test on a fresh loop (no pytest-asyncio here), bounded."""

    def wrapper() -> None:
        asyncio.run(asyncio.wait_for(fn(), 20))

    wrapper.__name__ = fn.__name__
    return wrapper


class Catalog:
    """Words of the reply, one delta each, `delay` s apart; '/tool NAME' calls a tool first."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[pb.ModelRequest] = []
        self.closed = 0

    def resolve_chain(self, config: dict[str, Any], agent_id: str, override: str | None = None) -> list[pb.ModelRef]:
        return [REF]

    def model_info(self, config: dict[str, Any], ref: pb.ModelRef) -> dict[str, Any]:
        return {"api": "openclaw-local"}

    async def stream_with_fallback(self, config, chain, build):  # type: ignore[no-untyped-def]
        req = build(chain[0])
        self.requests.append(req)
        last = req.messages[-1]
        try:
            if isinstance(last, pb.UserMessage) and last.text.startswith("/tool "):
                yield pb.ToolCall("call-1", last.text.split()[1], {})
                yield pb.Finish("tool_use")
                return
            text = f"Tool returned: {last.content}" if isinstance(last, pb.ToolResultMessage) else f"Echo: {last.text}"
            for i, word in enumerate(text.split(" ")):
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield pb.TextDelta(word if i == 0 else " " + word)
            yield pb.Usage(3, len(text.split(" ")))
            yield pb.Finish("stop", "echo")
        finally:
            self.closed += 1


class Store:
    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []

    def model_history(self, key: str) -> list[pb.Message]:
        return []

    def entry(self, key: str) -> dict[str, Any] | None:
        return None

    def begin_run(self, key: str, run_id: str, **kw: Any) -> dict[str, Any]:
        self.log.append(("begin", run_id))
        return {"sessionId": "sid-" + key}

    def append_message(self, key: str, message: dict[str, Any]) -> int:
        self.log.append(("message", message["role"]))
        return len(self.log)

    def finish_run(self, key: str, run_id: str, **kw: Any) -> dict[str, Any]:
        self.log.append(("finish", (run_id, kw["status"])))
        return {}


class Tools:
    def specs_for_run(self, agent_id: str) -> list[pb.ToolSpec]:
        return [pb.ToolSpec("big", "returns a lot", {"type": "object"})]

    async def execute(self, name: str, args: dict[str, Any], ctx: Any) -> Any:
        return "x" * (MAX_TOOL_OUTPUT * 2)


def make(delay: float = 0.0, tools: Any = None, max_concurrent: int = 8) -> tuple[RunManager, list[tuple], Store, Catalog]:
    events: list[tuple] = []
    store, cat = Store(), Catalog(delay)
    deps = TurnDeps(config=dict, store_for=lambda a: store, catalog=cat, tools=tools,
                    publish=lambda topic, conn, event, payload: events.append((topic, conn, event, payload)))
    return RunManager(deps, max_concurrent), events, store, cat


def new_run(run_id: str, key: str = "agent:main:main", message: str = "hello there", timeout: float = 0) -> Run:
    return Run(run_id=run_id, session_key=key, agent_id="main", session_id="", message=message, conn_id="c1",
               client_id="cli", via_chat=False, timeout_s=timeout, fingerprint="fp")


def kinds(events: list[tuple], run_id: str) -> list[str]:
    out = []
    for _, _, event, p in events:
        if p.get("runId") != run_id or event not in ("agent", "chat"):
            continue
        out.append(f"{event}:{p['stream']}:{p['data'].get('phase', '')}" if event == "agent" else f"chat:{p['state']}")
    return out


def test_state_table() -> None:
    assert next_state(RunState.QUEUED, RunEvent.START) is RunState.RUNNING
    assert next_state(RunState.RUNNING, RunEvent.TIMEOUT) is RunState.TIMED_OUT
    assert next_state(RunState.OK, RunEvent.ABORT) is RunState.OK  # an abort racing the end changes nothing
    with pytest.raises(IllegalTransition):
        next_state(RunState.QUEUED, RunEvent.COMPLETE)


def test_idempotency_cache_ttl_and_capacity() -> None:
    now = [0.0]
    cache = IdempotencyCache(ttl_s=10, max_keys=3, clock=lambda: now[0])
    for i in range(5):
        cache.put(f"k{i}", "s", "main", "fp", {"i": i}, None, {})
    assert cache.get("k0") is None and cache.get("k4") is not None and len(cache) == 3
    now[0] = 11
    assert cache.get("k4") is None


def test_cap_output_marks_the_cut() -> None:
    out = cap_output("é" * MAX_TOOL_OUTPUT)
    assert len(out.encode()) <= MAX_TOOL_OUTPUT and out.endswith("truncated at 64 KiB]")


@aio
async def test_event_order_and_final_payload() -> None:
    mgr, events, store, _ = make()
    run = new_run("r1")
    mgr.start(run)
    payload, error = await run.final
    assert error is None and payload["status"] == "ok"
    assert payload["result"]["payloads"] == [{"text": "Echo: hello there", "mediaUrl": None}]
    seq = kinds(events, "r1")
    assert seq[:2] == ["agent:lifecycle:start", "agent:lifecycle:model"]
    assert seq[-5:] == ["agent:usage:", "agent:lifecycle:finishing", "agent:lifecycle:model", "agent:lifecycle:end",
                        "chat:final"]
    items = [p["data"] for _, _, e, p in events if e == "agent" and p["stream"] == "assistant"]
    texts = [d["text"] for d in items]
    assert texts[-1] == "Echo: hello there"  # chunks that arrived together may share one event
    assert all(d["text"] == prev + d["delta"] for prev, d in zip(["", *texts], items, strict=False))
    chat = [p for _, _, e, p in events if e == "chat" and p["state"] == "delta"]
    assert "".join(p["deltaText"] for p in chat) == "Echo: hello there"  # paced, merged, nothing lost
    assert [p["seq"] for _, _, e, p in events if e == "agent"] == list(range(1, len(texts) + 7))
    assert ("finish", ("r1", "done")) in store.log


@aio
async def test_one_session_queues_two_sessions_run_in_parallel() -> None:
    mgr, events, _, _ = make(delay=0.02)
    a, b, c = new_run("a"), new_run("b"), new_run("c", key="agent:main:other")
    for r in (a, b, c):
        mgr.start(r)
    await asyncio.gather(a.final, b.final, c.final)
    def at(run_id: str, phase: str) -> int:
        return next(i for i, (_, _, e, p) in enumerate(events)
                    if e == "agent" and p["runId"] == run_id and p["data"].get("phase") == phase)

    assert at("b", "start") > at("a", "end")  # b waited for a
    assert at("c", "start") < at("a", "end")  # c did not


@aio
async def test_global_limit() -> None:
    q = RunQueue(1)
    order: list[str] = []

    async def go(rid: str, key: str) -> None:
        await q.turn(rid, key)
        order.append(rid)
        await asyncio.sleep(0.01)
        q.done(rid, key)

    await asyncio.gather(go("x", "s1"), go("y", "s2"), go("z", "s3"))
    assert order == ["x", "y", "z"] and q.running() == 0


@aio
async def test_abort_mid_stream_closes_the_model_stream() -> None:
    mgr, events, store, cat = make(delay=0.05)
    run = new_run("r2", message="one two three four five six seven")
    mgr.start(run)
    while not any(e == "agent" and p["stream"] == "assistant" for _, _, e, p in events):
        await asyncio.sleep(0.01)
    assert mgr.abort(run)
    payload, error = await run.final
    assert payload["status"] == "error" and error.message == "This operation was aborted"
    assert kinds(events, "r2")[-3:] == ["chat:aborted", "agent:lifecycle:end", "agent:lifecycle:error"]
    assert cat.closed == 1 and ("finish", ("r2", "killed")) in store.log


@aio
async def test_abort_while_queued() -> None:
    mgr, events, _, _ = make(delay=0.05)
    first, second = new_run("q1"), new_run("q2")
    mgr.start(first)
    mgr.start(second)
    await asyncio.sleep(0)
    mgr.abort(second)
    _payload, error = await second.final
    assert error is not None and "agent:lifecycle:start" not in kinds(events, "q2")
    await first.final


@aio
async def test_timeout() -> None:
    mgr, events, store, _ = make(delay=0.2)
    run = new_run("t1", message="a b c d e f", timeout=0.3)
    mgr.start(run)
    payload, error = await run.final
    assert error.code == "AGENT_TIMEOUT" and payload["summary"] == "Agent run timed out after 0.3s"
    assert kinds(events, "t1")[-2:] == ["agent:lifecycle:error", "chat:error"]
    assert ("finish", ("t1", "timeout")) in store.log
    assert (await mgr.wait("t1", 0))["error"] == "timeout"


@aio
async def test_tool_loop_restarts_text_and_caps_output() -> None:
    mgr, events, store, cat = make(tools=Tools())
    run = new_run("tl", message="/tool big")
    mgr.start(run)
    _payload, error = await run.final
    assert error is None
    tool = [p["data"] for _, _, e, p in events if e == "agent" and p["stream"] == "tool"]
    assert [t["phase"] for t in tool] == ["start", "end"]
    out = tool[1]["output"]["content"][0]["text"]
    assert len(out.encode()) <= MAX_TOOL_OUTPUT and "truncated" in out
    first = next(p["data"] for _, _, e, p in events if e == "agent" and p["stream"] == "assistant")
    assert first["delta"] == first["text"]
    assert [m for m in store.log if m[0] == "message"] == [("message", "assistant"), ("message", "toolResult"),
                                                           ("message", "assistant")]
    assert isinstance(cat.requests[1].messages[-1], pb.ToolResultMessage)


@aio
async def test_wait_unknown_and_finished() -> None:
    mgr, _, _, _ = make()
    assert await mgr.wait("nope", 0.05) == {"runId": "nope", "status": "timeout"}
    run = new_run("w1")
    mgr.start(run)
    res = await mgr.wait("w1", 5)
    assert res["status"] == "ok" and res["terminalReply"]["text"] == "Echo: hello there"


@aio
async def test_buffered_chunks_leave_as_fewer_events_and_the_loop_keeps_turning() -> None:
    """A provider whose output is already buffered (no await between chunks) does not hold the loop:
    its deltas are merged into few events and other callbacks (heartbeats) run meanwhile."""
    cat = Catalog()
    words = [f"w{i}" for i in range(3000)]

    async def burst(config, chain, build):  # type: ignore[no-untyped-def]
        for i, w in enumerate(words):
            yield pb.TextDelta(w if i == 0 else " " + w)
        yield pb.Usage(1, len(words))
        yield pb.Finish("stop", "echo")

    cat.stream_with_fallback = burst  # type: ignore[method-assign]
    mgr, events, _, _ = make()
    mgr.deps.catalog = cat
    ticks = 0

    async def beat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beater = asyncio.get_running_loop().create_task(beat())
    run = new_run("burst")
    mgr.start(run)
    payload, error = await run.final
    beater.cancel()
    items = [p["data"] for _, _, e, p in events if e == "agent" and p["stream"] == "assistant"]
    assert error is None and items[-1]["text"] == " ".join(words)
    assert len(items) < len(words) / 10  # merged
    assert ticks > 1  # the loop turned while the run streamed


@aio
async def test_the_model_sees_each_user_message_once_with_the_real_store() -> None:
    """Two turns on one session: the second request carries turn one's user and assistant messages and
    its own user message exactly once (the store write of the new message overlaps the request)."""
    import tempfile

    from openclaw.workers.agent.store.stores import Stores

    stores = Stores(tempfile.mkdtemp(prefix="runs-store-"))
    mgr, _, _, cat = make()
    mgr.deps.store_for = stores.get
    for rid, text in (("t1", "first question"), ("t2", "second question")):
        stores.get("main").ensure("agent:main:main")
        run = new_run(rid, message=text)
        mgr.start(run)
        _, error = await run.final
        assert error is None
    second = [(type(m).__name__, getattr(m, "text", "")) for m in cat.requests[-1].messages]
    assert second == [("UserMessage", "first question"), ("AssistantMessage", "Echo: first question"),
                      ("UserMessage", "second question")]
    stores.close()


@aio
async def test_runs_held_by_one_worker_are_bounded() -> None:
    from openclaw.ipc.errors import GatewayError

    mgr, _, _, _ = make(delay=0.05, max_concurrent=1)
    mgr.max_active = 3
    runs = [new_run(f"b{i}", key=f"agent:main:s{i}", message="a b c") for i in range(3)]
    for r in runs:
        mgr.start(r)
    with pytest.raises(GatewayError) as refused:
        mgr.start(new_run("b-over", key="agent:main:over"))
    assert refused.value.code.value == "UNAVAILABLE" and "max 3" in refused.value.message
    for r in runs:
        await r.final
    mgr.start(new_run("b-after", key="agent:main:after"))  # room again once they ended
    await mgr.active["b-after"].final
