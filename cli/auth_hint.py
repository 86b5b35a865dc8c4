"""Why a client could not authenticate, said so a person can act on it.

A tokenless CLI connect to a gateway with token auth is refused by the gateway as
`NOT_PAIRED [DEVICE_IDENTITY_REQUIRED]` (frontend/auth/connect.py: with no shared secret a client
must present a paired device identity, which this CLI has not). That code alone sends people
looking for pairing; what they need to know is which credential the CLI looked for and where,
and, when the port belongs to another profile's gateway, which profile to use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openclaw.ipc.config import config_value

from .target import Target, service_env_file

AUTH_DETAIL_CODES = {
    "DEVICE_IDENTITY_REQUIRED", "AUTH_TOKEN_MISMATCH", "AUTH_PASSWORD_MISMATCH", "AUTH_RATE_LIMITED",
    "PAIRING_REQUIRED", "AUTH_SCOPE_MISMATCH", "DEVICE_TOKEN_MISMATCH",
}
SOURCE_NAMES = {
    "cli": "the command line (--token / --password)",
    "env OPENCLAW_GATEWAY_TOKEN": "OPENCLAW_GATEWAY_TOKEN",
    "env OPENCLAW_GATEWAY_PASSWORD": "OPENCLAW_GATEWAY_PASSWORD",
}


def detail_code(error: dict[str, Any]) -> str | None:
    details = error.get("details")
    code = details.get("code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None


def is_auth_refusal(error: dict[str, Any]) -> bool:
    return detail_code(error) in AUTH_DETAIL_CODES or str(error.get("message", "")).startswith("unauthorized")


def _state(path: Path) -> str:
    return "present" if path.exists() else "no such file"


def looked_in(target: Target) -> list[str]:
    """Every place the CLI looks for a credential, in order, with what it found there."""
    cfg = target.paths.config_path
    if target.config_error:
        cfg_state = "unreadable: " + target.config_error
    elif not cfg.exists():
        cfg_state = "no such file"
    else:
        keys = [k for k in ("gateway.auth.token", "gateway.auth.password") if config_value(target.config, k) is not None]
        cfg_state = f"has {', '.join(keys)}" if keys else "not set there"
    token_file = target.paths.runtime_token_file
    return [
        "--token / --password",
        "OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD",
        f"the service env file {service_env_file(target.paths)} ({_state(service_env_file(target.paths))})",
        f"gateway.auth.token / gateway.auth.password in {cfg} ({cfg_state})",
        f"the runtime token file {token_file} ({_state(token_file)})",
    ]


def credential_used(target: Target) -> str:
    """`the token from gateway.auth.token in /h/.openclaw/openclaw.json`, and the like."""
    kind = "password" if target.password and not target.token else "token"
    src = target.credential_source or ""
    if src.startswith("config "):
        where = f"{src.removeprefix('config ').split(' (')[0]} in {target.paths.config_path}"
    elif src.startswith("service env file"):
        where = f"the service env file {service_env_file(target.paths)} (written by `gateway install --token`)"
    elif src.startswith("runtime token file"):
        where = f"the runtime token file {target.paths.runtime_token_file}"
    else:
        where = SOURCE_NAMES.get(src, src)
    return f"the {kind} from {where}"


def _local_port(target: Target) -> int | None:
    if target.port:
        return target.port
    try:
        parts = urlsplit(target.url)
        if parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.port:
            return parts.port
    except ValueError:
        return None
    return None


def _whose_port(target: Target) -> str | None:
    """When another profile's (or another home's) gateway listens on the target port, say so."""
    port = _local_port(target)
    if port is None:
        return None
    from openclaw.ipc.port_owners import describe_owner, port_owners  # psutil: only on this error path

    mine = target.paths.profile or "default"
    for owner in port_owners(port, target.paths.home):
        if not owner.is_gateway:
            continue
        if owner.kind == "gateway-elsewhere":
            return (f"The gateway on port {port} is {describe_owner(owner)}, which this home's registry does not "
                    "list (another HOME or OPENCLAW_HOME started it): use its token, from its config or its "
                    "<state>/gateway.token.")
        if owner.profile and owner.profile != mine:
            flag = "" if owner.profile == "default" else f" --profile {owner.profile}"
            return (f"The gateway on port {port} is {describe_owner(owner)}, not this profile's (\"{mine}\"): "
                    f"run `openclaw{flag} ...` to use its credentials.")
    return None


def describe_auth_refusal(target: Target, error: dict[str, Any]) -> str:
    """The message for a connect the gateway refused for authentication."""
    code = detail_code(error)
    said = f"{error.get('code')}{f' [{code}]' if code else ''}: {error.get('message')}"
    lines: list[str] = []
    if target.credential_source is None:
        lines.append(f"No token found for {target.url}: looked in " + "; ".join(looked_in(target)) + ".")
        if code == "DEVICE_IDENTITY_REQUIRED":
            lines.append(f"The gateway refused a connect without credentials ({said}): without a token or password "
                         "a client must present a paired device identity, which this CLI does not.")
        else:
            lines.append(f"The gateway refused the connect ({said}).")
    else:
        lines.append(f"The gateway at {target.url} refused {credential_used(target)} ({said}).")
    whose = _whose_port(target)
    if whose:
        lines.append(whose)
    lines.append("Fix: pass --token (or --password), set OPENCLAW_GATEWAY_TOKEN, or set gateway.auth.token in "
                 f"{target.paths.config_path} to the token of the gateway you mean.")
    return "\n".join(lines)


def auth_json(target: Target, error: dict[str, Any]) -> dict[str, Any]:
    """The same facts for --json output, beside the gateway's error."""
    return {
        "url": target.url,
        "credentialSource": target.credential_source,
        "lookedIn": looked_in(target),
        "hint": describe_auth_refusal(target, error),
    }
