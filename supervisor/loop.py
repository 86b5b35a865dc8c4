"""The supervisor: one queue, one consumer. Signals, child exits, control requests and
timers all arrive as commands; handlers are `on_<command>`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid

import psutil
import zmq
import zmq.asyncio

from openclaw.ipc import control
from openclaw.ipc.errors import ConfigRefusal, StartFailure
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import endpoint, prepare_runtime_dir
from openclaw.ipc.version import IPC_VERSION

from . import signals, spawner
from .bootstrap import StartPlan, prepare
from .child import Child, ChildEvent, ChildState
from .commands import ChildExited, Command, ControlMessage, RespawnDue, SignalReceived, Tick
from .control_server import ControlServer
from .gateway_state import GatewayEvent, GatewayState, next_state
from .instance import InstanceRecord, StateLock, now_ms, remove_instance, write_instance
from .listener import bind_with_retry

log = get_logger("supervisor")

WORKERS = (
    ("agent", "openclaw.workers.agent"),
    ("node", "openclaw.workers.node"),
    ("channels", "openclaw.workers.channels"),
)
FRONTEND = ("frontend", "openclaw.frontend")
RESTART_EXPECTED_MS = 1500
FRONTEND_DRAIN_S = float(os.environ.get("OPENCLAW_DRAIN_TIMEOUT_S", "5"))
TERM_GRACE_S = 3.0
HUNG_AFTER_S = 15.0
BOOT_FAILURES_BEFORE_GIVING_UP = 3


class Supervisor:
    def __init__(self, plan: StartPlan, listeners: list[socket.socket], lock: StateLock) -> None:
        self.plan = plan
        self.listeners = listeners
        self.lock = lock
        self.state = GatewayState.STARTING
        self.generation = 0
        self.boot_id = str(uuid.uuid4())
        self.started_mono = time.monotonic()
        self.started_ms = now_ms()
        self.children: dict[str, Child] = {
            name: Child(name=name, role="worker", module=module) for name, module in WORKERS
        }
        self.children[FRONTEND[0]] = Child(name=FRONTEND[0], role="frontend", module=FRONTEND[1])
        self.exit_events: dict[int, asyncio.Event] = {}
        self.queue: asyncio.Queue[Command] = asyncio.Queue()
        self.exit_code = 0
        self.frontend_ever_ready = False
        self.frontend_boot_failures = 0
        self.announced = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self.listeners[0].getsockname()[1]

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        signals.install(loop, self.queue)
        self.ctx = zmq.asyncio.Context()
        runtime = self.plan.paths.runtime_dir()
        prepare_runtime_dir(runtime)
        self.runtime_dir = str(runtime)
        self.control = ControlServer(self.ctx, endpoint(runtime, "control.sock"), self.queue)
        self.control.start()
        self._write_instance()
        ticker = loop.create_task(self._tick(), name="tick")
        try:
            await self._spawn_all()
            while self.state is not GatewayState.STOPPED:
                cmd = await self.queue.get()
                await self.dispatch(cmd)
        finally:
            ticker.cancel()
            await self._kill_all_now()
            self.control.close()
            self.ctx.term()
            for s in self.listeners:
                s.close()
            remove_instance(self.plan.paths.instance_file)
            self.lock.release()
            signals.uninstall(loop)
        return self.exit_code

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.queue.put_nowait(Tick())

    def _advance(self, event: GatewayEvent) -> bool:
        new = next_state(self.state, event)
        if new is None:
            return False
        if new is not self.state:
            log.info(f"gateway {self.state.value} -> {new.value}", event=event.value)
        self.state = new
        return True

    async def dispatch(self, cmd: Command) -> None:
        match cmd:
            case SignalReceived():
                await self.on_signal(cmd)
            case ChildExited():
                self.on_child_exited(cmd)
            case RespawnDue():
                await self.on_respawn_due(cmd)
            case ControlMessage():
                await self.on_control(cmd)
            case Tick():
                self.on_tick()

    # ------------------------------------------------------------------ signals

    async def on_signal(self, cmd: SignalReceived) -> None:
        sig = signal.Signals(cmd.signum)
        log.info(f"received {sig.name}")
        if sig in (signal.SIGTERM, signal.SIGINT):
            await self.stop("gateway stopping")
        elif sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
            await self.restart(f"{sig.name}")

    async def stop(self, reason: str) -> None:
        if not self._advance(GatewayEvent.STOP):
            return
        print("openclaw gateway: stopping", flush=True)
        t0 = time.monotonic()
        await self._stop_children(reason, restart_expected_ms=None)
        self._advance(GatewayEvent.STOPPED)
        log.info(f"[shutdown] completed cleanly in {int((time.monotonic() - t0) * 1000)}ms")

    async def restart(self, reason: str) -> None:
        if not self._advance(GatewayEvent.RESTART):
            return
        self.generation += 1
        log.info("in-process restart", reason=reason, generation=self.generation)
        await self._stop_children("gateway restarting", restart_expected_ms=RESTART_EXPECTED_MS)
        self._reload_plan()
        if self.state is not GatewayState.RESTARTING:  # a stop arrived meanwhile
            return
        self._advance(GatewayEvent.RESPAWNED)
        await self._spawn_all()

    def _reload_plan(self) -> None:
        try:
            plan = prepare(self.plan.opts)
        except (ConfigRefusal, StartFailure) as exc:
            log.error("config reload failed; keeping the running config", error=str(exc))
            return
        old = self.plan.gateway
        if (plan.gateway.port, plan.gateway.bind_hosts) != (old.port, old.bind_hosts) and plan.gateway.port != 0:
            try:
                new_listeners = bind_with_retry(plan.gateway.bind_hosts, plan.gateway.port, force=False, retry_s=2.0)
            except StartFailure as exc:
                log.error("cannot bind the new address; keeping the old one", error=str(exc))
                plan.gateway.port, plan.gateway.bind_hosts = old.port, old.bind_hosts
            else:
                for s in self.listeners:
                    s.close()
                self.listeners = new_listeners
        plan.gateway.port = self.port
        self.plan = plan
        self._write_instance()

    # ------------------------------------------------------------------ children

    async def _spawn_all(self) -> None:
        # The front-end alone first: it is what clients wait for, and on 2 cores the
        # workers' imports would slow its start. Workers follow once it is Ready.
        await self._spawn(self.children[FRONTEND[0]])

    async def _spawn_stopped_workers(self) -> None:
        for name, _ in WORKERS:
            if self.children[name].state is ChildState.STOPPED:
                await self._spawn(self.children[name])

    async def _spawn(self, child: Child) -> None:
        if child.state is ChildState.BACKOFF:
            child.transition(ChildEvent.RESPAWN_DUE)
        else:
            child.transition(ChildEvent.SPAWN)
        try:
            proc = await spawner.spawn(
                child, self.control.url, [s.fileno() for s in self.listeners], self._on_exit
            )
        except OSError as exc:
            log.error("spawn failed", child=child.name, error=str(exc))
            child.transition(ChildEvent.EXIT)
            self._schedule_respawn(child)
            return
        child.pid = proc.pid
        child.started_at = time.monotonic()
        child.last_heartbeat = child.started_at
        self.exit_events[proc.pid] = asyncio.Event()
        log.info("spawned", child=child.name, pid=proc.pid)

    def _on_exit(self, name: str, pid: int, code: int) -> None:
        ev = self.exit_events.pop(pid, None)
        if ev is not None:
            ev.set()
        self.queue.put_nowait(ChildExited(name, pid, code))

    def on_child_exited(self, cmd: ChildExited) -> None:
        child = self.children[cmd.name]
        if child.pid != cmd.pid:
            return  # an exit we already accounted for
        how = f"signal {signal.Signals(-cmd.returncode).name}" if cmd.returncode < 0 else f"code {cmd.returncode}"
        child.last_exit = how
        child.pid = None
        if child.state is ChildState.STOPPING:
            child.transition(ChildEvent.EXIT)
            return
        was_ready = child.state is ChildState.RUNNING
        child.transition(ChildEvent.EXIT)
        log.warn("child exited unexpectedly", child=child.name, pid=cmd.pid, exit=how)
        if child.role == "worker":
            self.control.send(FRONTEND[0], control.PeerExited(name=child.name))
        if child.role == "frontend" and not was_ready and not self.frontend_ever_ready:
            self.frontend_boot_failures += 1
            if self.frontend_boot_failures >= BOOT_FAILURES_BEFORE_GIVING_UP:
                print(
                    f"openclaw gateway: the front-end failed to start {self.frontend_boot_failures} times "
                    f"(last exit: {how}); giving up.",
                    file=sys.stderr,
                    flush=True,
                )
                self.exit_code = 1
                self.queue.put_nowait(SignalReceived(int(signal.SIGTERM)))
                return
        if self.state in (GatewayState.RUNNING, GatewayState.STARTING):
            self._schedule_respawn(child)

    def _schedule_respawn(self, child: Child) -> None:
        delay = child.backoff.next_delay(child.uptime(time.monotonic()))
        child.restarts += 1
        log.info("restart scheduled", child=child.name, delay_ms=int(delay * 1000), restarts=child.restarts)
        gen = self.generation
        asyncio.get_running_loop().call_later(delay, self.queue.put_nowait, RespawnDue(child.name, gen))

    async def on_respawn_due(self, cmd: RespawnDue) -> None:
        child = self.children[cmd.name]
        if cmd.generation != self.generation or child.state is not ChildState.BACKOFF:
            return
        if self.state not in (GatewayState.RUNNING, GatewayState.STARTING):
            return
        await self._spawn(child)

    async def _stop_children(self, reason: str, restart_expected_ms: int | None) -> None:
        procs: dict[str, int] = {}
        for child in self.children.values():
            if child.pid is not None:
                procs[child.name] = child.pid
            if child.can(ChildEvent.STOP):
                child.transition(ChildEvent.STOP)
        fe_pid = procs.get(FRONTEND[0])
        # Workers first get TERM; the front-end first drains its clients.
        for name, pid in procs.items():
            if name != FRONTEND[0]:
                self._kill(pid, signal.SIGTERM)
        if fe_pid is not None:
            if not self.control.send(FRONTEND[0], control.Drain(reason, restart_expected_ms)):
                self._kill(fe_pid, signal.SIGTERM)
            if not await self._wait_exit([fe_pid], FRONTEND_DRAIN_S):
                self._kill(fe_pid, signal.SIGTERM)
        pending = list(procs.values())
        if not await self._wait_exit(pending, TERM_GRACE_S):
            for pid in pending:
                self._kill(pid, signal.SIGKILL)
            await self._wait_exit(pending, 2.0)
        # Account for the exits now so a restart starts from STOPPED.
        for child in self.children.values():
            if child.pid is not None and child.pid in procs.values():
                child.pid = None
            if child.state is ChildState.STOPPING:
                child.transition(ChildEvent.EXIT)

    async def _wait_exit(self, pids: list[int], timeout: float) -> bool:
        events = [self.exit_events[p] for p in pids if p in self.exit_events]
        if not events:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def _kill(self, pid: int, sig: signal.Signals) -> None:
        if pid not in self.exit_events:
            return  # already reaped: never signal a PID that may have been reused
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    async def _kill_all_now(self) -> None:
        pids = [c.pid for c in self.children.values() if c.pid is not None]
        for pid in pids:
            self._kill(pid, signal.SIGKILL)
        await self._wait_exit(pids, 2.0)

    # ------------------------------------------------------------------ control

    async def on_control(self, cmd: ControlMessage) -> None:
        msg = cmd.message
        match msg:
            case control.ChildHello():
                self.on_hello(cmd.identity, msg)
            case control.ChildReady():
                await self.on_ready(msg)
            case control.ChildHeartbeat():
                child = self.children.get(msg.name)
                if child is not None:
                    child.last_heartbeat = time.monotonic()
            case control.StatusQuery():
                self.control.send(
                    cmd.identity,
                    control.StatusReply(query_id=msg.query_id, processes=self.process_table(), generation=self.generation),
                )
            case control.RestartRequest():
                accepted = self.state in (GatewayState.RUNNING, GatewayState.STARTING)
                self.control.send(
                    cmd.identity,
                    control.RestartAck(query_id=msg.query_id, accepted=accepted, generation=self.generation + 1, delay_ms=50),
                )
                if accepted:
                    # let the front-end flush the RPC answer before it drains
                    asyncio.get_running_loop().call_later(
                        0.05, self.queue.put_nowait, SignalReceived(int(signal.SIGUSR1))
                    )

    def on_hello(self, identity: bytes, msg: control.ChildHello) -> None:
        child = self.children.get(msg.name)
        if child is None or identity.decode() != msg.name or child.pid != msg.pid:
            log.warn("hello from an unknown child", name=msg.name, pid=msg.pid)
            return
        if msg.ipc_version != IPC_VERSION:
            log.error("child speaks another IPC version", child=msg.name, theirs=msg.ipc_version, ours=IPC_VERSION)
            self._kill(msg.pid, signal.SIGTERM)
            return
        self.control.send(
            identity,
            control.Configure(
                gateway=self.plan.gateway,
                boot_id=self.boot_id,
                started_at_ms=self.started_ms,
                supervisor_pid=os.getpid(),
                runtime_dir=self.runtime_dir,
                workers=[name for name, _ in WORKERS],
            ),
        )

    async def on_ready(self, msg: control.ChildReady) -> None:
        child = self.children.get(msg.name)
        if child is None or not child.can(ChildEvent.READY):
            return
        child.transition(ChildEvent.READY)
        child.last_heartbeat = time.monotonic()
        log.info("child ready", child=child.name, pid=child.pid)
        if child.role == "frontend":
            self.frontend_ever_ready = True
            self.frontend_boot_failures = 0
            self._advance(GatewayEvent.FRONTEND_READY)
            if not self.announced:
                self.announced = True
                self._announce()
            await self._spawn_stopped_workers()

    def on_tick(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.state is ChildState.RUNNING and child.pid and child.last_heartbeat:
                if now - child.last_heartbeat > HUNG_AFTER_S:
                    log.error("child stopped heartbeating; killing it", child=child.name, pid=child.pid)
                    self._kill(child.pid, signal.SIGKILL)
                    child.last_heartbeat = now

    # ------------------------------------------------------------------ reporting

    def process_table(self) -> list[control.ProcessInfo]:
        now = time.monotonic()
        rows = [
            control.ProcessInfo(
                name="supervisor", role="supervisor", pid=os.getpid(), state=self.state.value,
                restarts=self.generation, rss_bytes=_rss(os.getpid()),
                uptime_ms=int((now - self.started_mono) * 1000),
            )
        ]
        for child in self.children.values():
            rows.append(
                control.ProcessInfo(
                    name=child.name, role=child.role, pid=child.pid, state=child.state.value,
                    restarts=child.restarts, rss_bytes=_rss(child.pid) if child.pid else None,
                    uptime_ms=int(child.uptime(now) * 1000) if child.pid else None, last_exit=child.last_exit,
                )
            )
        return rows

    def _write_instance(self) -> None:
        g = self.plan.gateway
        write_instance(
            self.plan.paths.instance_file,
            InstanceRecord(
                pid=os.getpid(), port=self.port, bind_hosts=g.bind_hosts, state_dir=g.state_dir,
                config_path=g.config_path, profile=g.profile, started_at_ms=self.started_ms,
            ),
        )

    def _announce(self) -> None:
        g = self.plan.gateway
        urls = ", ".join(f"ws://[{h}]:{self.port}" if ":" in h else f"ws://{h}:{self.port}" for h in g.bind_hosts)
        lines = [f"openclaw gateway ready: listening on {urls} (pid {os.getpid()})"]
        if g.auth_mode == "token":
            lines.append(f"auth: token ({g.secret_source})")
            if g.runtime_token_file:
                lines.append(f"token: {g.token}  (runtime token, stored in {g.runtime_token_file})")
        else:
            lines.append(f"auth: {g.auth_mode}" + (f" ({g.secret_source})" if g.secret_source else ""))
        lines.append(f"log file: {g.log_file}")
        print("\n".join(lines), flush=True)
        log.info("ready", port=self.port, hosts=g.bind_hosts, auth=g.auth_mode)


def _rss(pid: int | None) -> int | None:
    if not pid:
        return None
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
