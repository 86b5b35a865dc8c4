"""`openclaw gateway start | stop | restart`: through the service manager when the service is installed
and the manager runs; otherwise on this profile's gateway process (the no-manager path).

Which path a verb takes (`via`):

| verb | manager answers, service installed | otherwise (no manager, or not installed) |
| --- | --- | --- |
| start | `systemctl start` / `launchctl bootstrap+kickstart` / `schtasks /Run` | `openclaw gateway run` detached, from the installed definition (or the current settings) |
| stop | the manager's stop (when it runs the service) | SIGTERM to the supervisor in the instance record, wait for exit |
| restart | the manager's restart | SIGUSR1 (in-process: the supervisor keeps its PID), wait for a new front-end's hello-ok |
| restart --safe/--force/--wait | `gateway.restart.request` over RPC (`via: rpc`) | same |

Every verb then checks the state it asked for, bounded (STATE_WAIT_S).
"""

from __future__ import annotations

import os
import re
import signal
from typing import Any

from openclaw.ipc import scopes
from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.instance_registry import running_instance
from openclaw.ipc.paths import Paths

from ..client import GatewayClient, RpcError, TransportError
from .context import STATE_WAIT_S, ServiceContext, service_context, wait_state
from .outcome import Outcome, UsageProblem, service_json
from .process_path import (
    forget_started,
    frontend_pid,
    send,
    start_detached,
    tail_since,
    wait_gone,
    write_started_record,
)
from .readiness import (
    Credentials,
    Readiness,
    connect_host,
    gateway_credentials,
    probe,
    record_url,
    wait_ready,
)
from .spec import build_spec
from .view import ServiceView, definition_env, inspect_service, read_definition

RUNNING = ("running", "activating")


def _begin(action: str, paths: Paths, platform: str | None, system: bool) -> tuple[Outcome, ServiceContext | None, ServiceView | None]:
    out = Outcome(action)
    try:
        ctx = service_context(paths, platform, system)
    except UsageProblem as exc:
        return out.fail(str(exc), ExitCode.USAGE), None, None
    return out, ctx, inspect_service(paths, ctx.platform, ctx.layout.system)


def _finish(out: Outcome, ctx: ServiceContext) -> Outcome:
    out.service = service_json(inspect_service(ctx.paths, ctx.platform, ctx.layout.system))
    return out


def _manager_failure(out: Outcome, ctx: ServiceContext, what: str) -> Outcome:
    log = ctx.manager.failure_log()
    return out.fail(what, hints=([f"Recent output:\n{log}"] if log else []) + [f"`{ctx.cli} gateway status` shows what it answers"])


# ---------------------------------------------------------------- start

def start(paths: Paths, platform: str | None, system: bool) -> Outcome:
    out, ctx, view = _begin("start", paths, platform, system)
    if ctx is None or view is None:
        return out
    if view.manager_available and view.installed:
        return _finish(_start_managed(out, ctx, view), ctx)
    if view.manager_available:
        return _finish(out.fail(f"The gateway service is not installed ({ctx.layout.definition_path}).",
                                hints=[f"`{ctx.cli} gateway install` installs and starts it; `{ctx.cli} gateway run` runs it in the foreground"]), ctx)
    return _finish(_start_process(out, ctx, view), ctx)


def _start_managed(out: Outcome, ctx: ServiceContext, view: ServiceView) -> Outcome:
    out.via = ctx.manager.name
    if view.state == "running":
        out.pid = view.main_pid
        return out.done(f"The gateway service is already running ({ctx.manager.name}" + (f", pid {view.main_pid})" if view.main_pid else ")"))
    res = ctx.manager.start()
    if not res.ok:
        return _manager_failure(out, ctx, f"{ctx.manager.name} could not start the service: {res.describe()}")
    state = wait_state(ctx.manager, {"running"})
    out.pid = state.pid
    if state.state != "running":
        return _manager_failure(out, ctx, f"the service did not reach running within {STATE_WAIT_S:.0f} s (state {state.state or 'unknown'})")
    return out.done(f"Started the gateway service ({ctx.manager.name}" + (f", pid {state.pid})" if state.pid else ")"))


def _launch_command(ctx: ServiceContext, view: ServiceView) -> tuple[list[str], dict[str, str], str | None, str]:
    """What the no-manager path runs: the installed definition's command and environment, else the
    command install would write now. Raises ConfigRefusal (bad port in the config/env) or ValueError."""
    # as under a service manager: this shell's OPENCLAW_* variables are not passed on, only the definition's
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    definition = read_definition(ctx.layout) if view.installed else None
    if definition is not None and definition.argv:
        env.update(definition_env(definition))
        return definition.argv, env, definition.working_dir, f"the installed definition {ctx.layout.definition_path}"
    try:
        config = load_config(ctx.paths.config_path).data
    except ConfigRefusal:
        config = {}  # the gateway itself reports the bad config (exit 78) and we show its words
    spec = build_spec(ctx.paths, ctx.layout, config)
    env.update(spec.env)
    return spec.argv, env, str(spec.working_dir), "the current settings (the service is not installed)"


def _start_process(out: Outcome, ctx: ServiceContext, view: ServiceView) -> Outcome:
    out.via = "process"
    out.extra["managerAvailable"] = False
    rec = running_instance(ctx.paths)
    if rec is not None:
        out.pid = rec.pid
        return out.done(f"The gateway is already running (pid {rec.pid}, port {rec.port}).")
    try:
        argv, env, cwd, source = _launch_command(ctx, view)
    except ConfigRefusal as exc:
        return out.fail(str(exc), ExitCode.CONFIG)
    except ValueError as exc:
        return out.fail(str(exc), hints=[f"`{ctx.cli} gateway install --force` rewrites the definition"])
    log = ctx.layout.service_log
    try:
        proc, offset = start_detached(argv, env, cwd, log)
    except OSError as exc:
        return out.fail(f"cannot start {argv[0]}: {exc.strerror or exc}")
    out.pid = proc.pid
    out.extra.update(command=argv, log=str(log))
    try:
        write_started_record(ctx.layout.started_record, proc.pid, argv, log)
    except OSError as exc:
        out.say(f"Warning: cannot write {ctx.layout.started_record}: {exc.strerror or exc}")
    creds = gateway_credentials(ctx.paths, _service_env(ctx, view))
    ready = wait_ready(ctx.paths, creds, STATE_WAIT_S, pid=proc.pid, proc=proc)
    out.extra["ready"] = ready.to_json()
    if ready.ok:
        assert ready.record is not None
        out.say(f"No service manager here ({view.manager_detail or 'unavailable'}): started the gateway as a detached process from {source}.")
        if ready.note:
            out.say(f"Note: {ready.note}")
        out.say(f"  output: {log}")
        return out.done(f"Started the gateway (pid {proc.pid}) on ws://{connect_host(ready.record)}:{ready.record.port}")
    tail = tail_since(log, offset)
    excerpt = "Last output:\n  " + "\n  ".join(tail) if tail else f"no output (see {log})"
    if ready.exited:
        code = ready.exit_code
        out.extra["exitCode"] = code
        return out.fail(f"the gateway exited with code {code} while starting" + (" (refused by its configuration)" if code == 78 else ""),
                        ExitCode.CONFIG if code == 78 else ExitCode.FAILURE, hints=[excerpt])
    return out.fail(f"the gateway (pid {proc.pid}) did not become ready within {STATE_WAIT_S:.0f} s; it is still running",
                    hints=[excerpt, f"`{ctx.cli} gateway stop` stops it"])


# ---------------------------------------------------------------- stop

def stop(paths: Paths, platform: str | None, system: bool, *, disable: bool, force: bool) -> Outcome:
    out, ctx, view = _begin("stop", paths, platform, system)
    if ctx is None or view is None:
        return out
    out.extra["force"] = force  # accepted: stop never asks for confirmation, so --force changes nothing
    if view.manager_available and view.installed and (view.state in (*RUNNING, "stopping") or disable):
        out.via = ctx.manager.name
        before = view.main_pid
        res = ctx.manager.stop(disable)
        if not res.ok:
            return _finish(_manager_failure(out, ctx, f"{ctx.manager.name} could not stop the service: {res.describe()}"), ctx)
        state = wait_state(ctx.manager, {"stopped", "failed"}, give_up=frozenset())
        if state.state not in ("stopped", "failed", None):
            return _finish(_manager_failure(out, ctx, f"the service is still {state.state} after {STATE_WAIT_S:.0f} s"), ctx)
        out.pid = before
        extra = " and disabled (it stays stopped until `gateway start`)" if disable else ""
        return _finish(out.done(f"Stopped the gateway service ({ctx.manager.name}){extra}"), ctx)
    if disable:
        out.via = "process"
        why = "no service manager runs here" if not view.manager_available else "the service is not installed"
        return _finish(out.fail(f"--disable stops a service manager from starting the gateway again, but {why}: "
                                "nothing would restart it. Run stop without --disable.", ExitCode.USAGE), ctx)
    out.via = "process"
    rec = running_instance(paths)
    if rec is None:
        if view.manager_available and view.installed:
            out.via = ctx.manager.name
        return _finish(out.done("No gateway of this profile is running; nothing to stop."), ctx)
    problem = send(rec.pid, signal.SIGTERM)
    out.pid = rec.pid
    if problem is not None:
        return _finish(out.fail(f"cannot stop the gateway: {problem}"), ctx)
    if not wait_gone(rec.pid, STATE_WAIT_S):
        return _finish(out.fail(f"the gateway (pid {rec.pid}) is still running {STATE_WAIT_S:.0f} s after SIGTERM",
                                hints=[f"kill -KILL {rec.pid} ends it without a drain"]), ctx)
    forget_started(ctx.layout.started_record, rec.pid)
    return _finish(out.done(f"Stopped the gateway (pid {rec.pid}, SIGTERM)"), ctx)


# ---------------------------------------------------------------- restart

DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h)?\s*$")


def parse_duration_ms(text: str) -> int:
    m = DURATION.match(text)
    if not m:
        raise UsageProblem(f"--wait {text!r}: use a duration such as 500, 500ms, 10s or 5m (0 waits indefinitely)")
    value, unit = int(m.group(1)), m.group(2) or "ms"
    return value * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]


def _restart_flags(force: bool, safe: bool, skip_deferral: bool, wait: str | None) -> dict[str, Any] | None:
    """The gateway.restart.request params the flags ask for (None: a plain restart)."""
    if skip_deferral and not safe:
        raise UsageProblem("--skip-deferral requires --safe")
    if wait is not None and (force or safe):
        raise UsageProblem("--wait is for plain restarts: it cannot be combined with --force or --safe")
    if force and safe:
        raise UsageProblem("--force and --safe ask for opposite restarts; choose one")
    if not (force or safe or wait is not None):
        return None
    params: dict[str, Any] = {"reason": "openclaw gateway restart"}
    if safe:
        params["safe"] = True
        if skip_deferral:
            params["skipDeferral"] = True
    elif force:
        params["restartIntent"] = {"force": True}
    else:
        assert wait is not None
        params["restartIntent"] = {"waitMs": parse_duration_ms(wait)}
    return params


def restart(paths: Paths, platform: str | None, system: bool, *, force: bool, safe: bool, skip_deferral: bool,
            wait: str | None, preserve_definition: bool) -> Outcome:
    out = Outcome("restart")
    try:
        params = _restart_flags(force, safe, skip_deferral, wait)
    except UsageProblem as exc:
        return out.fail(str(exc), ExitCode.USAGE)
    out, ctx, view = _begin("restart", paths, platform, system)
    if ctx is None or view is None:
        return out
    if preserve_definition:
        out.extra["preserveDefinition"] = True
        out.say("The service definition is kept as it is (restart never rewrites it).")
    if params is not None:
        return _finish(_restart_rpc(out, ctx, view, params), ctx)
    if view.manager_available and view.installed:
        out.via = ctx.manager.name
        res = ctx.manager.restart()
        if not res.ok:
            return _finish(_manager_failure(out, ctx, f"{ctx.manager.name} could not restart the service: {res.describe()}"), ctx)
        state = wait_state(ctx.manager, {"running"})
        out.pid = state.pid
        if state.state != "running":
            return _finish(_manager_failure(out, ctx, f"the service did not reach running within {STATE_WAIT_S:.0f} s (state {state.state or 'unknown'})"), ctx)
        return _finish(out.done(f"Restarted the gateway service ({ctx.manager.name}" + (f", pid {state.pid})" if state.pid else ")")), ctx)
    rec = running_instance(paths)
    if rec is None:
        if view.manager_available:
            return _finish(out.fail("The gateway is not running and the service is not installed.",
                                    hints=[f"`{ctx.cli} gateway install` installs and starts it"]), ctx)
        out.say("The gateway was not running: starting it.")
        return _finish(_start_process(out, ctx, view), ctx)
    return _finish(_restart_signal(out, ctx, view, rec.pid), ctx)


def _restart_signal(out: Outcome, ctx: ServiceContext, view: ServiceView, pid: int) -> Outcome:
    out.via = "process"
    out.pid = pid
    try:
        config = load_config(ctx.paths.config_path).data
    except ConfigRefusal:
        config = {}
    if config_value(config, "commands.restart") is False:
        return out.fail("commands.restart is false in the config: this gateway refuses in-process restarts (SIGUSR1).",
                        hints=[f"`{ctx.cli} gateway stop` then `{ctx.cli} gateway start`"])
    creds = gateway_credentials(ctx.paths, _service_env(ctx, view))
    rec = running_instance(ctx.paths)
    before = probe(rec, creds, 5.0) if rec is not None else None
    old_frontend = frontend_pid(pid)
    problem = send(pid, signal.SIGUSR1)
    if problem is not None:
        return out.fail(f"cannot restart the gateway: {problem}")
    generation = before.generation + 1 if before is not None and before.ok and before.generation is not None else None
    ready = wait_ready(ctx.paths, creds, STATE_WAIT_S, pid=pid, min_generation=generation, not_frontend=old_frontend)
    return _report_restart(out, ready, before, "SIGUSR1 (in-process restart)")


def _service_env(ctx: ServiceContext, view: ServiceView) -> dict[str, str] | None:
    try:
        definition = read_definition(ctx.layout) if view.installed else None
    except ValueError:
        return None
    return definition_env(definition) if definition is not None else None


def _connect_admin(url: str, creds: Credentials, tls_sha256: str | None) -> GatewayClient:
    """An operator.admin connection; a connect that timed out is tried once more (nothing was sent yet)."""
    for attempt in (1, 2):
        client = GatewayClient(url, token=creds.token, password=creds.password, tls_fingerprint=tls_sha256,
                               timeout_s=10.0, client_id="cli", mode="cli", scopes=[scopes.ADMIN])
        try:
            client.connect()
            return client
        except TransportError as exc:
            client.close()
            if attempt == 2 or exc.kind != "timeout":
                raise
    raise AssertionError("unreachable")


def _restart_rpc(out: Outcome, ctx: ServiceContext, view: ServiceView, params: dict[str, Any]) -> Outcome:
    out.via = "rpc"
    rec = running_instance(ctx.paths)
    if rec is None:
        return out.fail("The gateway is not running: --safe/--force/--wait restart a running gateway.",
                        hints=[f"`{ctx.cli} gateway start` starts it"])
    out.pid = rec.pid
    creds = gateway_credentials(ctx.paths, _service_env(ctx, view))
    before = probe(rec, creds, 5.0)
    params["target"] = {"pid": rec.pid, "ownerId": "openclaw-cli", "port": rec.port}
    client: GatewayClient | None = None
    try:
        client = _connect_admin(record_url(rec), creds, rec.tls_sha256)
        answer = client.call("gateway.restart.request", params)
    except (TransportError, RpcError) as exc:
        message = exc.message if isinstance(exc, TransportError) else f"{exc.error.get('code')}: {exc.error.get('message')}"
        return out.fail(f"gateway.restart.request failed: {message}",
                        hints=[f"credentials looked for in: {', '.join(creds.looked_in)}"] if isinstance(exc, RpcError) else [])
    finally:
        if client is not None:
            client.close()
    restart_info = (answer or {}).get("restart") or {}
    out.extra["request"] = {"params": {k: v for k, v in params.items() if k != "target"}, "status": (answer or {}).get("status"),
                            "generation": restart_info.get("generation"), "coalesced": restart_info.get("coalesced")}
    if restart_info.get("coalesced"):
        out.say(f"The request joined the restart of generation {restart_info.get('generation')} "
                f"(restart cooldown: {restart_info.get('cooldownMsApplied')} ms left).")
    ready = wait_ready(ctx.paths, creds, STATE_WAIT_S, pid=rec.pid, min_generation=restart_info.get("generation"))
    if ready.ok and restart_info.get("coalesced") and before.generation is not None \
            and before.generation >= (restart_info.get("generation") or 0):
        out.extra["ready"] = ready.to_json()
        return out.done(f"Not restarted again: the gateway restarted (generation {before.generation}) within the restart "
                        "cooldown, and this request joined that restart.")
    return _report_restart(out, ready, before, "gateway.restart.request")


def _report_restart(out: Outcome, ready: Readiness, before: Any, how: str) -> Outcome:
    out.extra["ready"] = ready.to_json()
    if before is not None and before.ok:
        out.extra["before"] = {"bootId": before.boot_id, "generation": before.generation, "frontendPid": before.frontend_pid}
    if not ready.ok:
        if ready.exited:
            return out.fail(f"the gateway exited during the restart ({how})")
        return out.fail(f"the gateway did not answer after the restart within {STATE_WAIT_S:.0f} s ({how})")
    if ready.note:
        out.say(f"Note: {ready.note}")
    p = ready.probe
    gen = ""
    if p is not None and p.generation is not None:
        gen = f", generation {before.generation} → {p.generation}" if before is not None and before.generation is not None else f", generation {p.generation}"
    return out.done(f"Restarted the gateway via {how}: supervisor pid {out.pid} kept{gen}")
