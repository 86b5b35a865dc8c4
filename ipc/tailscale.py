"""The `tailscale` CLI, as the gateway drives it (issue 10 §4).

* `tailscale status --json` → the tailnet IPv4 (`Self.TailscaleIPs`) and MagicDNS name (`Self.DNSName`),
  for `gateway.bind: tailnet` and the start banner; `BackendState` must be `Running`.
* `tailscale serve|funnel --bg --yes <port>` exposes the loopback port at start
  (`--tailscale serve|funnel`, `gateway.tailscale.mode`); `tailscale serve|funnel reset` undoes it at
  exit when `--tailscale-reset-on-exit` / `gateway.tailscale.resetOnExit` asks.

Every call is bounded (TAILSCALE_TIMEOUT_S) and every failure is a TailscaleError with a message a
person can act on; the caller turns it into exit 1 (StartFailure).
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass

from .errors import ConfigRefusal, StartFailure

MODES = ("off", "serve", "funnel")
TAILSCALE_TIMEOUT_S = 10.0  # OPENCLAW_TAILSCALE_TIMEOUT_S overrides it (read when tailscale is used)
TIMEOUT_ENV = "OPENCLAW_TAILSCALE_TIMEOUT_S"
MAX_TIMEOUT_S = 300.0
INSTALL_HINT = "Install Tailscale (https://tailscale.com/download) and run `tailscale up`."


class TailscaleError(StartFailure):
    """The tailscale CLI is missing, not logged in, or refused a command (exit 1)."""


@dataclass(frozen=True)
class TailnetStatus:
    ipv4: str | None
    ipv6: str | None
    dns_name: str | None  # MagicDNS name without the trailing dot


def refuse_unsafe_auth(mode: str, auth_mode: str) -> None:
    """As upstream: Funnel puts the gateway on the public internet, so it needs password auth; serve
    puts it on the tailnet, so it needs some auth. ConfigRefusal (exit 78; a reload is refused)."""
    if mode == "funnel" and auth_mode != "password":
        raise ConfigRefusal(
            "tailscale funnel requires gateway auth mode=password (set gateway.auth.password or "
            "OPENCLAW_GATEWAY_PASSWORD, or pass --password)"
        )
    if mode == "serve" and auth_mode == "none":
        raise ConfigRefusal(
            "gateway.auth.mode=none cannot be used with gateway.tailscale.mode=serve; configure token or "
            "password auth before exposing the gateway through Tailscale"
        )


def timeout_s() -> float:
    """The bound on one tailscale call; a bad override is a clear failure, never unbounded."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return TAILSCALE_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT_S):
        raise TailscaleError(f"openclaw gateway: Invalid {TIMEOUT_ENV}: {raw[:40]!r} (seconds, more than 0, at most {MAX_TIMEOUT_S:g}).")
    return value


def _binary() -> str:
    found = shutil.which("tailscale")
    if found is None:
        raise TailscaleError(f"openclaw gateway: the tailscale CLI is not on PATH. {INSTALL_HINT}")
    return found


def _run(args: list[str], limit_s: float | None = None) -> subprocess.CompletedProcess[str]:
    """One bounded call (`limit_s`, else OPENCLAW_TAILSCALE_TIMEOUT_S / 10 s). It runs in its own process
    group, killed whole at the deadline: a wrapper script's hung child would otherwise be left behind
    (holding the output pipe)."""
    limit = timeout_s() if limit_s is None else limit_s
    argv = [_binary(), *args]
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise TailscaleError(f"openclaw gateway: cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TailscaleError(
            f"openclaw gateway: `tailscale {' '.join(args)}` did not answer within {limit:g} s."
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this call created (start_new_session)
    except OSError:
        pass
    proc.kill()
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:300] if lines else ""


def status(limit_s: float | None = None) -> TailnetStatus:
    """Ask `tailscale status --json`; refuse unless the backend is Running with an address."""
    proc = _run(["status", "--json"], limit_s)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        detail = _first_line(proc.stderr) or _first_line(proc.stdout) or f"exit {proc.returncode}"
        raise TailscaleError(f"openclaw gateway: `tailscale status --json` failed: {detail}. {INSTALL_HINT}") from None
    if not isinstance(data, dict):
        raise TailscaleError("openclaw gateway: `tailscale status --json` did not return a JSON object.")
    state = data.get("BackendState")
    if state != "Running":
        raise TailscaleError(
            f"openclaw gateway: Tailscale is not logged in or not running (BackendState: {state or 'unknown'}). "
            "Run `tailscale up` (or `tailscale login`) and try again."
        )
    me = data.get("Self") if isinstance(data.get("Self"), dict) else {}
    ipv4 = ipv6 = None
    ips = me.get("TailscaleIPs")
    for raw in ips if isinstance(ips, list) else []:
        try:
            ip = ipaddress.ip_address(str(raw))
        except ValueError:
            continue
        if ip.version == 4 and ipv4 is None:
            ipv4 = str(ip)
        elif ip.version == 6 and ipv6 is None:
            ipv6 = str(ip)
    dns = me.get("DNSName")
    dns_name = dns.rstrip(".") if isinstance(dns, str) and dns.strip(".") else None
    return TailnetStatus(ipv4=ipv4, ipv6=ipv6, dns_name=dns_name)


def tailnet_bind_host() -> tuple[str, TailnetStatus]:
    """The address `gateway.bind: tailnet` listens on (the tailnet IPv4, else IPv6)."""
    st = status()
    host = st.ipv4 or st.ipv6
    if host is None:
        raise TailscaleError("openclaw gateway: Tailscale is running but reports no tailnet address (Self.TailscaleIPs).")
    return host, st


def expose_argv(mode: str, port: int) -> list[str]:
    return [mode, "--bg", "--yes", str(port)]


def reset_argv(mode: str) -> list[str]:
    return [mode, "reset"]


def expose(mode: str, port: int) -> None:
    """`tailscale serve|funnel --bg --yes <port>`: proxies https://<MagicDNS>/ to 127.0.0.1:<port>."""
    proc = _run(expose_argv(mode, port))
    if proc.returncode != 0:
        detail = _first_line(proc.stderr) or _first_line(proc.stdout) or f"exit {proc.returncode}"
        raise TailscaleError(f"openclaw gateway: `tailscale {mode}` refused: {detail}")


def reset(mode: str) -> str | None:
    """`tailscale serve|funnel reset`; returns an error text instead of raising (it runs at exit)."""
    try:
        proc = _run(reset_argv(mode))
    except TailscaleError as exc:
        return str(exc)
    if proc.returncode != 0:
        return f"`tailscale {mode} reset` failed: {_first_line(proc.stderr) or f'exit {proc.returncode}'}"
    return None
