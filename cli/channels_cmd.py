"""`openclaw channels list | status`: the chat channels of the config, and their live state.

`list` reads the config only (every configured account, disabled ones marked). `status` asks the
running gateway (`channels.status {probe, timeoutMs}`; with `--probe` each worker checks its link,
e.g. Telegram getMe) and prints upstream's shapes; when the gateway cannot be reached it says so
and prints a config-only summary instead (seed 002), exit 0 like upstream.

Exit codes: 0 shown (live or config-only); 1 the config file cannot be read; 2 bad usage.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from openclaw.ipc import scopes
from openclaw.ipc.channels_config import CHANNEL_KINDS, channel_accounts, label, telegram_token
from openclaw.ipc.config_file import ConfigFileError, load_config
from openclaw.ipc.errors import ExitCode
from openclaw.ipc.paths import resolve_paths

from .client import GatewayClient, RpcError, TransportError
from .globals import OPTIONS
from .output import fail, print_json, style
from .target import CredentialsRequired, resolve_target

NO_CHANNELS_LINE = "- no configured chat channels (add one under channels.* in the config, e.g. channels.telegram)"
DOCS_PATHS = {"telegram": "/channels/telegram"}
MAX_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class ConfiguredAccount:
    kind: str
    account_id: str
    section: dict[str, Any]
    enabled: bool

    @property
    def supported(self) -> bool:
        return self.kind in CHANNEL_KINDS

    def token_source(self) -> str | None:
        if self.kind != "telegram":
            return None
        return telegram_token(self.section, self.account_id, _env())[1]

    @property
    def configured(self) -> bool:
        if self.kind == "telegram":
            return telegram_token(self.section, self.account_id, _env())[0] is not None
        if self.kind == "webhook":
            return bool(self.section.get("secret"))
        return True

    @property
    def mode(self) -> str | None:
        if self.kind == "telegram":
            return "webhook" if self.section.get("webhookUrl") else "polling"
        return None


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "OPENCLAW_SKIP_CHANNELS"}


def _strip_enabled(config: dict[str, Any]) -> dict[str, Any]:
    """A copy in which no channel or account is disabled, to list the disabled ones too."""
    out = copy.deepcopy(config)
    channels = out.get("channels")
    if not isinstance(channels, dict):
        return out
    for cid, section in channels.items():
        if not isinstance(section, dict):
            continue
        section.pop("enabled", None)
        nested = section.get("accounts") if cid == "telegram" else (section if cid == "webhook" else None)
        if isinstance(nested, dict):
            for acct in nested.values():
                if isinstance(acct, dict):
                    acct.pop("enabled", None)
    return out


def configured_accounts(config: dict[str, Any]) -> list[ConfiguredAccount]:
    """Every account the config names (enabled or not), in channel_accounts' order."""
    env = _env()
    enabled = channel_accounts(config, env)
    out = []
    for cid, acct in channel_accounts(_strip_enabled(config), env).items():
        live = enabled.get(cid)
        out.append(ConfiguredAccount(acct.kind, acct.account_id, (live or acct).section, live is not None))
    return out


def _load() -> tuple[str, dict[str, Any]]:
    path = resolve_paths(OPTIONS.effective_profile).config_path
    try:
        loaded = load_config(path)
    except ConfigFileError as exc:
        fail(f"openclaw channels: {exc}", ExitCode.FAILURE)
    return str(path), loaded.data


def _account_label(kind: str, account_id: str, name: Any = None) -> str:
    base = account_id or "default"
    if isinstance(name, str) and name.strip():
        base = f"{base} ({name.strip()})"
    return f"{label(kind)[0]} {base}"


# ---------------------------------------------------------------------------------------- list


def list_cmd(as_json: bool) -> None:
    _, config = _load()
    accounts = configured_accounts(config)
    if as_json:
        chat: dict[str, Any] = {}
        for a in accounts:
            entry = chat.setdefault(a.kind, {
                "accounts": [], "label": label(a.kind)[0],
                **({"docsPath": DOCS_PATHS[a.kind]} if a.kind in DOCS_PATHS else {}),
                "installed": a.supported, "origin": "configured",
            })
            entry["accounts"].append(a.account_id)
        print_json({"chat": chat})
        return
    print(style("Chat channels:", bold=True))
    if not accounts:
        print(style(NO_CHANNELS_LINE, fg="dim"))
    for a in accounts:
        bits = ["installed" if a.supported else style("not installed", fg="yellow")]
        bits.append("configured" if a.configured else style("not configured", fg="yellow"))
        bits.append("enabled" if a.enabled else style("disabled", fg="red"))
        if a.token_source():
            bits.append("token=***")
        print(f"- {_account_label(a.kind, a.account_id, a.section.get('name'))}: {', '.join(bits)}")


# -------------------------------------------------------------------------------------- status


def status_cmd(probe: bool, as_json: bool, timeout_ms: int, channel: str | None) -> None:
    if timeout_ms <= 0 or timeout_ms > MAX_TIMEOUT_MS:
        fail(f"--timeout must be between 1 and {MAX_TIMEOUT_MS} ms", ExitCode.USAGE)
    wanted = channel.strip().lower() if channel and channel.strip().lower() != "all" else None
    try:
        target = resolve_target(None, None, None)
    except CredentialsRequired as exc:  # only with --url, which this command does not take
        fail(str(exc), ExitCode.USAGE)
    started = time.monotonic()
    client = GatewayClient(target.url, token=target.token, password=target.password, tls_fingerprint=target.tls_fingerprint, timeout_s=timeout_ms / 1000,
                           client_id="gateway-client", mode="backend", scopes=scopes.least_privilege("channels.status"),
                           display_name="gateway:channels.status")
    error: str | None = None
    payload: Any = None
    try:
        client.connect()
        left = max(100, timeout_ms - int((time.monotonic() - started) * 1000))
        params: dict[str, Any] = {"probe": probe, "timeoutMs": left}
        if wanted:
            params["channel"] = wanted
        client.deadline = time.monotonic() + left / 1000 + 2.0  # the gateway answers within timeoutMs (+ margin)
        payload = client.call("channels.status", params)
    except TransportError as exc:
        error = exc.message
    except RpcError as exc:
        error = f"{exc.error.get('code')}: {exc.error.get('message')}"
    finally:
        client.close()
    if error is None and isinstance(payload, dict):
        if as_json:
            print_json(payload)
        else:
            print("\n".join(gateway_lines(payload)))
        return
    config_only(error or "the gateway gave no channel status", wanted, as_json)


def time_ago(ms: float) -> str:
    """Upstream formatTimeAgo."""
    if ms < 0:
        return "unknown"
    seconds = round(ms / 1000)
    minutes = round(seconds / 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes}m ago"
    hours = round(minutes / 60)
    if hours < 48:
        return f"{hours}h ago"
    return f"{round(hours / 24)}d ago"


def _state_bits(a: dict[str, Any]) -> list[str]:
    bits = []
    if isinstance(a.get("enabled"), bool):
        bits.append("enabled" if a["enabled"] else "disabled")
    if isinstance(a.get("configured"), bool):
        bits.append("configured" if a["configured"] else "not configured")
    if a.get("linked") is True or (a.get("linked") is False and a.get("connected") is not True):
        bits.append("linked" if a["linked"] else "not linked")  # (the front-end's fallback entry says linked:false)
    if isinstance(a.get("lastError"), str) and a["lastError"]:
        bits.append(f"error:{a['lastError']}")
    return bits


def account_line(kind: str, kind_label: str, a: dict[str, Any], now_ms: float) -> str:
    bits = _state_bits(a)
    if isinstance(a.get("running"), bool):
        bits.append("running" if a["running"] else "stopped")
    if isinstance(a.get("connected"), bool):
        bits.append("connected" if a["connected"] else "disconnected")
    for key, name in (("lastInboundAt", "in"), ("lastOutboundAt", "out"), ("lastTransportActivityAt", "transport")):
        at = a.get(key)
        if isinstance(at, (int, float)) and not isinstance(at, bool) and at:
            bits.append(f"{name}:{time_ago(now_ms - at)}")
    if isinstance(a.get("mode"), str) and a["mode"]:
        bits.append(f"mode:{a['mode']}")
    bot = a.get("bot") if isinstance(a.get("bot"), dict) else {}
    probe = a.get("probe") if isinstance(a.get("probe"), dict) else {}
    probe_bot = probe.get("bot") if isinstance(probe.get("bot"), dict) else {}
    username = bot.get("username") or probe_bot.get("username")
    if isinstance(username, str) and username.strip():
        bits.append(f"bot:{username.strip() if username.strip().startswith('@') else '@' + username.strip()}")
    if isinstance(a.get("dmPolicy"), str) and a["dmPolicy"]:
        bits.append(f"dm:{a['dmPolicy']}")
    if isinstance(a.get("tokenSource"), str) and a["tokenSource"] not in ("", "none"):
        bits.append("token:***" + (" (unavailable)" if a.get("tokenStatus") == "configured_unavailable" else ""))
    if a.get("allowUnmentionedGroups") is True:
        bits.append("groups:unmentioned")
    if isinstance(probe.get("ok"), bool):
        bits.append("works" if probe["ok"] else "probe failed")
    if isinstance(a.get("restarts"), int) and a["restarts"] > 0:
        bits.append(f"restarts:{a['restarts']}")
    return f"- {kind_label} {a.get('accountId') or 'default'}: {', '.join(bits)}"


def gateway_lines(payload: dict[str, Any]) -> list[str]:
    lines = [style("Gateway reachable.", fg="green")]
    labels = payload.get("channelLabels") if isinstance(payload.get("channelLabels"), dict) else {}
    accounts = payload.get("channelAccounts") if isinstance(payload.get("channelAccounts"), dict) else {}
    now_ms = time.time() * 1000
    start = len(lines)
    for kind in sorted(accounts):
        rows = accounts[kind]
        if isinstance(rows, list):
            kind_label = labels.get(kind) if isinstance(labels.get(kind), str) else kind
            lines.extend(account_line(kind, kind_label, a, now_ms) for a in rows if isinstance(a, dict))
    if len(lines) == start:
        lines.append(style(NO_CHANNELS_LINE, fg="dim"))
    issues = [i for i in payload.get("statusIssues") or [] if isinstance(i, dict)]
    if issues:
        lines += ["", style("Warnings:", fg="yellow")]
        lines += [f"- {i.get('channel')} {i.get('accountId')}: {i.get('message')}" for i in issues]
        lines.append("- Run: openclaw doctor")
    return lines


def config_only(error: str, wanted: str | None, as_json: bool) -> None:
    path, config = _load()
    accounts = [a for a in configured_accounts(config) if wanted in (None, a.kind)]
    mode = "remote" if (config.get("gateway") or {}).get("mode") == "remote" else "local"
    if as_json:
        print_json({
            "gatewayReachable": False, "error": error, "gatewayAuthUnavailable": False, "configOnly": True,
            "config": {"path": path, "mode": mode},
            "configuredChannels": sorted({a.kind for a in accounts if a.enabled}),
        })
        return
    sys.stderr.write((error if error.startswith("Gateway not reachable") else f"Gateway not reachable: {error}") + "\n")
    sys.stderr.flush()
    print(style("Gateway not reachable; showing config-only status.", fg="yellow"))
    print(f"Config: {path}")
    print(f"Mode: {mode}")
    print()
    if not accounts:
        print(style(NO_CHANNELS_LINE, fg="dim"))
    for a in accounts:
        bits = ["enabled" if a.enabled else "disabled", "configured" if a.configured else "not configured"]
        if not a.supported:
            bits.append("not supported by this gateway")
        if a.mode:
            bits.append(f"mode:{a.mode}")
        if a.token_source():
            bits.append("token:***")
        print(f"- {_account_label(a.kind, a.account_id, a.section.get('name'))}: {', '.join(bits)}")
