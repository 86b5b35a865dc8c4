"""`openclaw gateway [run]`: exec the supervisor in the foreground (same PID)."""

from __future__ import annotations

import os
import sys

import typer

from openclaw.ipc import launch
from openclaw.ipc.errors import ExitCode

from .globals import OPTIONS
from .output import fail

AUTH_CHOICES = ("none", "token", "password", "trusted-proxy")
WS_LOG_CHOICES = ("auto", "full", "compact")
TAILSCALE_CHOICES = ("off", "serve", "funnel")


def run_gateway(
    *,
    port: int | None,
    bind: str | None,
    auth: str | None,
    token: str | None,
    password: str | None,
    password_file: str | None,
    allow_unconfigured: bool,
    dev: bool,
    reset: bool,
    force: bool,
    verbose: bool,
    ws_log: str,
    compact: bool,
    raw_stream: bool,
    raw_stream_path: str | None,
    tailscale: str | None = None,
    tailscale_reset_on_exit: bool = False,
) -> None:
    if auth is not None and auth not in AUTH_CHOICES:
        fail('Invalid --auth. Use "none", "token", "password", or "trusted-proxy".', ExitCode.FAILURE)
    if compact:
        ws_log = "compact"
    if ws_log not in WS_LOG_CHOICES:
        fail('Invalid --ws-log. Use "auto", "full", or "compact".', ExitCode.FAILURE)
    if port is not None and not 0 <= port <= 65535:
        fail(f"Invalid --port {port}: use 0..65535.", ExitCode.FAILURE)
    if tailscale is not None and tailscale not in TAILSCALE_CHOICES:
        fail('Invalid --tailscale. Use "off", "serve", or "funnel".', ExitCode.USAGE)
    if password is not None and password_file is not None:
        fail("Pass either --password or --password-file, not both.", ExitCode.FAILURE)
    opts = launch.LaunchOptions(
        profile=OPTIONS.profile,
        dev=dev or OPTIONS.dev,
        port=port,
        bind=bind,
        auth=auth,
        token=token,
        password=password,
        password_file=password_file,
        allow_unconfigured=allow_unconfigured,
        reset=reset,
        force=force,
        verbose=verbose,
        ws_log=ws_log,
        raw_stream=raw_stream or raw_stream_path is not None,
        raw_stream_path=raw_stream_path,
        tailscale=tailscale,
        tailscale_reset_on_exit=tailscale_reset_on_exit,
    )
    env = dict(os.environ)
    env[launch.LAUNCH_ENV] = launch.encode(opts).decode()
    if token is not None:
        env["OPENCLAW_GATEWAY_TOKEN"] = token  # spec: --token sets it for the process
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "openclaw.supervisor"], env)


PortOpt = typer.Option(None, "--port", help="Port for WS + HTTP (default: gateway.port or 18789; 0 = any free port).")
BindOpt = typer.Option(None, "--bind", help="loopback | lan | tailnet | auto | custom")
AuthOpt = typer.Option(None, "--auth", help='Auth mode override: "none", "token", "password", "trusted-proxy".')
TokenOpt = typer.Option(None, "--token", help="Shared token (sets OPENCLAW_GATEWAY_TOKEN for the process).")
PasswordOpt = typer.Option(None, "--password", help="Shared password.")
PasswordFileOpt = typer.Option(None, "--password-file", help="Read the shared password from a file.")
AllowUnconfiguredOpt = typer.Option(False, "--allow-unconfigured", help="Start without gateway.mode=local.")
DevOpt = typer.Option(False, "--dev", help="Dev profile: ~/.openclaw-dev, port 19001; creates the dev config if missing.")
ResetOpt = typer.Option(False, "--reset", help="With --dev: reset the dev config and state first.")
ForceOpt = typer.Option(False, "--force", help="Stop whatever listens on the port first (TERM, then KILL).")
VerboseOpt = typer.Option(False, "--verbose", help="Mirror debug logs to stdout.")
WsLogOpt = typer.Option("auto", "--ws-log", help="WebSocket frame logging: auto | full | compact.")
CompactOpt = typer.Option(False, "--compact", help="Alias for --ws-log compact.")
RawStreamOpt = typer.Option(False, "--raw-stream", help="Log raw model stream events as JSONL.")
RawStreamPathOpt = typer.Option(None, "--raw-stream-path", help="Where --raw-stream writes (implies --raw-stream).")
TailscaleOpt = typer.Option(None, "--tailscale", help="Expose via Tailscale: off | serve | funnel (gateway.tailscale.mode).")
TailscaleResetOpt = typer.Option(
    False, "--tailscale-reset-on-exit", help="Reset the Tailscale serve/funnel config on shutdown."
)
