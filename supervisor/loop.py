"""The supervisor: one queue, one consumer. Signals, child exits, timers, control requests, config
changes and config-thread results all arrive as commands (commands.py); handlers are `on_<command>`.

No handler waits for a process: stops, restarts and reloads are phases. A handler starts one
(messages, signals, timers) and `advance()` moves it on after every command, so a second
signal always takes effect (a SIGTERM during a restart stops the gateway at once).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import zmq
from openclaw.ipc import control
from openclaw.ipc.errors import ErrorShape
from openclaw.ipc.instance_registry import remove_record
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import endpoint
from openclaw.ipc.version import IPC_VERSION

from . import control_auth, report, restart_rpc, signals, spawner
from .bootstrap import StartPlan
from .child import Child, ChildState
from .child_config import for_child
from .commands import (
    ChildExited,
    Command,
    ConfigChecked,
    ConfigFileChanged,
    ConfigReplyReady,
    ControlMessage,
    Escalate,
    RespawnDue,
    SignalReceived,
    Tick,
    WatchdogTick,
)
from .config_jobs import ConfigJobs
from .config_state import Candidate, ConfigState
from .control_server import ControlServer
from .gateway_state import GatewayEvent, GatewayState, next_state
from .instance import StateLock, now_ms
from .listener import ListenerStore
from .notify import Notifier
from .reload_apply import ReloadApplier
from .restart_gate import Outcome, Phase, RestartGate
from .specs import derive_specs
from .tree import ProcessTree
from .watcher import ConfigWatcher

log = get_logger("supervisor")
RESTART_PHASES = {
    GatewayState.STARTING: Phase.SERVING,
    GatewayState.RUNNING: Phase.SERVING,
    GatewayState.RESTARTING: Phase.RESTARTING,
    GatewayState.STOPPING: Phase.STOPPING,
    GatewayState.STOPPED: Phase.STOPPING,
}
RESTART_EXPECTED_MS = 1500
TICK_S = 0.1


class Supervisor:
    def __init__(self, plan: StartPlan, listeners: ListenerStore, lock: StateLock) -> None:
        self.plan = plan
        self.listeners = listeners
        self.lock = lock
        self.config = ConfigState(plan.loaded, plan.gateway)
        self.specs = derive_specs(plan.loaded.data)
        self.state = GatewayState.STARTING
        self.generation = 0
        self.boot_id = str(uuid.uuid4())
        self.started_mono = time.monotonic()
        self.started_ms = now_ms()
        self.queue: asyncio.Queue[Command] = asyncio.Queue()
        self.exit_code = 0
        self.frontend_ever_ready = False
        self.announced = False
        self.notify = Notifier()
        self.config_jobs = ConfigJobs(plan, self.enqueue)
        self.restart_candidate: Candidate | None = None
        self.staged_listeners: ListenerStore | None = None
        self.frontend_restart = False
        self.reloading = False
        self.stop_started = 0.0
        self.restart_gate = RestartGate(time.monotonic)
        self._coalesced_into = -1
        self._pushed: tuple[object, ...] = ()

    @property
    def port(self) -> int:
        return self.listeners.port

    def enqueue(self, cmd: Command) -> None:
        self.queue.put_nowait(cmd)

    def schedule(self, delay: float, cmd: Command) -> None:
        asyncio.get_running_loop().call_later(delay, self.queue.put_nowait, cmd)

    # ------------------------------------------------------------------ run

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        signals.install(loop, self.queue)
        self.ctx = zmq.Context()
        runtime = self.plan.paths.runtime_dir()  # made private in main(), before any socket opened
        self.runtime_dir = str(runtime)
        self.control = ControlServer(self.ctx, endpoint(runtime, "control.sock"), self.enqueue)
        self.control.start()
        self.tree = ProcessTree(
            self.specs, spawn=self._spawn, send=self.control.send, schedule=self.schedule, kill=os.kill, clock=time.monotonic
        )
        self.tree.on_replace_failed = self._replace_failed
        self.applier = ReloadApplier(self)
        self.watcher = ConfigWatcher(self.plan.paths.config_path, lambda: self.enqueue(ConfigFileChanged()))
        self.watcher.start()
        report.write_instance_file(self.plan.paths, self.config.gateway, self.port, self.started_ms)
        self._every(TICK_S, Tick)
        if self.notify.watchdog_s:
            self._every(self.notify.watchdog_s / 2, WatchdogTick)
        try:
            await self.tree.start("frontend")
            while self.state is not GatewayState.STOPPED:
                cmd = await self.queue.get()
                try:
                    await self.dispatch(cmd)
                    await self.advance()
                except Exception as exc:  # a bug in one command must not take the gateway down
                    log.error("supervisor command failed", command=type(cmd).__name__, error=repr(exc))
        finally:
            self.tree.kill_all()
            self.watcher.close()
            self.control.close()
            self.ctx.term()
            for sock in Path(self.runtime_dir).glob("*.sock"):  # every child is gone: nothing listens there
                sock.unlink(missing_ok=True)
            try:
                os.rmdir(self.runtime_dir)  # made again at start; left alone if something else is in it
            except OSError:
                pass
            self.listeners.close()
            if self.staged_listeners is not None:
                self.staged_listeners.close()
            remove_record(self.plan.paths, os.getpid())
            self.lock.release()
            self.config_jobs.close()
            self.notify.close()
            signals.uninstall(loop)
        return self.exit_code

    def _every(self, period: float, make: Callable[[], Command]) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self.queue.put_nowait(make())
            loop.call_later(period, fire)

        loop.call_later(period, fire)

    async def _spawn(self, spec: Any, instance: str) -> int:
        def on_exit(inst: str, pid: int, code: int) -> None:
            self.enqueue(ChildExited(inst, pid, code))

        if spec.role != "frontend":
            return (await spawner.spawn(spec, instance, self.control.url, [], on_exit)).pid
        with self.listeners.lent() as fds:
            return (await spawner.spawn(spec, instance, self.control.url, fds, on_exit)).pid

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
                self.on_signal(cmd)
            case ChildExited():
                self.on_child_exited(cmd)
            case RespawnDue():
                await self.tree.respawn(cmd.name, cmd.token)
            case Escalate():
                self.tree.escalate(cmd.instance, cmd.signum)
            case ControlMessage():
                await self.on_control(cmd)
            case ConfigFileChanged():
                self.on_config_file_changed(cmd)
            case ConfigChecked():
                await self.on_config_checked(cmd)
            case ConfigReplyReady():
                await self.on_config_reply_ready(cmd)
            case Tick():
                self.tree.check()
            case WatchdogTick():
                if self.tree.frontend_alive():
                    self.notify.watchdog()

    # ------------------------------------------------------------------ phases

    async def advance(self) -> None:
        """Move the current phase on; called after every command."""
        tree = self.tree
        if self.state is GatewayState.STOPPING and tree.all_stopped():
            self._advance(GatewayEvent.STOPPED)
            log.info(f"[shutdown] completed cleanly in {int((time.monotonic() - self.stop_started) * 1000)}ms")
            return
        if self.state is GatewayState.RESTARTING and tree.all_stopped() and self.restart_candidate is not None:
            await self._respawn_after_restart()
        if self.state in (GatewayState.STARTING, GatewayState.RUNNING):
            if self.frontend_restart and tree.frontend.state is ChildState.STOPPED:
                self.frontend_restart = False
                old = None
                if self.staged_listeners is not None:  # the new address is bound: say so, then close the old
                    old, self.listeners, self.staged_listeners = self.listeners, self.staged_listeners, None
                # the record says how to reach the new front-end (address, gateway.tls)
                report.write_instance_file(self.plan.paths, self.config.gateway, self.port, self.started_ms)
                if old is not None:
                    old.close()
                await tree.start("frontend")
            if tree.frontend.state in (ChildState.RUNNING, ChildState.REPLACING):
                for name in self.specs:
                    if tree.children[name].state is ChildState.STOPPED:
                        await tree.start(name)
            tree.forget_stopped(set(tree.children) - set(self.specs))
            if self._settled():
                if self.state is GatewayState.STARTING:
                    self._advance(GatewayEvent.READY)
                    if not self.announced:
                        self.announced = True
                        report.announce(self.config.gateway, self.port)
                    self.notify.ready(report.status_line(tree, self.state.value, self.port))
                elif self.reloading:
                    self.reloading = False
                    self.notify.ready(report.status_line(tree, self.state.value, self.port))
        self.push_tree_state()

    def _settled(self) -> bool:
        """Serving: the front-end runs and every child had its start (a crash-looping or FATAL
        one is reported as degraded, it does not hold the gateway back)."""
        fe = self.tree.frontend.state
        others = (ChildState.RUNNING, ChildState.REPLACING, ChildState.BACKOFF, ChildState.FATAL)
        return (
            fe in (ChildState.RUNNING, ChildState.REPLACING)
            and not self.frontend_restart
            and all(c.state in others for c in self.tree.children.values())
            and set(self.specs) <= set(self.tree.children)
        )

    def push_tree_state(self, force: bool = False) -> None:
        sig = report.signature(self.tree, self.config, self.state.value)
        if sig != self._pushed or force:
            if self.tree.send_frontend(self.tree_state(with_rss=False)):
                self._pushed = sig
            self.notify.status(report.status_line(self.tree, self.state.value, self.port))

    def tree_state(self, with_rss: bool) -> control.TreeState:
        return report.tree_state(
            self.tree, self.config, state=self.state.value, generation=self.generation,
            started_mono=self.started_mono, with_rss=with_rss,
        )

    def begin_stop(self, reason: str, exit_code: int = 0) -> None:
        if not self._advance(GatewayEvent.STOP):
            return
        self.exit_code = self.exit_code or exit_code
        self.stop_started = time.monotonic()
        print("openclaw gateway: stopping", flush=True)
        self.notify.stopping("stopping")
        for name in list(self.tree.children):
            self.tree.stop(name, reason)

    def begin_restart(self, reason: str) -> bool:
        if not self._advance(GatewayEvent.RESTART):
            return False
        self.restart_gate.started()
        self.generation += 1
        self.boot_id = str(uuid.uuid4())  # as upstream: clients see a fresh bootId after a restart (same pid)
        log.info("in-process restart", reason=reason, generation=self.generation)
        self.notify.reloading("restarting")
        self.restart_candidate = None
        for name in list(self.tree.children):
            self.tree.stop(name, "gateway restarting", RESTART_EXPECTED_MS)
        self.config_jobs.check("restart", self.config.gateway)
        return True

    async def _respawn_after_restart(self) -> None:
        cand, self.restart_candidate = self.restart_candidate, None
        assert cand is not None
        if cand.error is not None:
            self.config.reject(cand)
            log.error("config invalid at restart; keeping the last good config", error=cand.error)
        else:  # the file as it is now, whole: pending changes (hot/off mode) included
            self.applier.adopt_for_restart(cand)
            self.config.restarted()
        self._advance(GatewayEvent.RESPAWNED)
        self.reloading = True
        for name in self.specs:
            self.tree.add(self.specs[name])
        await self.tree.start("frontend")

    def _replace_failed(self, child: Child, why: str) -> None:
        st = self.config.status
        st.last_actions = [*st.last_actions, f"worker {child.name} failed to start with the new config ({why}); kept the old one"]

    # ------------------------------------------------------------------ signals and exits

    def on_signal(self, cmd: SignalReceived) -> None:
        sig = signal.Signals(cmd.signum)
        log.info(f"received {sig.name}")
        if sig in (signal.SIGTERM, signal.SIGINT):
            if self.state is GatewayState.STOPPING:
                log.warn(f"second {sig.name}: stopping now")
                self.tree.kill_all()
            else:
                self.begin_stop("gateway stopping")
        elif sig in (signal.SIGUSR1, signal.SIGUSR2):  # not subject to the request cooldown (restart_gate.py)
            if not self.config.gateway.restart_allowed:
                log.warn(f"{sig.name} ignored: restarts are disabled (commands.restart is false)")
            elif not self.begin_restart(sig.name):
                under_way = self.state is GatewayState.RESTARTING
                log.info(f"{sig.name}: " + ("joined the restart under way" if under_way else "ignored, the gateway is stopping"))
        elif sig is signal.SIGHUP:
            self.enqueue(ConfigFileChanged(forced=True))

    def on_child_exited(self, cmd: ChildExited) -> None:
        outcome = self.tree.on_exit(cmd.instance, cmd.returncode)
        if outcome is None or outcome.child.spec.role != "frontend":
            return
        if not self.frontend_ever_ready:
            print(f"openclaw gateway: the front-end failed to start: {outcome.child.last_exit}", file=sys.stderr, flush=True)
            self.begin_stop("front-end failed to start", exit_code=78 if cmd.returncode == 78 else 1)
        elif outcome.fatal:
            print(f"openclaw gateway: the front-end keeps failing: {outcome.message}", file=sys.stderr, flush=True)
            self.begin_stop("front-end failed", exit_code=1)

    # ------------------------------------------------------------------ control socket

    async def on_control(self, cmd: ControlMessage) -> None:
        msg, ident = cmd.message, cmd.identity
        why = control_auth.refusal(ident, msg, self._role_of)
        if why is not None:
            self.control.endpoint.drop(ident, why)
            return
        match msg:
            case control.ChildHeartbeat():
                self.tree.on_heartbeat(msg.instance)
            case control.ChildHello():
                if msg.ipc_version != IPC_VERSION:
                    log.error("refusing a child hello", instance=msg.instance, ipc=msg.ipc_version, ours=IPC_VERSION)
                    return
                if self.tree.on_hello(msg.instance, msg.pid, self._configure_for) and msg.name == "frontend":
                    self.push_tree_state(force=True)
            case control.ChildReady():
                child = await self.tree.on_ready(msg.instance)
                if child is not None and child.spec.role == "frontend":
                    self.frontend_ever_ready = True
                    self.push_tree_state(force=True)
            case control.ChildBootFailed():
                log.error("child cannot start", instance=msg.instance, reason=msg.reason)
                self.tree.on_boot_failed(msg.instance, msg.reason)
            case control.StatusQuery():
                self._answer(ident, control.StatusReply(msg.query_id, self.tree_state(with_rss=True)))
            case control.RestartRequest():
                self.on_restart_request(ident, msg)
            case control.ConfigQuery():
                self.config_jobs.get(ident, msg.query_id, self.config.loaded, self.config.gateway)
            case control.ConfigWrite():
                self.config_jobs.write(ident, msg, self.config.gateway)

    def _answer(self, ident: bytes, msg: control.SupervisorToChild) -> bool:
        """Answer a front-end's question; if it cannot be delivered the asker is gone (its own
        timeout tells its client to retry), which is worth a line in the log."""
        if self.control.send(ident, msg):
            return True
        log.warn("answer not delivered: the front-end that asked is gone", kind=type(msg).__name__,
                 peer=ident[:64].decode(errors="replace"))
        return False

    def _role_of(self, instance: str) -> str | None:
        child, proc = self.tree.lookup(instance)
        return child.spec.role if child is not None and proc is not None and not proc.exited else None

    def _configure_for(self, child: Child) -> control.Configure:
        gateway = self.config.gateway
        gateway.port = self.port
        gateway, config_json = for_child(child.spec.role, gateway, self.config.config_json())
        return control.Configure(
            gateway=gateway, config=config_json, boot_id=self.boot_id, started_at_ms=self.started_ms,
            supervisor_pid=os.getpid(), runtime_dir=self.runtime_dir, channel_id=child.spec.channel_id,
        )

    def on_restart_request(self, ident: bytes, msg: control.RestartRequest) -> None:
        """Restart, or coalesce into the restart under way or just done (restart_gate.py)."""
        error = self._restart_refusal(msg)
        if error is not None:
            ack = control.RestartAck(query_id=msg.query_id, accepted=False, generation=self.generation, delay_ms=0, error=error)
            self._answer(ident, ack)
            return
        decision = self.restart_gate.decide(RESTART_PHASES[self.state], self.generation)
        ack = control.RestartAck(
            query_id=msg.query_id, accepted=decision.outcome is not Outcome.REFUSE, generation=decision.generation,
            delay_ms=0, coalesced=decision.coalesced, cooldown_ms=decision.cooldown_ms,
        )
        # the ack and the Drain share one ordered pipe: the caller gets its answer first
        if not self.control.send(ident, ack):
            log.warn("restart request not answered (the front-end is gone); nothing restarted", reason=msg.reason)
        elif decision.outcome is Outcome.RESTART:
            self.begin_restart(msg.reason)
        elif decision.coalesced:  # one info line per generation, not one per request of a storm
            first = decision.generation != self._coalesced_into
            self._coalesced_into = decision.generation
            (log.info if first else log.debug)(
                "restart request coalesced", reason=msg.reason, generation=decision.generation,
                cooldown_ms=decision.cooldown_ms, under_way=decision.outcome is Outcome.JOIN_PENDING,
            )

    def _restart_refusal(self, msg: control.RestartRequest) -> ErrorShape | None:
        ours = {os.getpid(), *(p.pid for p in self.tree.frontend.processes() if not p.exited)}
        return restart_rpc.refusal(msg, self.config.gateway.restart_allowed, ours, os.getpid(), self.port)

    # ------------------------------------------------------------------ config

    def on_config_file_changed(self, cmd: ConfigFileChanged) -> None:
        if self.state in (GatewayState.RUNNING, GatewayState.STARTING):  # a restart reads the file itself
            self.config_jobs.file_changed(self.config.gateway, cmd.forced)

    async def on_config_checked(self, cmd: ConfigChecked) -> None:
        if cmd.purpose == "restart":
            self.restart_candidate = cmd.candidate
            return
        if self.state in (GatewayState.RUNNING, GatewayState.STARTING):
            plan = self.applier.plan(cmd.candidate, cmd.forced)
            if plan is not None:
                await self.applier.execute(plan, cmd.candidate)
        self.config_jobs.checked(self.config.gateway)

    async def on_config_reply_ready(self, cmd: ConfigReplyReady) -> None:
        if not cmd.write:
            self._answer(cmd.identity, control.ConfigReply(cmd.query_id, cmd.payload or b"{}"))
            return
        if cmd.error is not None:
            self._answer(cmd.identity, control.ConfigWriteReply(query_id=cmd.query_id, error=cmd.error))
            return
        running = self.state in (GatewayState.RUNNING, GatewayState.STARTING)
        # no candidate: nothing changed, nothing written
        plan = self.applier.plan(cmd.candidate, False) if cmd.candidate is not None and running else None
        reload = {"mode": self.config.mode, "actions": plan.describe() if plan else [], "pending": plan.pending if plan else []}
        reply = control.ConfigWriteReply(query_id=cmd.query_id, payload=_with_reload(cmd.payload, reload))
        # the answer goes out before any Drain the plan sends: one ordered pipe to the front-end. The file
        # is written either way, so the running gateway takes it even if the asker is gone.
        self._answer(cmd.identity, reply)
        if plan is not None and cmd.candidate is not None:
            await self.applier.execute(plan, cmd.candidate)


def _with_reload(payload: bytes | None, reload: dict[str, Any]) -> bytes:
    """Add what the running gateway did to a config write's answer (a JSON object from
    config_rpc), without decoding the config it carries again."""
    if not payload or not payload.endswith(b"}") or payload == b"{}":
        return msgspec.json.encode({"reload": reload})
    return payload[:-1] + b',"reload":' + msgspec.json.encode(reload) + b"}"
