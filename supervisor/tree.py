"""The supervised children: start, stop, replace (blue/green), hang detection, and what an exit means.

Nothing here blocks. A stop sends Drain or SIGTERM and schedules its escalation; an exit
arrives later as a ChildExited command; a hang is noticed on the next Tick. The loop decides
*what* to do, the tree does it, through each child's state table (child.py) and crash policy
(policy.py). Every effect on the outside world (spawn, signal, message, timer, clock) is
injected, so the tree runs the same under a fake spawner and clock in tests.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from openclaw.ipc import control
from openclaw.ipc.logs import get_logger

from .child import Child, ChildEvent, ChildState
from .commands import Command, Escalate, RespawnDue
from .policy import Verdict
from .runner import ChildProcess, describe_exit
from .specs import ChildSpec

log = get_logger("supervisor/tree")

HUNG_AFTER_S = 0.8  # 3 missed 250 ms heartbeats
STALLED_AFTER_S = 0.5  # checks are 0.1 s apart: a longer gap means the supervisor itself did not run
ABORT_GRACE_S = 0.25  # SIGABRT (a Python traceback via faulthandler), then SIGKILL
READY_TIMEOUT_S = 15.0
RETIRE_S = 5.0  # a replaced worker's time to finish its calls
TERM_GRACE_S = 3.0
KILL_WAIT_S = 2.0
FRONTEND_DRAIN_S = float(os.environ.get("OPENCLAW_DRAIN_TIMEOUT_S", "5"))

Spawn = Callable[[ChildSpec, str], Awaitable[int]]


@dataclass(frozen=True)
class ExitOutcome:
    """What an unexpected exit means for the gateway as a whole."""

    child: Child
    fatal: bool
    message: str


class ProcessTree:
    def __init__(
        self,
        specs: dict[str, ChildSpec],
        *,
        spawn: Spawn,
        send: Callable[[str, control.SupervisorToChild], bool],
        schedule: Callable[[float, Command], None],
        kill: Callable[[int, int], None],
        clock: Callable[[], float],
    ) -> None:
        self.children: dict[str, Child] = {name: Child(spec) for name, spec in specs.items()}
        self._spawn, self._send, self._schedule, self._kill, self._clock = spawn, send, schedule, kill, clock
        self.on_replace_failed: Callable[[Child, str], None] = lambda child, why: None
        self._last_check: float | None = None

    # ------------------------------------------------------------------ lookups

    def lookup(self, instance: str) -> tuple[Child, ChildProcess] | tuple[None, None]:
        name = instance.rpartition(".")[0]
        child = self.children.get(name)
        proc = child.find(instance) if child is not None else None
        return (child, proc) if child is not None and proc is not None else (None, None)

    @property
    def frontend(self) -> Child:
        return self.children["frontend"]

    def workers(self) -> list[Child]:
        return [c for c in self.children.values() if c.spec.role == "worker"]

    def all_stopped(self) -> bool:
        return all(c.state is ChildState.STOPPED and not c.processes() for c in self.children.values())

    def all_running(self) -> bool:
        return all(c.state in (ChildState.RUNNING, ChildState.REPLACING) for c in self.children.values())

    def send_to(self, instance: str, msg: control.SupervisorToChild) -> bool:
        return self._send(instance, msg)

    def touches_fatal(self, names: set[str]) -> list[str]:
        """Of `names`, the children that are FATAL or backing off (a config change retries them)."""
        return [n for n in sorted(names) if n in self.children and self.children[n].state in (ChildState.FATAL, ChildState.BACKOFF)]

    def send_frontend(self, msg: control.SupervisorToChild) -> bool:
        fe = self.frontend.current
        return fe is not None and fe.configured and not fe.exited and self._send(fe.instance, msg)

    def add(self, spec: ChildSpec) -> Child:
        child = self.children.get(spec.name)
        if child is None:
            child = self.children[spec.name] = Child(spec)
        return child

    def forget_stopped(self, names: set[str]) -> None:
        """Drop children the config no longer asks for, once they are gone."""
        for name in list(names):
            child = self.children.get(name)
            if child is not None and child.state is ChildState.STOPPED and not child.processes():
                del self.children[name]

    # ------------------------------------------------------------------ starting

    async def start(self, name: str) -> None:
        child = self.children[name]
        if child.state is ChildState.STOPPED:
            child.fire(ChildEvent.START)
            await self._spawn_current(child)

    async def _spawn_current(self, child: Child) -> None:
        proc = await self._spawn_process(child)
        child.current = proc
        if proc is None:  # could not even exec: handled like a boot crash
            self._after_crash(child, None, 127)

    async def _spawn_process(self, child: Child) -> ChildProcess | None:
        instance = child.next_instance()
        now = self._clock()
        child.policy.record_spawn(now)
        try:
            pid = await self._spawn(child.spec, instance)
        except OSError as exc:
            log.error("cannot start process", child=child.name, error=str(exc))
            child.last_exit = f"exec failed: {exc.strerror or exc}"
            return None
        log.info("spawned", child=child.name, instance=instance, pid=pid)
        return ChildProcess(instance=instance, pid=pid, started_at=now)

    async def respawn(self, name: str, token: int) -> None:
        child = self.children.get(name)
        if child is None or child.timer_token != token or child.state is not ChildState.BACKOFF:
            return
        child.fire(ChildEvent.RESPAWN)
        await self._spawn_current(child)

    def retry(self, name: str) -> None:
        """A FATAL or backing-off child: try again now (as soon as the spawn cap allows)."""
        child = self.children[name]
        if child.state not in (ChildState.FATAL, ChildState.BACKOFF):
            return
        child.policy.reset()
        child.fire(ChildEvent.RETRY)
        now = self._clock()
        self._schedule(max(0.0, child.policy.earliest_spawn(now) - now), RespawnDue(name, child.timer_token))

    async def replace(self, name: str) -> None:
        """Blue/green: a successor starts; the current process serves until the successor is Ready."""
        child = self.children[name]
        if child.state is ChildState.RUNNING:
            child.fire(ChildEvent.REPLACE)
            child.successor = await self._spawn_process(child)
            if child.successor is None:
                child.fire(ChildEvent.REPLACE_FAILED)
                self.on_replace_failed(child, child.last_exit or "exec failed")
        elif child.state in (ChildState.STARTING, ChildState.REPLACING):
            child.stale = True  # it may have its config already: replace it once Ready
        elif child.state in (ChildState.BACKOFF, ChildState.FATAL):
            self.retry(name)

    # ------------------------------------------------------------------ stopping

    def stop(self, name: str, reason: str, restart_expected_ms: int | None = None) -> None:
        child = self.children[name]
        if not child.can(ChildEvent.STOP):
            return
        if child.state is not ChildState.STOPPING:
            child.fire(ChildEvent.STOP)
        child.stale = False
        for proc in child.processes():
            if not proc.draining:
                self._stop_process(child, proc, reason, restart_expected_ms)

    def _stop_process(self, child: Child, proc: ChildProcess, reason: str, restart_expected_ms: int | None) -> None:
        proc.draining = True
        if child.spec.role == "frontend" and proc.configured:
            drain = control.Drain(reason=reason, restart_expected_ms=restart_expected_ms, deadline_ms=int(FRONTEND_DRAIN_S * 1000))
            if self._send(proc.instance, drain):
                self._schedule(FRONTEND_DRAIN_S, Escalate(proc.instance, signal.SIGTERM))
                return
        self._signal(proc, signal.SIGTERM)
        self._schedule(TERM_GRACE_S, Escalate(proc.instance, signal.SIGKILL))

    def escalate(self, instance: str, signum: int) -> None:
        child, proc = self.lookup(instance)
        if proc is None or proc.exited:
            return
        log.warn(f"{instance} still running; sending {signal.Signals(signum).name}", pid=proc.pid)
        self._signal(proc, signum)
        if signum != signal.SIGKILL:
            self._schedule(KILL_WAIT_S if signum == signal.SIGTERM else ABORT_GRACE_S, Escalate(instance, signal.SIGKILL))

    def kill_all(self) -> None:
        for child in self.children.values():
            for proc in child.processes():
                self._signal(proc, signal.SIGKILL)

    def _signal(self, proc: ChildProcess, signum: int) -> None:
        if proc.exited:
            return  # reaped: the PID may belong to someone else now
        try:
            self._kill(proc.pid, signum)
        except ProcessLookupError:
            pass

    # ------------------------------------------------------------------ child reports

    def on_hello(self, instance: str, pid: int, configure: Callable[[Child], control.Configure]) -> bool:
        child, proc = self.lookup(instance)
        if proc is None or proc.pid != pid or proc.exited:
            return False
        proc.configured = self._send(instance, configure(child))
        proc.last_heartbeat = self._clock()
        return proc.configured

    def on_heartbeat(self, instance: str) -> None:
        _child, proc = self.lookup(instance)
        if proc is not None:
            proc.last_heartbeat = self._clock()

    async def on_ready(self, instance: str) -> Child | None:
        """Returns the child whose state changed because of this Ready."""
        child, proc = self.lookup(instance)
        if child is None or proc is None or proc.exited or proc.ready_at is not None:
            return None
        proc.ready_at = proc.last_heartbeat = self._clock()
        if proc is child.current and child.state is ChildState.STARTING:
            child.fire(ChildEvent.READY)
            child.reason = None
        elif proc is child.successor and child.state is ChildState.REPLACING:
            old, child.current, child.successor = child.current, proc, None
            child.fire(ChildEvent.REPLACED)
            child.reason = None
            if old is not None:
                self._retire(child, old)
        else:
            return None
        log.info("ready", child=child.name, instance=instance, pid=proc.pid, ms=int((proc.ready_at - proc.started_at) * 1000))
        if child.stale:
            child.stale = False
            await self.replace(child.name)
        return child

    def _retire(self, child: Child, proc: ChildProcess) -> None:
        child.retiring.append(proc)
        proc.draining = True
        if not self._send(proc.instance, control.Drain(reason="replaced", deadline_ms=int(RETIRE_S * 1000))):
            self._signal(proc, signal.SIGTERM)
        self._schedule(RETIRE_S + 1.0, Escalate(proc.instance, signal.SIGTERM))

    def on_boot_failed(self, instance: str, reason: str) -> None:
        _child, proc = self.lookup(instance)
        if proc is not None:
            proc.boot_error = reason[:500]

    # ------------------------------------------------------------------ exits

    def on_exit(self, instance: str, code: int) -> ExitOutcome | None:
        child, proc = self.lookup(instance)
        if child is None or proc is None:
            return None
        proc.exited, proc.exit_code = True, code
        how = describe_exit(code)
        if child.spec.role == "worker":
            self.send_frontend(control.PeerLost(instance, "hung" if proc.hung else "exited"))
        if proc in child.retiring:
            child.retiring.remove(proc)
            (log.info if code == 0 else log.warn)("retired", child=child.name, instance=instance, exit=how)
            return self._maybe_stopped(child)
        if proc is child.successor:
            child.successor = None
            if child.state is ChildState.REPLACING:
                child.fire(ChildEvent.REPLACE_FAILED)
                why = proc.boot_error or f"exited with {how} before it was ready"
                child.reason = f"replacement failed: {why}; the previous process keeps serving"
                log.error("replacement failed; keeping the running process", child=child.name, reason=why)
                self.on_replace_failed(child, why)
            return self._maybe_stopped(child)
        if proc is not child.current:
            return None
        child.current = None
        child.last_exit = proc.boot_error or how
        if child.state is ChildState.STOPPING:
            return self._maybe_stopped(child)
        log.warn("exited unexpectedly", child=child.name, instance=instance, pid=proc.pid, exit=how)
        child.restarts += 1
        if child.state is ChildState.REPLACING:
            child.current, child.successor = child.successor, None
            child.policy.on_exit(self._clock(), proc.uptime(self._clock()), code)
            child.fire(ChildEvent.CRASHED)
            return None
        return self._after_crash(child, proc, code)

    def _after_crash(self, child: Child, proc: ChildProcess | None, code: int) -> ExitOutcome:
        now = self._clock()
        decision = child.policy.on_exit(now, proc.uptime(now) if proc else 0.0, code)
        if decision.verdict is Verdict.FATAL:
            child.fire(ChildEvent.GAVE_UP)
            child.reason = f"{decision.reason} (last exit: {child.last_exit})"
            log.error(f"{child.name} is FATAL", child=child.name, reason=child.reason)
            return ExitOutcome(child, True, child.reason)
        child.fire(ChildEvent.CRASHED)
        child.reason = f"{decision.reason} (last exit: {child.last_exit})"
        log.info("restart scheduled", child=child.name, delay_ms=int(decision.delay_s * 1000), restarts=child.restarts)
        self._schedule(decision.delay_s, RespawnDue(child.name, child.timer_token))
        return ExitOutcome(child, False, child.reason)

    def _maybe_stopped(self, child: Child) -> None:
        if child.state is ChildState.STOPPING and not child.processes():
            child.fire(ChildEvent.EXITED)
        return None

    # ------------------------------------------------------------------ liveness

    def check(self) -> None:
        """Hung processes (no heartbeat for HUNG_AFTER_S) and ones that never got Ready.

        Silence is only evidence while the supervisor itself was running: after a stall of its own
        (SIGSTOP/SIGCONT, a paused VM, heavy swapping) the heartbeats that piled up are still unread,
        so every child gets a fresh grace period instead of being declared hung."""
        now = self._clock()
        gap = now - self._last_check if self._last_check is not None else 0.0
        self._last_check = now
        if gap > STALLED_AFTER_S:
            log.warn(f"the supervisor did not run for {int(gap * 1000)}ms; children get a fresh grace period")
            for child in self.children.values():
                for proc in child.processes():
                    proc.started_at += gap
                    if proc.last_heartbeat is not None:
                        proc.last_heartbeat = now
            return
        for child in self.children.values():
            for proc in child.processes():
                if proc.exited or proc.hung:
                    continue
                if proc.ready_at is not None and proc.silent_for(now) > HUNG_AFTER_S:
                    self._declare_hung(child, proc, f"no heartbeat for {int(proc.silent_for(now) * 1000)}ms")
                elif proc.ready_at is None and not proc.draining and proc.uptime(now) > READY_TIMEOUT_S:
                    self._declare_hung(child, proc, f"not ready after {READY_TIMEOUT_S:.0f}s")

    def _declare_hung(self, child: Child, proc: ChildProcess, why: str) -> None:
        proc.hung = True
        proc.boot_error = proc.boot_error or f"hung ({why})"
        log.error("process hung; aborting it", child=child.name, instance=proc.instance, pid=proc.pid, reason=why)
        if child.spec.role == "worker":
            self.send_frontend(control.PeerLost(proc.instance, "hung"))
        self._signal(proc, signal.SIGABRT)
        self._schedule(ABORT_GRACE_S, Escalate(proc.instance, signal.SIGKILL))

    def frontend_alive(self) -> bool:
        fe = self.frontend.current
        return fe is not None and not fe.exited and not fe.hung and fe.ready_at is not None and fe.silent_for(self._clock()) <= HUNG_AFTER_S
