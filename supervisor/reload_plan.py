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

from openclaw.ipc.channels_config import channel_accounts
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_edit import changed_paths

from .reload_rules import Effect, classify
from .specs import ChildSpec

# Paths whose only effect is through the listening address (and the auth mode, for the first list).
LISTENER_PATHS = ("gateway.port", "gateway.bind", "gateway.customBindHost")
# What the advertiser announces of the gateway besides discovery.*: it re-announces when they change.
ANNOUNCED_PATHS = (*LISTENER_PATHS, "gateway.tls")
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
    old_accounts, new_accounts = channel_accounts(old_cfg, {}), channel_accounts(new_cfg, {})
    for name in sorted(new_specs.keys() - old_specs.keys()):
        plan.start[name] = _own_paths(paths, new_specs[name])
    for name in sorted(old_specs.keys() - new_specs.keys()):
        plan.stop[name] = _own_paths(paths, old_specs[name])
    # a channel account restarts only when its own effective section changed
    changed_channels = {
        f"channel:{cid}" for cid, acct in new_accounts.items()
        if cid in old_accounts and old_accounts[cid].section != acct.section
    }

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
            touched = _channel_workers_of(path, new_specs, old_specs)
            if any(n in plan.start or n in plan.stop for n in touched):
                touched = [n for n in touched if n not in plan.start and n not in plan.stop]
                if not touched:
                    continue  # planned above with the children it adds or removes
            hit = [n for n in touched if n in changed_channels]
            for name in hit:
                plan.replace.setdefault(name, []).append(path)
            if not hit:
                plan.ignored.append(path)  # a disabled channel, or no account's effective section changed
        elif effect is Effect.RESTART_FRONTEND:
            plan.restart_frontend.append(path)
        elif effect is Effect.ADVERTISER:
            if "advertiser" in old_specs and "advertiser" in new_specs:
                plan.hot.setdefault("advertiser", []).append(path)
            elif "advertiser" not in plan.start and "advertiser" not in plan.stop:
                plan.ignored.append(path)  # discovery stays off (e.g. OPENCLAW_DISABLE_BONJOUR)
        elif effect is Effect.HOT_CANVAS:
            if "canvas" in old_specs and "canvas" in new_specs:
                plan.hot.setdefault("canvas", []).append(path)
            elif "canvas" not in plan.start and "canvas" not in plan.stop:
                plan.ignored.append(path)  # the canvas host is off (OPENCLAW_SKIP_CANVAS_HOST)

    if plan.restart_frontend and all(under(p, _LISTENER_OR_AUTH_PATHS) for p in plan.restart_frontend):
        if not _listener_changed(old_gw, new_gw) and old_gw.auth_mode == new_gw.auth_mode:
            plan.ignored.extend(plan.restart_frontend)  # overridden by --port/--bind/--auth or env
            plan.restart_frontend = []
    plan.rebind = bool(plan.restart_frontend) and _listener_changed(old_gw, new_gw)
    if "advertiser" in old_specs and "advertiser" in new_specs:  # it announces the port, bind and TLS
        announced = [p for p in plan.restart_frontend if under(p, ANNOUNCED_PATHS)]
        if announced and (plan.rebind or not all(under(p, LISTENER_PATHS) for p in announced)):
            plan.hot.setdefault("advertiser", []).extend(announced)
    _apply_mode(plan, workers)
    canvas_moved = (old_gw.canvas_port, old_gw.bind_hosts) != (new_gw.canvas_port, new_gw.bind_hosts)
    if plan.rebind and canvas_moved and "canvas" in old_specs and "canvas" in new_specs:
        # the canvas host follows the gateway's address (port + 4, the same hosts): it rebinds itself
        plan.hot.setdefault("canvas", []).extend(p for p in plan.restart_frontend if under(p, LISTENER_PATHS))
    if plan.restart_frontend:  # a new front-end reads the new config anyway
        plan.hot.pop("frontend", None)
        plan.rotate_credentials = False
    return plan


def _own_paths(paths: list[str], spec: ChildSpec) -> list[str]:
    """The changed paths that start or stop this child (a channel account's section, canvasHost, discovery.*)."""
    if spec.channel_id is not None:
        return _channel_paths(paths, spec.channel_id) or [_section_path(spec.channel_id)]
    if spec.kind == "canvas":
        return [p for p in paths if classify(p) is Effect.HOT_CANVAS] or ["canvasHost"]
    return [p for p in paths if under(p, ("discovery",))] or [spec.name]


def _section_path(channel_id: str) -> str:
    """`telegram:work` -> `channels.telegram.accounts.work`; `webhook:crm` -> `channels.webhook.crm`."""
    kind, _, account = channel_id.partition(":")
    if not account:
        return f"channels.{kind}"
    return f"channels.telegram.accounts.{account}" if kind == "telegram" else f"channels.{kind}.{account}"


def _covers(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or prefix.startswith(path + ".")


def _channel_paths(paths: list[str], channel_id: str) -> list[str]:
    """The changed paths inside this channel account's section (telegram: its account, or the shared top level)."""
    kind, _, account = channel_id.partition(":")
    own = _section_path(channel_id)
    out = []
    for x in paths:
        if _covers(x, own):
            out.append(x)
        elif kind == "telegram" and account and _covers(x, "channels.telegram") and not _covers(x, "channels.telegram.accounts"):
            out.append(x)  # a shared top-level key every account inherits
    return out


def _channel_workers_of(path: str, *spec_maps: dict[str, ChildSpec]) -> list[str]:
    """The channel worker names a changed `channels.…` path may concern."""
    names: list[str] = []
    for specs in spec_maps:
        for name, spec in specs.items():
            if spec.channel_id is not None and name not in names and _channel_paths([path], spec.channel_id):
                names.append(name)
    return names


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
            elif name in workers and name != "canvas":
                plan.replace.setdefault(name, []).extend(paths)
        plan.hot = {n: p for n, p in plan.hot.items() if n == "canvas"}  # it applies its changes in place
        plan.rotate_credentials = False
