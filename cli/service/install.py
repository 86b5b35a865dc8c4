"""`openclaw gateway install` and `uninstall`: write (or remove) the service definition and have the
service manager load it; where no manager runs, write the files and say how the gateway runs instead."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from openclaw.ipc.atomic import write_atomic
from openclaw.ipc.config import _secret, config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.paths import Paths

from .context import STATE_WAIT_S, ServiceContext, service_context, wait_state
from .definition import parse_env_file, render_env_file
from .linger import check_linger
from .outcome import Outcome, UsageProblem, service_json
from .process_path import forget_started, send, wait_gone
from .spec import ServiceSpec, build_spec
from .view import inspect_service

SECRET_KEYS = ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD")

RUNTIMES = ("python",)
MIN_TOKEN_CHARS = 24


def _check_flags(runtime: str, runtime_path: str | None, wrapper: str | None, port: int | None, token: str | None) -> list[str]:
    """Refuse what cannot apply (UsageProblem); return warnings."""
    if runtime not in RUNTIMES:
        raise UsageProblem(f"--runtime {runtime}: this gateway runs on Python; only --runtime python is supported "
                           "(node and bun are the upstream CLI's runtimes)")
    if runtime_path:
        raise UsageProblem("--runtime-path is not supported: the service runs the installed openclaw script with its "
                           "own Python. To run it through another program, use --wrapper <path>.")
    if wrapper is not None and not (os.path.isabs(wrapper) and os.path.isfile(wrapper) and os.access(wrapper, os.X_OK)):
        raise UsageProblem(f"--wrapper {wrapper}: give the absolute path of an executable file")
    if port is not None and not 1 <= port <= 65535:
        raise UsageProblem(f"--port {port}: a service needs a fixed port 1..65535")
    warnings = []
    if token is not None:
        try:
            _secret(token, "--token")
        except ConfigRefusal as exc:
            raise UsageProblem(str(exc)) from None
        if len(token) < MIN_TOKEN_CHARS:
            warnings.append(f"Warning: --token is {len(token)} characters; use at least {MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 24`).")
    return warnings


def _require_config(paths: Paths, allow_unconfigured: bool) -> dict:
    try:
        loaded = load_config(paths.config_path)
    except ConfigRefusal as exc:
        raise ConfigRefusal(f"{exc}\nThe service would refuse to start with it. Fix the file (`openclaw config validate`).") from None
    if allow_unconfigured:
        return loaded.data
    if not loaded.exists:
        raise ConfigRefusal(f"No config at {paths.config_path}: the service would refuse to start (exit 78). "
                            f"Run `openclaw{' --profile ' + paths.profile if paths.profile else ''} setup` first "
                            "(it writes gateway.mode=local, a token and the port), or pass --allow-unconfigured.")
    mode = config_value(loaded.data, "gateway.mode")
    if mode != "local":
        raise ConfigRefusal(f"gateway.mode is {mode!r} in {paths.config_path}, not 'local': the service would refuse to "
                            "start. Run `openclaw config set gateway.mode local`, or pass --allow-unconfigured.")
    return loaded.data


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=mode)


def _check_token_target(layout_manager: str, config: dict, token: str | None) -> None:
    """launchd and Windows definitions carry no secret: --token goes to the state dir's token file,
    which the gateway reads only when the config sets no token."""
    if not token or layout_manager.startswith("systemd"):
        return
    configured = config_value(config, "gateway.auth.token")
    if isinstance(configured, str) and configured != token:
        raise UsageProblem(f"--token: the config already sets gateway.auth.token, which the gateway prefers; a "
                           f"{layout_manager} definition carries no secrets. Change it with "
                           "`openclaw config set gateway.auth.token <token>` instead.")


def _kept_secrets(env_file: Path) -> dict[str, str]:
    """The secrets an earlier install put in the env file (`install --force` without `--token` keeps them)."""
    try:
        return {k: v for k, v in parse_env_file(env_file.read_text()).items() if k in SECRET_KEYS}
    except (OSError, UnicodeDecodeError):
        return {}


def _write_definition(ctx: ServiceContext, spec: ServiceSpec, token: str | None, out: Outcome) -> None:
    layout = ctx.layout
    if not ctx.paths.state_dir.exists():
        ctx.paths.state_dir.mkdir(parents=True, mode=0o700)
    if layout.manager.startswith("systemd"):
        from .systemd_unit import render

        assert layout.env_file is not None
        header = "Secrets for the gateway service (EnvironmentFile; owner-only). Written by `openclaw gateway install`."
        secrets = {**_kept_secrets(layout.env_file), **spec.secrets}  # a reinstall without --token keeps the token
        _write(layout.env_file, render_env_file(secrets, header).encode(), 0o600)
        _write(layout.definition_path, render(spec).encode(), 0o644)
        out.say(f"  unit:     {layout.definition_path}")
        out.say(f"  env file: {layout.env_file} (0600{', holds OPENCLAW_GATEWAY_TOKEN' if secrets else ''})")
        return
    if token:  # launchd and Windows have no secrets file: the gateway reads the state dir's token file
        _write(ctx.paths.runtime_token_file, (token + "\n").encode(), 0o600)
        out.say(f"  token:    {ctx.paths.runtime_token_file} (0600; kept out of the {layout.manager} definition)")
    if layout.manager == "launchd":
        from .launchd_plist import render as render_plist

        _write(layout.definition_path, render_plist(spec), 0o644)
        out.say(f"  plist:    {layout.definition_path}")
    else:
        from .windows_task import render_launcher, render_task

        assert layout.launcher_path is not None
        _write(layout.launcher_path, render_launcher(spec).encode(), 0o700)
        _write(layout.definition_path, render_task(spec), 0o644)
        out.say(f"  task:     {layout.definition_path} (import: schtasks /Create /TN \"{layout.label}\" /XML <file>)")
        out.say(f"  launcher: {layout.launcher_path}")


def install(
    paths: Paths, platform: str | None, system: bool, *, port: int | None, token: str | None, runtime: str,
    runtime_path: str | None, wrapper: str | None, force: bool, allow_unconfigured: bool,
) -> Outcome:
    out = Outcome("install")
    try:
        warnings = _check_flags(runtime, runtime_path, wrapper, port, token)
        ctx = service_context(paths, platform, system, for_install=True)
    except UsageProblem as exc:
        return out.fail(str(exc), ExitCode.USAGE)
    out.lines.extend(warnings)
    try:
        config = _require_config(paths, allow_unconfigured)
        _check_token_target(ctx.layout.manager, config, token)
        spec = build_spec(paths, ctx.layout, config, port=port, token=token, allow_unconfigured=allow_unconfigured,
                          wrapper=wrapper)
    except ConfigRefusal as exc:
        return out.fail(str(exc), ExitCode.CONFIG)
    except UsageProblem as exc:
        return out.fail(str(exc), ExitCode.USAGE)
    view = inspect_service(paths, ctx.platform, ctx.layout.system)
    out.via = view.via
    if view.installed and not force:
        out.service = service_json(view)
        out.extra["changed"] = False
        out.done(f"The gateway service is already installed ({ctx.layout.definition_path}); nothing changed. "
                 "Use --force to rewrite it.")
        out.hints.extend(f"Drift: {issue}" for issue in view.issues)
        return out
    out.say(f"{'Rewrote' if view.installed else 'Installed'} the gateway service {ctx.layout.label} ({ctx.layout.manager})")
    try:
        _write_definition(ctx, spec, token, out)
    except OSError as exc:
        hint = [f"A system unit needs root: sudo {ctx.cli} gateway install --system"] if ctx.layout.system else []
        return out.fail(f"cannot write the service files: {exc.strerror or exc} ({exc.filename})", hints=hint)
    out.say(f"  command:  {' '.join(spec.argv)}")
    out.say(f"  port:     {spec.port} ({spec.port_source})")
    out.extra.update(changed=True, port=spec.port, portSource=spec.port_source, command=spec.argv)
    if ctx.layout.manager == "systemd-user":
        linger = check_linger(spec.user)
        out.extra["linger"] = linger.to_json()
        if linger.hint():
            out.hints.append(linger.hint() or "")
    available, detail = ctx.manager.available()
    if available:
        _load(ctx, out, restart=view.installed and view.state == "running")
    else:
        out.via = "process"
        out.extra["managerAvailable"] = False
        out.done(f"The service manager is not running here ({detail or 'unavailable'}). The definition is written for when "
                 f"it is; until then `{ctx.cli} gateway start` runs the gateway as a detached process "
                 f"(output: {ctx.layout.service_log}).")
        running = view.process
        if running and view.installed:
            out.hints.append(f"A gateway of this profile is running (pid {running['pid']}) with the old definition: "
                             f"`{ctx.cli} gateway stop` then `{ctx.cli} gateway start` to run the new one.")
    out.service = service_json(inspect_service(paths, ctx.platform, ctx.layout.system))
    return out


def _load(ctx: ServiceContext, out: Outcome, restart: bool) -> None:
    manager = ctx.manager
    out.via = manager.name
    res = manager.load(restart)
    if not res.ok:
        log = manager.failure_log()
        out.fail(f"{manager.name} could not load the service: {res.describe()}",
                 hints=[f"Recent output:\n{log}"] if log else [])
        return
    state = wait_state(manager, {"running"})
    out.pid = state.pid
    if state.state != "running":
        log = manager.failure_log()
        out.fail(f"the service did not reach running (state {state.state or 'unknown'}: {state.detail})",
                 hints=([f"Recent output:\n{log}"] if log else []) + [f"`{ctx.cli} gateway status` shows what it answers"])
        return
    out.done(f"Started by {manager.name}: running" + (f" (pid {state.pid})" if state.pid else ""))


def uninstall(paths: Paths, platform: str | None, system: bool) -> Outcome:
    out = Outcome("uninstall")
    try:
        ctx = service_context(paths, platform, system)
    except UsageProblem as exc:
        return out.fail(str(exc), ExitCode.USAGE)
    view = inspect_service(paths, ctx.platform, ctx.layout.system)
    out.via = view.via
    files = [p for p in (*ctx.layout.written_files(), ctx.layout.started_record) if p.exists() or p.is_symlink()]
    if not files:
        out.service = service_json(view)
        out.extra["removed"] = []
        return out.done(f"The gateway service is not installed ({ctx.layout.definition_path}); nothing to remove.")
    if view.manager_available:
        res = ctx.manager.unload()
        if res.ok:
            state = wait_state(ctx.manager, {"stopped", "failed"}, give_up=frozenset())
            out.say(f"Stopped and disabled by {ctx.manager.name}" + ("" if state.state in ("stopped", "failed", None) else f" (state {state.state})"))
        elif view.loaded:
            out.say(f"Warning: {res.describe()}")
    elif view.process and view.process.get("serviceStarted"):
        pid = view.process["pid"]
        problem = send(pid, signal.SIGTERM)
        if problem is None and wait_gone(pid, STATE_WAIT_S):
            forget_started(ctx.layout.started_record, pid)
            out.say(f"Stopped the gateway the service started (pid {pid})")
        else:
            return out.fail(f"cannot stop the gateway (pid {pid}): {problem or 'still running after 30 s'}; nothing removed",
                            hints=[f"kill -TERM {pid}, then run uninstall again"])
    elif view.process:
        out.hints.append(f"A gateway of this profile started by hand is still running (pid {view.process['pid']}); "
                         f"`{ctx.cli} gateway stop` stops it.")
    removed = []
    for path in files:
        try:
            path.unlink()
            removed.append(str(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            out.extra["removed"] = removed
            return out.fail(f"cannot remove {path}: {exc.strerror or exc}")
    if view.manager_available:
        ctx.manager.after_remove()
    out.extra["removed"] = removed
    for path in removed:
        out.say(f"  removed {path}")
    out.service = service_json(inspect_service(paths, ctx.platform, ctx.layout.system, query=False))
    return out.done(f"Uninstalled the gateway service {ctx.layout.label}")

