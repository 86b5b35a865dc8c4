"""Other gateways on this host that share this profile's port, state dir, config or workspace.

Running ones come from the host registry (ipc/instance_registry.list_instances); configured ones
from the other profiles' configs under the home (~/.openclaw*/openclaw.json). With --deep, other
gateway-like service definitions too (cli/service/view.other_services).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import ConfigFileError, load_config
from openclaw.ipc.instance_registry import list_instances
from openclaw.ipc.paths import Paths, profile_owning_dir

from .context import DoctorContext, real_path, resolve_port
from .model import FAIL, OK, WARN, Finding


@dataclass
class Neighbour:
    name: str  # `profile "main"'s gateway (pid 12)` or `profile "main" (not running)`
    profile: str
    running: bool
    port: int | None
    state_dir: Path
    config_path: Path
    workspace: Path | None


def check(ctx: DoctorContext) -> list[Finding]:
    neighbours = running_neighbours(ctx) + configured_neighbours(ctx)
    out = [_ports(ctx, neighbours), *_shared_files(ctx, neighbours), _workspace(ctx, neighbours)]
    if ctx.deep:
        out.append(_services(ctx))
    return out


def workspace_of(data: dict[str, Any]) -> Path | None:
    ws = config_value(data, "agents.defaults.workspace")
    return real_path(Path(ws)) if isinstance(ws, str) and ws else None


def _config_data(path: Path) -> dict[str, Any]:
    try:
        return load_config(path).data
    except ConfigFileError:
        return {}


def running_neighbours(ctx: DoctorContext) -> list[Neighbour]:
    mine = real_path(ctx.paths.state_dir)
    own_pid = ctx.record.pid if ctx.record is not None and ctx.record_alive else None
    out = []
    for inst in list_instances(ctx.paths.home):
        rec = inst.record
        if not inst.alive or rec.pid == own_pid:
            continue
        state_dir = Path(rec.state_dir)
        if real_path(state_dir) == mine and own_pid is not None:
            continue
        config_path = Path(rec.config_path)
        out.append(Neighbour(
            f"profile \"{inst.profile_name}\"'s gateway (pid {rec.pid})", inst.profile_name, True, rec.port,
            state_dir, config_path, workspace_of(_config_data(config_path)),
        ))
    return out


def configured_neighbours(ctx: DoctorContext) -> list[Neighbour]:
    """Other profiles' own state dirs under the home that hold a config, not running now."""
    home = ctx.paths.home
    running_dirs = {real_path(Path(i.record.state_dir)) for i in list_instances(home) if i.alive}
    mine = real_path(ctx.paths.state_dir)
    out = []
    try:
        candidates = sorted(home.glob(".openclaw*/openclaw.json"))
    except OSError:
        return out
    for config_path in candidates:
        state_dir = config_path.parent
        profile = profile_owning_dir(state_dir, [home])
        if profile is None or real_path(state_dir) in (mine, *running_dirs):
            continue
        if real_path(config_path) == real_path(ctx.paths.config_path):
            continue
        data = _config_data(config_path)
        paths = Paths(home=home, profile=None if profile == "default" else profile, state_dir=state_dir,
                      config_path=config_path)
        port, _ = resolve_port(paths, data, {})
        out.append(Neighbour(f"profile \"{profile}\" (not running)", profile, False, port, state_dir, config_path,
                             workspace_of(data)))
    return out


def _ports(ctx: DoctorContext, neighbours: list[Neighbour]) -> Finding:
    ports = {ctx.port}
    if ctx.record is not None and ctx.record_alive:
        ports.add(ctx.record.port)
    clash = [n for n in neighbours if n.port in ports]
    hint = (f"give each profile its own port (`{ctx.invocation()} config set gateway.port <port>`; "
            "a named profile defaults to its own)")
    running = [n for n in clash if n.running]
    if running:
        return Finding("neighbours.port", FAIL, "port " + ", ".join(f"{n.port} is used by {n.name}" for n in running)
                       + ": only one gateway can listen on a port", hint)
    if clash:
        return Finding("neighbours.port", WARN, "; ".join(f"{n.name} is configured for port {n.port} too" for n in clash)
                       + ": only one of them can run at a time", hint)
    others = len(neighbours)
    return Finding("neighbours.port", OK, f"no other gateway on this host uses port {ctx.port}"
                   + (f" ({others} other profile{'s' if others != 1 else ''} seen)" if others else ""))


def _shared_files(ctx: DoctorContext, neighbours: list[Neighbour]) -> list[Finding]:
    state, config = real_path(ctx.paths.state_dir), real_path(ctx.paths.config_path)
    same_state = [n for n in neighbours if n.running and real_path(n.state_dir) == state]
    same_config = [n for n in neighbours if real_path(n.config_path) == config and n not in same_state]
    out = []
    if same_state:
        out.append(Finding("neighbours.state-dir", FAIL, ", ".join(n.name for n in same_state)
                           + f" runs on this profile's state dir {ctx.paths.state_dir}",
                           "give each gateway its own state dir (its own --profile, or OPENCLAW_STATE_DIR)"))
    else:
        out.append(Finding("neighbours.state-dir", OK, "no other gateway uses this state dir"))
    if same_config:
        out.append(Finding("neighbours.config", WARN, ", ".join(n.name for n in same_config)
                           + f" reads this profile's config {ctx.paths.config_path}",
                           "give each gateway its own config (OPENCLAW_CONFIG_PATH or its profile's own)"))
    return out


def _workspace(ctx: DoctorContext, neighbours: list[Neighbour]) -> Finding:
    mine = workspace_of(ctx.data)
    if mine is None:
        return Finding("neighbours.workspace", OK, "agents.defaults.workspace is not set (the profile's default)")
    shared = [n for n in neighbours if n.workspace == mine]
    if shared:
        return Finding("neighbours.workspace", WARN, ", ".join(n.name for n in shared) + f" uses the same workspace {mine}",
                       f"give each profile its own agents.defaults.workspace (`{ctx.invocation()} config set "
                       "agents.defaults.workspace <dir>`)")
    return Finding("neighbours.workspace", OK, f"workspace {mine} is this profile's alone")


def _services(ctx: DoctorContext) -> Finding:
    try:
        from openclaw.cli.service.view import other_services

        others = other_services(ctx.paths)
    except Exception as exc:  # noqa: BLE001 - a failing scan is reported, never a traceback
        return Finding("services.other", WARN, f"cannot scan for other gateway services: {exc}")
    if not others:
        return Finding("services.other", OK, "no other gateway service definitions on this host")
    names = "; ".join(f"{v.label} ({v.definition_path})" for v in others)
    return Finding("services.other", WARN, f"other gateway services on this host: {names}",
                   "keep one service per profile; remove strays with `openclaw --profile <name> gateway uninstall`")
