"""The `openclaw` command: root options, then one sub-app per noun."""

from __future__ import annotations

import typer
from openclaw.ipc.version import COMPAT_VERSION, GATEWAY_VERSION

from . import gateway_run as gr
from . import help_render
from . import options as gc
from .channel_apps import register as register_channel_commands
from .config_app import config_app
from .globals import OPTIONS
from .profile_guard import check_profile_or_exit
from .service.commands import register as register_service_commands

help_render.install()

app = typer.Typer(
    name="openclaw",
    help="OpenClaw Gateway: run it, and talk to it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gateway_app = typer.Typer(
    help="Run, inspect and query the Gateway (no subcommand = run).",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
)
app.add_typer(gateway_app, name="gateway")
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        print(f"OpenClaw Gateway (python) {GATEWAY_VERSION}, protocol-compatible with openclaw {COMPAT_VERSION}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", help="Use ~/.openclaw-<name> for state and config."),
    dev: bool = typer.Option(False, "--dev", help="Dev profile: ~/.openclaw-dev, port 19001."),
    no_color: bool = typer.Option(False, "--no-color", help="Disable colours (NO_COLOR is honoured too)."),
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    OPTIONS.profile = profile
    OPTIONS.dev = dev
    OPTIONS.color = not no_color
    if ctx.invoked_subcommand != "gateway":  # the gateway group checks for its client verbs
        check_profile_or_exit()


@gateway_app.callback()
def gateway(
    ctx: typer.Context,
    port: int | None = gr.PortOpt, bind: str | None = gr.BindOpt, auth: str | None = gr.AuthOpt,
    token: str | None = gr.TokenOpt, password: str | None = gr.PasswordOpt, password_file: str | None = gr.PasswordFileOpt,
    allow_unconfigured: bool = gr.AllowUnconfiguredOpt, dev: bool = gr.DevOpt, reset: bool = gr.ResetOpt,
    force: bool = gr.ForceOpt, verbose: bool = gr.VerboseOpt, ws_log: str = gr.WsLogOpt, compact: bool = gr.CompactOpt,
    raw_stream: bool = gr.RawStreamOpt, raw_stream_path: str | None = gr.RawStreamPathOpt,
    tailscale: str | None = gr.TailscaleOpt, tailscale_reset_on_exit: bool = gr.TailscaleResetOpt,
) -> None:
    """Run the Gateway in the foreground (same as `gateway run`)."""
    if ctx.invoked_subcommand not in (None, "run"):
        check_profile_or_exit()  # `gateway [run]` is refused by the gateway itself (exit 78)
    if ctx.invoked_subcommand is None:
        gr.run_gateway(
            port=port, bind=bind, auth=auth, token=token, password=password, password_file=password_file,
            allow_unconfigured=allow_unconfigured, dev=dev, reset=reset, force=force, verbose=verbose,
            ws_log=ws_log, compact=compact, raw_stream=raw_stream, raw_stream_path=raw_stream_path,
            tailscale=tailscale, tailscale_reset_on_exit=tailscale_reset_on_exit,
        )


@gateway_app.command("run")
def gateway_run(
    port: int | None = gr.PortOpt, bind: str | None = gr.BindOpt, auth: str | None = gr.AuthOpt,
    token: str | None = gr.TokenOpt, password: str | None = gr.PasswordOpt, password_file: str | None = gr.PasswordFileOpt,
    allow_unconfigured: bool = gr.AllowUnconfiguredOpt, dev: bool = gr.DevOpt, reset: bool = gr.ResetOpt,
    force: bool = gr.ForceOpt, verbose: bool = gr.VerboseOpt, ws_log: str = gr.WsLogOpt, compact: bool = gr.CompactOpt,
    raw_stream: bool = gr.RawStreamOpt, raw_stream_path: str | None = gr.RawStreamPathOpt,
    tailscale: str | None = gr.TailscaleOpt, tailscale_reset_on_exit: bool = gr.TailscaleResetOpt,
) -> None:
    """Run the Gateway in the foreground."""
    gr.run_gateway(
        port=port, bind=bind, auth=auth, token=token, password=password, password_file=password_file,
        allow_unconfigured=allow_unconfigured, dev=dev, reset=reset, force=force, verbose=verbose,
        ws_log=ws_log, compact=compact, raw_stream=raw_stream, raw_stream_path=raw_stream_path,
        tailscale=tailscale, tailscale_reset_on_exit=tailscale_reset_on_exit,
    )


@gateway_app.command("health")
def gateway_health(
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    timeout: int = gc.TimeoutOpt, json_: bool = gc.JsonOpt, tls_fingerprint: str | None = gc.TlsFingerprintOpt,
) -> None:
    """Fetch Gateway health over the WS protocol."""
    from .gateway_client_cmds import health_cmd

    health_cmd(url, token, password, timeout, json_, tls_fingerprint=tls_fingerprint)


@gateway_app.command("call")
def gateway_call(
    method: str = typer.Argument(..., help="Method name, e.g. status"),
    params: str = typer.Option("{}", "--params", help="JSON object of params."),
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    timeout: int = gc.TimeoutOpt, json_: bool = gc.JsonOpt,
    expect_final: bool = typer.Option(False, "--expect-final", help="Wait for the final answer of two-phase methods."),
    tls_fingerprint: str | None = gc.TlsFingerprintOpt,
) -> None:
    """Call a Gateway method and print its payload."""
    from .gateway_client_cmds import call_cmd

    call_cmd(method, params, url, token, password, timeout, json_, expect_final, tls_fingerprint=tls_fingerprint)


@gateway_app.command("status")
def gateway_status(
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    timeout: int = gc.TimeoutOpt, json_: bool = gc.JsonOpt,
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip the RPC probe."),
    require_rpc: bool = typer.Option(False, "--require-rpc", help="Exit 1 when the RPC probe fails (not with --no-probe)."),
    deep: bool = typer.Option(False, "--deep", help="Also list other gateway-like services and every registered gateway."),
    port: int | None = typer.Option(None, "--port", help="Local gateway port (probe ws://127.0.0.1:<port>)."),
    tls_fingerprint: str | None = gc.TlsFingerprintOpt,
) -> None:
    """Service manager view, config, port listeners, and an RPC probe (connect + status)."""
    from .status_cmd import status_cmd

    status_cmd(url, token, password, timeout, json_, not no_probe, require_rpc, deep, port, tls_fingerprint=tls_fingerprint)


@gateway_app.command("probe")
def gateway_probe(
    url: str | None = typer.Option(None, "--url", help="Explicit Gateway WebSocket URL (still probes localhost)."),
    token: str | None = typer.Option(None, "--token", help="Gateway token (applies to all probes)."),
    password: str | None = typer.Option(None, "--password", help="Gateway password (applies to all probes)."),
    timeout: int = typer.Option(3000, "--timeout", help="Overall probe budget in ms."),
    json_: bool = gc.JsonOpt,
    port: int | None = typer.Option(None, "--port", help="Local Gateway port."),
    ssh: str | None = typer.Option(None, "--ssh", help="SSH target for a remote gateway tunnel (user@host or user@host:port)."),
    ssh_identity: str | None = typer.Option(None, "--ssh-identity", help="SSH identity file path."),
    ssh_auto: bool = typer.Option(False, "--ssh-auto", help="Derive an SSH target from Bonjour discovery (not supported here)."),
) -> None:
    """Probe every gateway this CLI knows: explicit, configured remote, local, other profiles, SSH tunnel."""
    from .probe_cmd import probe_cmd

    probe_cmd(url, token, password, timeout, json_, port, ssh, ssh_identity, ssh_auto)


DiscoverDomainOpt = typer.Option(
    None, "--domain", metavar="DOMAIN", help="Browse this DNS-SD domain (repeatable; local. = multicast). "
    "Default: local. plus discovery.wideArea.domain.",
)


@gateway_app.command("discover")
def gateway_discover(
    timeout: int = typer.Option(2000, "--timeout", help="How long to browse and resolve, in ms."),
    json_: bool = gc.JsonOpt,
    domain: list[str] | None = DiscoverDomainOpt,
    dns_server: str | None = typer.Option(
        None, "--dns-server", metavar="IP[:PORT]", help="DNS server for wide-area domains, ip[:port] "
        "(env OPENCLAW_DISCOVERY_DNS_SERVER; default: the system resolver).",
    ),
) -> None:
    """Find gateways announcing _openclaw-gw._tcp over multicast (local.) and wide-area DNS-SD."""
    from .discover_cmd import discover_cmd

    discover_cmd(timeout, json_, domain, dns_server)


@app.command("health")
def health(
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    timeout: int = gc.TimeoutOpt, json_: bool = gc.JsonOpt,
) -> None:
    """Gateway health (same as `gateway health`)."""
    from .gateway_client_cmds import health_cmd

    health_cmd(url, token, password, timeout, json_)


@app.command("status")
def status(
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    timeout: int = gc.TimeoutOpt, json_: bool = gc.JsonOpt,
) -> None:
    """Gateway status (same as `gateway status`)."""
    from .status_cmd import status_cmd

    status_cmd(url, token, password, timeout, json_, True, False)


@app.command("logs")
def logs(
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
    port: int | None = typer.Option(None, "--port", help="Local Gateway port."),
    timeout: int = typer.Option(30000, "--timeout", help="Timeout in ms."), json_: bool = gc.JsonOpt,
    limit: int | None = typer.Option(None, "--limit", help="Max lines to return (1..5000; default 200)."),
    tail: int | None = typer.Option(None, "--tail", hidden=True, help="Same as --limit."),
    max_bytes: int | None = typer.Option(None, "--max-bytes", help="Max bytes to read (default 250000)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    interval: int = typer.Option(1000, "--interval", help="Polling interval in ms with --follow."),
    plain: bool = typer.Option(False, "--plain", help="Plain text output (no ANSI styling)."),
    no_color: bool = typer.Option(False, "--no-color", help="Disable ANSI colors."),
    utc: bool = typer.Option(False, "--utc", help="Display timestamps in UTC."),
    local_time: bool = typer.Option(False, "--local-time", help="Display timestamps in local time (default)."),
    expect_final: bool = typer.Option(False, "--expect-final", hidden=True, help="Accepted for upstream compatibility."),
) -> None:
    """Tail the gateway's log (via logs.tail; from its file when the gateway is down)."""
    from .logs_cmd import LogsOptions, logs_cmd

    _ = (local_time, expect_final)
    logs_cmd(LogsOptions(
        url=url, token=token, password=password, port=port, timeout_ms=timeout, as_json=json_,
        limit=limit if limit is not None else tail, max_bytes=max_bytes, follow=follow, interval_ms=interval,
        plain=plain, no_color=no_color, utc=utc,
    ))


@app.command("dashboard")
def dashboard(
    no_open: bool = typer.Option(False, "--no-open", help="Print the URL; do not open a browser."),
    json_: bool = gc.JsonOpt,
) -> None:
    """Open the Control UI (prints its URL with the token in the URL fragment)."""
    from .dashboard_cmd import dashboard_cmd

    dashboard_cmd(no_open, json_)


@app.command("doctor")
def doctor(
    fix: bool = typer.Option(False, "--fix", help="Apply the safe repairs (permissions, stale records, unit drift)."),
    repair: bool = typer.Option(False, "--repair", help="Same as --fix."),
    json_: bool = gc.JsonOpt,
    deep: bool = typer.Option(False, "--deep", help="Also scan for other gateway services on this host."),
    non_interactive: bool = typer.Option(False, "--non-interactive", help="Never prompt (doctor never does)."),
    yes: bool = typer.Option(False, "--yes", help="Accept defaults without prompting (doctor never prompts)."),
) -> None:
    """Check this profile's gateway setup (config, port, records, permissions, token, logs, service) and repair what is safe."""
    from .doctor.runner import doctor_cmd

    doctor_cmd(fix=fix or repair, as_json=json_, deep=deep)


@app.command("agent")
def agent(
    message: str | None = typer.Option(None, "--message", "-m", help="The message to send."),
    message_file: str | None = typer.Option(None, "--message-file", help="Read the message from a file (max 4 MiB)."),
    agent_id: str | None = typer.Option(None, "--agent", help="Agent id (default: main)."),
    session_key: str | None = typer.Option(None, "--session-key", help="Session key, e.g. agent:main:main."),
    session_id: str | None = typer.Option(None, "--session-id", help="Session id."),
    model: str | None = typer.Option(None, "--model", help="provider/model override for this run."),
    thinking: str | None = typer.Option(None, "--thinking", help="Thinking level (off|minimal|low|medium|high|...)."),
    timeout: int | None = typer.Option(None, "--timeout", help="Run timeout in seconds (default 600; 0 = none)."),
    json_: bool = gc.JsonOpt,
    url: str | None = gc.UrlOpt, token: str | None = gc.TokenOpt, password: str | None = gc.PasswordOpt,
) -> None:
    """Run one agent turn through the Gateway and print the reply (streams to a terminal)."""
    from .agent_cmd import agent_cmd

    agent_cmd(message, message_file, agent_id, session_key, session_id, model, thinking, timeout, json_, url, token, password)


@app.command("sessions")
def sessions(
    json_: bool = gc.JsonOpt,
    agent: str | None = typer.Option(None, "--agent", help="Agent whose store to list (default main)."),
    all_agents: bool = typer.Option(False, "--all-agents", help="List every agent's store."),
    active: int | None = typer.Option(None, "--active", help="Only sessions updated in the last N minutes."),
    limit: str | None = typer.Option(None, "--limit", help="Max rows (default 100) or 'all'."),
    store: str | None = typer.Option(None, "--store", help="Read this SQLite store file instead."),
    verbose: bool = typer.Option(False, "--verbose", hidden=True, help="Accepted for upstream compatibility."),
) -> None:
    """List stored sessions (reads the agents' SQLite stores directly; no gateway needed)."""
    from .sessions_cmd import sessions_cmd

    _ = verbose
    sessions_cmd(as_json=json_, agent=agent, all_agents=all_agents, active=active, limit_raw=limit, store=store)


register_channel_commands(app)  # pairing list|approve, channels list|status, message send
register_service_commands(app, gateway_app)  # gateway install|start|stop|restart|uninstall, service *, setup, onboard


def run() -> None:
    app()
