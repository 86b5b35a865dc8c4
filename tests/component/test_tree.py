"""The supervisor's process tree with a fake spawner, clock, timer and kill: every decision it makes
(spawn, message, signal, timer) is recorded, and no real process is involved."""

from __future__ import annotations

import asyncio
import itertools
import signal
from typing import Any

import pytest

from openclaw.ipc import control
from openclaw.supervisor.child import ChildState
from openclaw.supervisor.commands import Escalate, RespawnDue
from openclaw.supervisor.specs import derive_specs
from openclaw.supervisor.tree import HUNG_AFTER_S, ProcessTree


class Fake:
    def __init__(self) -> None:
        self.now = 100.0
        self.pids = itertools.count(1000)
        self.spawned: list[tuple[str, str, int]] = []
        self.sent: list[tuple[str, Any]] = []
        self.timers: list[tuple[float, Any]] = []
        self.killed: list[tuple[int, int]] = []

    async def spawn(self, spec: Any, instance: str) -> int:
        pid = next(self.pids)
        self.spawned.append((spec.name, instance, pid))
        return pid

    def send(self, instance: str, msg: Any) -> bool:
        self.sent.append((instance, msg))
        return True

    def schedule(self, delay: float, cmd: Any) -> None:
        self.timers.append((self.now + delay, cmd))

    def kill(self, pid: int, sig: int) -> None:
        self.killed.append((pid, sig))

    def clock(self) -> float:
        return self.now

    def messages(self, kind: type) -> list[tuple[str, Any]]:
        return [(i, m) for i, m in self.sent if isinstance(m, kind)]


def make(config: dict | None = None) -> tuple[ProcessTree, Fake]:
    fake = Fake()
    tree = ProcessTree(
        derive_specs(config or {}, {}), spawn=fake.spawn, send=fake.send, schedule=fake.schedule, kill=fake.kill,
        clock=fake.clock,
    )
    return tree, fake


def configure(child: Any) -> control.Configure:
    return control.Configure(
        gateway=None, config=b"{}", boot_id="b", started_at_ms=0, supervisor_pid=1, runtime_dir="/r",  # type: ignore[arg-type]
    )


async def up(tree: ProcessTree, fake: Fake, name: str) -> str:
    """Start `name` and play its hello and Ready; returns its instance."""
    await tree.start(name)
    _, instance, pid = fake.spawned[-1]
    assert tree.on_hello(instance, pid, configure)
    await tree.on_ready(instance)
    return instance


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_start_hello_ready() -> None:
    async def go() -> None:
        tree, fake = make()
        inst = await up(tree, fake, "agent")
        assert inst == "agent.1" and tree.children["agent"].state is ChildState.RUNNING
        assert isinstance(fake.sent[0][1], control.Configure)

    run(go())


def test_crash_backs_off_reports_the_loss_and_respawns() -> None:
    async def go() -> None:
        tree, fake = make()
        await up(tree, fake, "frontend")
        inst = await up(tree, fake, "agent")
        fake.now += 5
        outcome = tree.on_exit(inst, 1)
        agent = tree.children["agent"]
        assert outcome is not None and not outcome.fatal and agent.state is ChildState.BACKOFF
        assert ("frontend.1", control.PeerLost("agent.1", "exited")) in fake.sent  # in-flight calls fail now
        due, cmd = fake.timers[-1]
        assert isinstance(cmd, RespawnDue) and 0.4 <= due - fake.now <= 0.6
        await tree.respawn("agent", cmd.token - 1)  # a stale timer does nothing
        assert agent.state is ChildState.BACKOFF
        await tree.respawn("agent", cmd.token)
        assert agent.state is ChildState.STARTING and fake.spawned[-1][1] == "agent.2"

    run(go())


def test_crash_loop_goes_fatal() -> None:
    async def go() -> None:
        tree, fake = make()
        inst = await up(tree, fake, "agent")
        for _ in range(6):
            outcome = tree.on_exit(inst, 1)
            if outcome.fatal:
                break
            fake.now += 0.1
            await tree.respawn("agent", fake.timers[-1][1].token)
            inst = fake.spawned[-1][1]
        agent = tree.children["agent"]
        assert agent.state is ChildState.FATAL and "crash loop" in agent.reason and len(fake.spawned) == 6
        tree.retry("agent")  # a config change touching it
        assert agent.state is ChildState.BACKOFF and isinstance(fake.timers[-1][1], RespawnDue)

    run(go())


def test_blue_green_replacement_retires_the_old_process_after_the_new_is_ready() -> None:
    async def go() -> None:
        tree, fake = make()
        old = await up(tree, fake, "agent")
        await tree.replace("agent")
        agent = tree.children["agent"]
        new_name, new, new_pid = fake.spawned[-1]
        assert agent.state is ChildState.REPLACING and agent.current.instance == old  # the old one still serves
        assert not fake.messages(control.Drain)
        tree.on_hello(new, new_pid, configure)
        await tree.on_ready(new)
        assert agent.state is ChildState.RUNNING and agent.current.instance == new
        assert [i for i, _ in fake.messages(control.Drain)] == [old]  # only now is the old one told to drain
        assert any(isinstance(c, Escalate) and c.instance == old for _, c in fake.timers)  # bounded drain
        tree.on_exit(old, 0)
        assert agent.state is ChildState.RUNNING and agent.retiring == []

    run(go())


def test_failed_replacement_keeps_the_old_process() -> None:
    async def go() -> None:
        tree, fake = make()
        failures: list[str] = []
        tree.on_replace_failed = lambda child, why: failures.append(why)
        old = await up(tree, fake, "agent")
        await tree.replace("agent")
        new = fake.spawned[-1][1]
        tree.on_boot_failed(new, "cannot load models")
        tree.on_exit(new, 1)
        agent = tree.children["agent"]
        assert agent.state is ChildState.RUNNING and agent.current.instance == old
        assert failures == ["cannot load models"] and "replacement failed" in agent.reason

    run(go())


def test_a_silent_process_is_aborted_then_killed() -> None:
    async def go() -> None:
        tree, fake = make()
        await up(tree, fake, "frontend")
        inst = await up(tree, fake, "node")
        pid = fake.spawned[-1][2]
        tree.check()
        for _ in range(7):  # 0.7 s of checks, 0.1 s apart; the front-end keeps beating, the node is silent
            fake.now += 0.1
            tree.on_heartbeat("frontend.1")
            tree.check()
        assert fake.killed == []  # not yet
        fake.now += 0.2
        tree.on_heartbeat("frontend.1")
        tree.check()
        assert fake.killed == [(pid, signal.SIGABRT)]  # faulthandler prints where it hung
        assert ("frontend.1", control.PeerLost(inst, "hung")) in fake.sent
        due, cmd = fake.timers[-1]
        assert cmd == Escalate(inst, signal.SIGKILL) and due - fake.now == pytest.approx(0.25)
        tree.escalate(inst, signal.SIGKILL)
        assert fake.killed[-1] == (pid, signal.SIGKILL)

    run(go())


def test_stop_drains_the_front_end_terms_workers_and_escalates() -> None:
    async def go() -> None:
        tree, fake = make({"channels": {"telegram": {}}})
        fe = await up(tree, fake, "frontend")
        await up(tree, fake, "agent")
        await up(tree, fake, "channel:telegram")
        for name in list(tree.children):
            tree.stop(name, "gateway stopping")
        assert [i for i, _ in fake.messages(control.Drain)] == [fe]
        termed = [pid for pid, sig in fake.killed if sig == signal.SIGTERM]
        assert len(termed) == 2  # agent and channel; node was never started
        assert {c.instance for _, c in fake.timers if isinstance(c, Escalate)} == {fe, "agent.1", "channel:telegram.1"}
        for _, inst, _pid in fake.spawned:
            tree.on_exit(inst, 0)
        assert tree.all_stopped()
        tree.escalate("agent.1", signal.SIGKILL)  # a late timer never signals a reaped PID
        assert all(sig != signal.SIGKILL for _, sig in fake.killed)

    run(go())


def test_a_stall_of_the_supervisor_itself_is_not_a_hang() -> None:
    async def go() -> None:
        tree, fake = make()
        await up(tree, fake, "frontend")
        await up(tree, fake, "agent")
        tree.check()
        fake.now += 5.0  # SIGSTOP / SIGCONT of the supervisor: no check ran, no heartbeat was read
        tree.check()
        assert fake.killed == []
        fake.now += HUNG_AFTER_S - 0.1
        tree.on_heartbeat("frontend.1")
        tree.on_heartbeat("agent.1")
        tree.check()
        assert fake.killed == []

    run(go())


def test_a_child_that_never_gets_ready_is_killed() -> None:
    async def go() -> None:
        tree, fake = make()
        await tree.start("agent")
        for _ in range(161):  # 16 s of checks, 0.1 s apart
            fake.now += 0.1
            tree.check()
        assert fake.killed and fake.killed[0][1] == signal.SIGABRT

    run(go())
