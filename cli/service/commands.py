"""The service commands: `openclaw gateway install|start|stop|restart|uninstall`, their `openclaw service ...`
aliases, `openclaw setup` and `openclaw onboard`. Cheap to import: each command imports its module
when it runs."""

from __future__ import annotations

from typing import Any

import typer

from .. import options as gc
from ..globals import OPTIONS

JsonOpt = typer.Option(False, "--json", help="Output JSON.")
SystemOpt = typer.Option(False, "--system", help="The system unit in /etc/systemd/system (linux) instead of the user unit.")
PlatformOpt = typer.Option(
    None, "--platform", help="linux (systemd) | darwin (launchd) | win32 (Scheduled Task); default: this host. "
    "Another platform's files are written under the same home, for review and tests.",
)


def _paths() -> Any:
    from openclaw.ipc.paths import resolve_paths

    return resolve_paths(OPTIONS.effective_profile)


def _emit(outcome: Any, as_json: bool) -> None:
    from .outcome import emit

    emit(outcome, as_json)


def install(
    port: int | None = typer.Option(None, "--port", help="Gateway port (default: gateway.port, else the profile's port)."),
    token: str | None = typer.Option(None, "--token", help="Gateway token, stored 0600 outside the definition."),
    runtime: str = typer.Option("python", "--runtime", help="Daemon runtime: python (the only one here)."),
    runtime_path: str | None = typer.Option(None, "--runtime-path", help="Not supported (refused): the service runs the installed openclaw."),
    wrapper: str | None = typer.Option(None, "--wrapper", help="Absolute path of a program to run openclaw through."),
    force: bool = typer.Option(False, "--force", help="Rewrite the definition if already installed (restarts a running service)."),
    allow_unconfigured: bool = typer.Option(False, "--allow-unconfigured", help="Install even without gateway.mode=local in the config."),
    json_: bool = JsonOpt, system: bool = SystemOpt, platform: str | None = PlatformOpt,
) -> None:
    """Install and start the Gateway service (launchd/systemd/schtasks)."""
    from .install import install as run

    _emit(run(_paths(), platform, system, port=port, token=token, runtime=runtime, runtime_path=runtime_path,
              wrapper=wrapper, force=force, allow_unconfigured=allow_unconfigured), json_)


def uninstall(json_: bool = JsonOpt, system: bool = SystemOpt, platform: str | None = PlatformOpt) -> None:
    """Uninstall the Gateway service (launchd/systemd/schtasks)."""
    from .install import uninstall as run

    _emit(run(_paths(), platform, system), json_)


def start(json_: bool = JsonOpt, system: bool = SystemOpt, platform: str | None = PlatformOpt) -> None:
    """Start the Gateway service (or, with no service manager, the gateway as a detached process)."""
    from .lifecycle import start as run

    _emit(run(_paths(), platform, system), json_)


def stop(
    disable: bool = typer.Option(False, "--disable", help="Also keep the service manager from starting it again until the next start."),
    force: bool = typer.Option(False, "--force", help="Accepted for compatibility: stop never asks for confirmation."),
    json_: bool = JsonOpt, system: bool = SystemOpt, platform: str | None = PlatformOpt,
) -> None:
    """Stop the Gateway service (or this profile's running gateway)."""
    from .lifecycle import stop as run

    _emit(run(_paths(), platform, system, disable=disable, force=force), json_)


def restart(
    force: bool = typer.Option(False, "--force", help="Restart now (gateway.restart.request with restartIntent.force)."),
    safe: bool = typer.Option(False, "--safe", help="Restart after active work drains (gateway.restart.request safe)."),
    skip_deferral: bool = typer.Option(False, "--skip-deferral", help="With --safe: skip the active-work deferral."),
    wait: str | None = typer.Option(None, "--wait", help="Wait before restarting (ms, 10s, 5m); not with --force/--safe."),
    preserve_definition: bool = typer.Option(False, "--preserve-definition", help="Keep the service definition (restart never rewrites it)."),
    json_: bool = JsonOpt, system: bool = SystemOpt, platform: str | None = PlatformOpt,
) -> None:
    """Restart the Gateway service (or this profile's gateway in-process)."""
    from .lifecycle import restart as run

    _emit(run(_paths(), platform, system, force=force, safe=safe, skip_deferral=skip_deferral, wait=wait,
              preserve_definition=preserve_definition), json_)


def service_status(
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    timeout: int = gc.TimeoutOpt, json_: bool = gc.JsonOpt,
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip the RPC probe."),
    require_rpc: bool = typer.Option(False, "--require-rpc", help="Exit 1 when the RPC probe fails."),
    deep: bool = typer.Option(False, "--deep", help="Also list other gateway services and gateways on this host."),
) -> None:
    """Service and gateway status (same as `gateway status`)."""
    from ..status_cmd import status_cmd

    status_cmd(url, token, password, timeout, json_, not no_probe, require_rpc, deep)


def setup(
    port: int | None = typer.Option(None, "--port", help="gateway.port (default: the profile's port)."),
    token: str | None = typer.Option(None, "--token", help="gateway.auth.token (default: a generated one)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing config (the old one is kept as .bak)."),
    json_: bool = JsonOpt,
) -> None:
    """Write a minimal local config (gateway.mode=local, the profile's port, a generated token)."""
    from .setup_config import setup as run

    _emit(run(_paths(), port=port, token=token, force=force), json_)


def onboard(
    mode: str | None = typer.Option(None, "--mode", help="local (the only mode this CLI sets up)."),
    install_daemon: bool = typer.Option(False, "--install-daemon", help="Then install and start the gateway service."),
    non_interactive: bool = typer.Option(False, "--non-interactive", help="Accepted: onboarding here never prompts."),
    port: int | None = typer.Option(None, "--port", help="gateway.port for a new config."),
    token: str | None = typer.Option(None, "--token", help="gateway.auth.token for a new config."),
    force: bool = typer.Option(False, "--force", help="Replace an existing config; reinstall the service."),
    runtime: str = typer.Option("python", "--runtime", help="Daemon runtime for --install-daemon: python."),
    json_: bool = JsonOpt, system: bool = SystemOpt, platform: str | None = PlatformOpt,
) -> None:
    """Set up a local gateway non-interactively: setup, then (--install-daemon) gateway install."""
    from openclaw.ipc.errors import ExitCode

    from .install import install as run_install
    from .outcome import Outcome
    from .setup_config import onboard_mode_problem
    from .setup_config import setup as run_setup

    problem = onboard_mode_problem(mode)
    if problem:
        _emit(Outcome("onboard").fail(problem, ExitCode.USAGE), json_)
        return
    paths = _paths()
    steps = [run_setup(paths, port=port, token=token, force=force)]
    if steps[0].ok and install_daemon:
        steps.append(run_install(paths, platform, system, port=None, token=None, runtime=runtime, runtime_path=None,
                                 wrapper=None, force=force, allow_unconfigured=False))
    elif steps[0].ok:
        steps[0].hints.append(f"`{'openclaw --profile ' + paths.profile if paths.profile else 'openclaw'} gateway install` "
                              "runs it as a service (or `onboard --install-daemon`).")
    failed = next((s for s in steps if not s.ok), None)
    combined = Outcome("onboard", ok=failed is None, error=failed.error if failed else None,
                       exit_code=failed.exit_code if failed else 0, extra={"steps": [s.to_json() for s in steps]})
    for s in steps:
        combined.lines.extend(s.lines)
        combined.hints.extend(s.hints)
    _emit(combined, json_)


def register(app: typer.Typer, gateway_app: typer.Typer) -> None:
    """Add the service commands to the root app and the `gateway` app."""
    for name, fn in (("install", install), ("start", start), ("stop", stop), ("restart", restart), ("uninstall", uninstall)):
        gateway_app.command(name)(fn)
    service_app = typer.Typer(help="Manage the Gateway service (aliases of the `gateway` service commands).",
                              no_args_is_help=True, pretty_exceptions_enable=False)
    service_app.command("status")(service_status)
    for name, fn in (("start", start), ("stop", stop), ("restart", restart), ("install", install), ("uninstall", uninstall)):
        service_app.command(name)(fn)
    app.add_typer(service_app, name="service")
    app.command("setup")(setup)
    app.command("onboard")(onboard)
