"""The reload planner (pure): old config -> new config, diffed by key path, classified
(reload_rules.py), shaped by `gateway.reload.mode`, and judged on *effective* values
(a `gateway.port` edit is moot while `--port` overrides it).

    off      nothing is applied; every change is reported as pending
    hot      hot changes are applied; anything needing a process restart is pending
    restart  every change is applied by replacing the processes it concerns
    hybrid   hot where that is safe, replacement where it is needed (the default)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_edit import changed_paths

from .reload_rules import Effect, classify
from .specs import ChildSpec

# Paths whose only effect is through the listening address (and the auth mode, for the first list).
LISTENER_PATHS = ("gateway.port", "gateway.bind", "gateway.customBindHost")
_LISTENER_OR_AUTH_PATHS = (*LISTENER_PATHS, "gateway.auth.mode")


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    """`path` is one of `prefixes` or inside one (by whole segments: gateway.portals is not gateway.port)."""
    return any(path == p or path.startswith(p + ".") for p in prefixes)


@dataclass
class ReloadPlan:
    paths: list[str]
    hot: dict[str, list[str]] = field(default_factory=dict)  # process name -> paths pushed to it
    rotate_credentials: bool = False
    replace: dict[str, list[str]] = field(default_factory=dict)  # worker -> paths (blue/green)
    start: dict[str, list[str]] = field(default_factory=dict)  # new channel workers
    stop: dict[str, list[str]] = field(default_factory=dict)  # removed channel workers
    restart_frontend: list[str] = field(default_factory=list)
    rebind: bool = False
    supervisor: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be done, said in the actions
    mode: str = "hybrid"

    def touches(self) -> set[str]:
        """Children whose config section changed (a FATAL one among them is retried)."""
        return set(self.hot) | set(self.replace) | set(self.start) | ({"frontend"} if self.restart_frontend else set())

    def describe(self) -> list[str]:
        def p(paths: list[str]) -> str:
            shown = ", ".join(paths[:4])
            return shown + (f", +{len(paths) - 4} more" if len(paths) > 4 else "")

        lines: list[str] = []
        if self.supervisor:
            lines.append(f"applied by the supervisor ({p(self.supervisor)})")
        by_paths: dict[tuple[str, ...], list[str]] = {}
        for name, paths in self.hot.items():
            by_paths.setdefault(tuple(paths), []).append(name)
        for paths_t, names in by_paths.items():
            lines.append(f"hot-applied ({p(list(paths_t))}) to {', '.join(names)}")
        if self.rotate_credentials:
            lines.append("credentials rotated: connections that used the old secret are closed (1008)")
        for name, paths in self.start.items():
            lines.append(f"starting worker {_label(name)} ({p(paths)})")
        for name, paths in self.replace.items():
            lines.append(f"restarting worker {_label(name)} ({p(paths)})")
        for name, paths in self.stop.items():
            lines.append(f"stopping worker {_label(name)} ({p(paths)})")
        if self.restart_frontend:
            what = "restarting frontend on a new address" if self.rebind else "restarting frontend"
            lines.append(f"{what} ({p(self.restart_frontend)}); clients reconnect")
        if self.ignored:
            lines.append(f"no effect ({p(self.ignored)})")
        if self.pending:
            lines.append(f"pending restart ({p(self.pending)}): gateway.reload.mode={self.mode}")
        return lines + self.notes


def _label(name: str) -> str:
    return name.replace(":", " ", 1)


def _listener_changed(old: ResolvedGateway, new: ResolvedGateway) -> bool:
    return (old.port, old.bind_hosts) != (new.port, new.bind_hosts)


def plan_reload(
    old_cfg: dict[str, Any],
    new_cfg: dict[str, Any],
    old_specs: dict[str, ChildSpec],
    new_specs: dict[str, ChildSpec],
    old_gw: ResolvedGateway,
    new_gw: ResolvedGateway,
    mode: str,
) -> ReloadPlan:
    paths = changed_paths(old_cfg, new_cfg)
    plan = ReloadPlan(paths=paths, mode=mode)
    workers = [n for n, s in new_specs.items() if s.role == "worker"]
    for name in new_specs.keys() - old_specs.keys():
        plan.start[name] = [x for x in paths if _channel_of(x) == name] or [f"channels.{new_specs[name].channel_id}"]
    for name in old_specs.keys() - new_specs.keys():
        plan.stop[name] = [x for x in paths if _channel_of(x) == name] or [f"channels.{old_specs[name].channel_id}"]

    for path in paths:
        effect = classify(path)
        if effect is Effect.NONE:
            plan.ignored.append(path)
        elif effect is Effect.SUPERVISOR:
            plan.supervisor.append(path)
        elif effect is Effect.HOT_ALL:
            for name in ["frontend", *(w for w in workers if w not in plan.start)]:
                plan.hot.setdefault(name, []).append(path)
            plan.supervisor.append(path)
        elif effect is Effect.HOT_FRONTEND:
            plan.hot.setdefault("frontend", []).append(path)
        elif effect is Effect.ROTATE_SECRET:
            if (old_gw.token, old_gw.password) != (new_gw.token, new_gw.password):
                plan.hot.setdefault("frontend", []).append(path)
                plan.rotate_credentials = True
            else:
                plan.ignored.append(path)  # a flag or the environment overrides the file
        elif effect is Effect.HOT_AGENT:
            plan.hot.setdefault("agent", []).append(path)
        elif effect is Effect.REPLACE_AGENT:
            plan.replace.setdefault("agent", []).append(path)
        elif effect is Effect.REPLACE_NODE:
            plan.replace.setdefault("node", []).append(path)
        elif effect is Effect.CHANNEL:
            name = _channel_of(path)
            if name is None or name in plan.start or name in plan.stop:
                continue  # the whole section: the children it adds or removes are planned above
            if name in new_specs:
                plan.replace.setdefault(name, []).append(path)
            else:
                plan.ignored.append(path)  # a disabled channel
        elif effect is Effect.RESTART_FRONTEND:
            plan.restart_frontend.append(path)

    if plan.restart_frontend and all(under(p, _LISTENER_OR_AUTH_PATHS) for p in plan.restart_frontend):
        if not _listener_changed(old_gw, new_gw) and old_gw.auth_mode == new_gw.auth_mode:
            plan.ignored.extend(plan.restart_frontend)  # overridden by --port/--bind/--auth or env
            plan.restart_frontend = []
    plan.rebind = bool(plan.restart_frontend) and _listener_changed(old_gw, new_gw)
    _apply_mode(plan, workers)
    if plan.restart_frontend:  # a new front-end reads the new config anyway
        plan.hot.pop("frontend", None)
        plan.rotate_credentials = False
    return plan


def _channel_of(path: str) -> str | None:
    parts = path.split(".")
    return f"channel:{parts[1]}" if len(parts) >= 2 and parts[0] == "channels" else None


def _apply_mode(plan: ReloadPlan, workers: list[str]) -> None:
    restartish = [*plan.restart_frontend]
    for group in (plan.start, plan.replace, plan.stop):
        for paths in group.values():
            restartish.extend(paths)
    if plan.mode == "off":
        plan.pending = sorted(set(plan.paths) - set(plan.ignored))
        plan.hot, plan.replace, plan.start, plan.stop = {}, {}, {}, {}
        plan.restart_frontend, plan.supervisor, plan.rotate_credentials, plan.rebind = [], [], False, False
    elif plan.mode == "hot":
        plan.pending = sorted(set(restartish))
        plan.replace, plan.start, plan.stop = {}, {}, {}
        plan.restart_frontend, plan.rebind = [], False
    elif plan.mode == "restart":
        for name, paths in plan.hot.items():
            if name == "frontend":
                plan.restart_frontend.extend(p for p in paths if p not in plan.restart_frontend)
            elif name in workers:
                plan.replace.setdefault(name, []).extend(paths)
        plan.hot = {}
        plan.rotate_credentials = False
