"""Applying a config change as a transaction: judge the candidate, plan (reload_plan.py), then act on
the tree (hot pushes, blue/green worker replacements, channel workers started and stopped, a
front-end restart on a new listener bound before the old one closes), and log one line per decision.
An unusable file changes nothing but the reported status."""

from __future__ import annotations

from typing import Protocol

import msgspec

from openclaw.ipc import control, logs
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_edit import carry_paths
from openclaw.ipc.config_file import LoadedConfig
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.logs import get_logger

from .child_config import for_child
from . import report
from .bootstrap import StartPlan, resolve
from .config_state import Candidate, ConfigState
from .listener import ListenerStore, bind_all
from .reload_plan import LISTENER_PATHS, ReloadPlan, plan_reload, under
from .notify import Notifier
from .specs import ChildSpec, derive_specs
from .tree import ProcessTree

log = get_logger("supervisor/reload")
RESTART_EXPECTED_MS = 1500
# what only a front-end restart can change; kept as they are while such a change is pending
_LISTENER_FIELDS = ("port", "port_source", "bind_mode", "bind_hosts", "auth_mode")


class ReloadTarget(Protocol):
    """What a reload reads and changes of the supervisor (loop.Supervisor is one)."""

    plan: StartPlan
    config: ConfigState
    tree: ProcessTree
    specs: dict[str, ChildSpec]
    listeners: ListenerStore
    staged_listeners: ListenerStore | None
    notify: Notifier
    reloading: bool
    frontend_restart: bool
    started_ms: int

    @property
    def port(self) -> int: ...


class ReloadApplier:
    def __init__(self, sup: ReloadTarget) -> None:
        self.sup = sup

    def plan(self, cand: Candidate, forced: bool) -> ReloadPlan | None:
        cfg = self.sup.config
        if cand.error is not None:
            if cfg.reject(cand):
                where = f" (line {cand.line}, column {cand.column})" if cand.line else ""
                log.error(f"config reload failed; keeping the last good config{where}", error=cand.error)
            return None
        if cfg.is_current(cand):
            if cfg.status.status == "error":  # the file is back to the config we run
                cfg.status.status, cfg.status.error, cfg.status.line, cfg.status.column = "ok", None, None, None
                log.info("config file is valid again (unchanged from the running config)")
            if not (forced and cfg.pending):
                return None
        assert cand.loaded is not None and cand.gateway is not None
        mode = cand.gateway.reload_mode
        if forced and mode in ("off", "hot"):
            mode = "hybrid"  # SIGHUP asks for the config to be applied now, restarts included
        current = cfg.gateway
        current.port = self.sup.port
        plan = plan_reload(
            cfg.data, cand.loaded.data, self.sup.specs, derive_specs(cand.loaded.data), current, cand.gateway, mode
        )
        log.info(f"config change detected ({', '.join(plan.paths[:8]) or 'formatting only'})", hash=cand.loaded.hash)
        return plan

    async def execute(self, plan: ReloadPlan, cand: Candidate) -> None:
        sup, tree = self.sup, self.sup.tree
        assert cand.loaded is not None and cand.gateway is not None
        gateway = cand.gateway
        applied = cand.loaded
        if plan.rebind:  # bind the new address before the old one closes
            try:
                sup.staged_listeners = ListenerStore(bind_all(gateway.bind_hosts, gateway.port))
            except OSError as exc:  # the address change waits (pending): SIGHUP or a restart tries again
                plan.notes.append(
                    f"cannot listen on port {gateway.port} ({exc.strerror or exc}); still on port {sup.port}"
                )
                plan.rebind = False
                moved = [p for p in plan.restart_frontend if under(p, LISTENER_PATHS)]
                plan.restart_frontend = [p for p in plan.restart_frontend if p not in moved]
                for name in list(plan.hot):  # nobody announces an address we do not listen on
                    plan.hot[name] = [p for p in plan.hot[name] if p not in moved]
                    if not plan.hot[name]:
                        del plan.hot[name]
                plan.pending = sorted(set(plan.pending) | set(moved))
        if plan.pending:  # the pending paths keep their running values
            done = [p for p in plan.paths if p not in set(plan.pending)]
            data = carry_paths(sup.config.data, cand.loaded.data, done)
            applied = LoadedConfig(path=cand.loaded.path, exists=True, raw="", data=data, hash=f"applied:{cand.loaded.hash}")
            gateway = self._resolve_applied(applied, gateway)
        actions = plan.describe()
        sup.config.accept(applied, gateway, cand.loaded.hash, plan.paths, actions, plan.pending)
        if plan.start or plan.stop:
            sup.specs = derive_specs(applied.data)
        for line in actions:
            log.info(line)
        if plan.mode == "off" and plan.pending:
            log.info("config change ignored: gateway.reload.mode is off (restart the gateway to apply it)")
            return
        if plan.hot or plan.replace or plan.start or plan.stop or plan.restart_frontend:
            sup.reloading = True
            sup.notify.reloading("reloading config")
        if "logging" in {p.split(".")[0] for p in plan.supervisor}:
            logs.configure_gateway(gateway, "supervisor")
        config_json = sup.config.config_json()
        for name in tree.touches_fatal(plan.touches()):
            tree.retry(name)
        for name, paths in plan.hot.items():
            child = tree.children.get(name)
            if child is None:
                continue
            child_gateway, child_json = for_child(child.spec.role, gateway, config_json)
            msg = control.ApplyConfig(
                gateway=child_gateway, config=child_json, paths=paths, rotate_credentials=plan.rotate_credentials and name == "frontend"
            )
            for proc in (child.current, child.successor):
                if proc is not None and proc.configured and not proc.exited and not tree.send_to(proc.instance, msg):
                    # gone or wedged (its queue is full): its successor is configured from the new config
                    log.warn("config change not delivered; it applies when the process is replaced", instance=proc.instance)
        self._tell_frontend_channels(plan, gateway, config_json)
        for name in plan.start:
            tree.add(sup.specs[name])  # advance() starts it
        for name in plan.replace:
            if name in tree.children:
                await tree.replace(name)
        for name in plan.stop:
            if name in tree.children:
                tree.stop(name, "no longer in the config")
        if plan.restart_frontend:
            sup.frontend_restart = True
            tree.stop("frontend", "gateway restarting", RESTART_EXPECTED_MS)

    def _tell_frontend_channels(self, plan: ReloadPlan, gateway: ResolvedGateway, config_json: bytes) -> None:
        """The front-end routes `send` and inbound channel POSTs by the channel config: it gets the
        new one whenever channel workers are started, replaced or stopped (not a plan action of its own)."""
        paths = [p for p in plan.paths if p == "channels" or p.startswith("channels.")]
        if not paths or plan.restart_frontend or not (plan.start or plan.replace or plan.stop or plan.ignored):
            return
        tree = self.sup.tree
        child = tree.children.get("frontend")
        if child is None or "frontend" in plan.hot:
            return  # (a hot push to the front-end carries the whole config already)
        child_gateway, child_json = for_child(child.spec.role, gateway, config_json)
        msg = control.ApplyConfig(gateway=child_gateway, config=child_json, paths=paths, rotate_credentials=False)
        for proc in (child.current, child.successor):
            if proc is not None and proc.configured and not proc.exited:
                tree.send_to(proc.instance, msg)

    def adopt_for_restart(self, cand: Candidate) -> None:
        """An in-process restart takes the file as it is now, listener included."""
        sup = self.sup
        assert cand.loaded is not None and cand.gateway is not None
        gateway = cand.gateway
        if (gateway.port, gateway.bind_hosts) != (sup.port, sup.config.gateway.bind_hosts):
            try:
                new = ListenerStore(bind_all(gateway.bind_hosts, gateway.port))
            except OSError as exc:
                log.error("cannot listen on the new address; keeping the old one", port=gateway.port, error=str(exc))
                gateway = self._keep_listener(sup.config.gateway, gateway, auth=False)
            else:
                sup.listeners.close()
                sup.listeners = new
        gateway.port = sup.port
        sup.config.accept(cand.loaded, gateway, cand.loaded.hash, [], ["in-process restart"], [])
        sup.specs = derive_specs(cand.loaded.data)
        logs.configure_gateway(gateway, "supervisor")
        report.write_instance_file(sup.plan.paths, gateway, sup.port, sup.started_ms)

    def _resolve_applied(self, applied: LoadedConfig, fallback: ResolvedGateway) -> ResolvedGateway:
        """The settings of the applied mix of old and new; the listener always stays as it is."""
        try:
            gateway = resolve(self.sup.plan.opts, self.sup.plan.paths, applied, self.sup.config.gateway)
        except ConfigRefusal:
            gateway = fallback
        return self._keep_listener(self.sup.config.gateway, gateway)

    @staticmethod
    def _keep_listener(old: ResolvedGateway, new: ResolvedGateway, auth: bool = True) -> ResolvedGateway:
        fields = _LISTENER_FIELDS if auth else _LISTENER_FIELDS[:-1]
        return msgspec.structs.replace(new, **{f: getattr(old, f) for f in fields})
