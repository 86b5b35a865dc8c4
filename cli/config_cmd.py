"""`openclaw config get | set | unset | validate | file`: the config file, edited directly.

Writes go through the same atomic writer the gateway uses (temp, fsync, rename; the previous
file kept as `.bak`; mode kept) and are validated first, so a typo never reaches the file.
After a write, if this profile's gateway is running, the command waits (up to 5 s) until the
gateway has taken the change and prints what it did with it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec

from openclaw.ipc.config import resolve_gateway
from openclaw.ipc.config_edit import PathError, get_path, parse_cli_value, render, set_path, unset_path, write_config
from openclaw.ipc.config_file import MAX_CONFIG_BYTES, ConfigFileError, LoadedConfig, hash_text, load_config
from openclaw.ipc.config_redact import REDACTED, is_secret_key, redact
from openclaw.ipc.config_schema import validate
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.launch import LaunchOptions
from openclaw.ipc.paths import resolve_paths

from .auth_hint import credential_used, looked_in
from .client import GatewayClient, RpcError, TransportError
from .globals import OPTIONS
from .output import fail, print_json, style
from .target import CredentialsRequired, resolve_target

APPLY_WAIT_S = 5.0


def _path() -> Path:
    return resolve_paths(OPTIONS.effective_profile).config_path


def _load_or_exit(path: Path, *, missing_ok: bool) -> tuple[dict[str, Any], bool]:
    try:
        loaded = load_config(path)
    except ConfigFileError as exc:
        fail(f"openclaw config: {exc}\nFix the file first (or restore {path.name}.bak).", ExitCode.FAILURE)
    if not loaded.exists and not missing_ok:
        fail(f"openclaw config: {path} does not exist.", ExitCode.FAILURE)
    return loaded.data, loaded.exists


def file_cmd(as_json: bool) -> None:
    path = _path()
    if as_json:
        print_json({"path": str(path), "exists": path.exists()})
    else:
        print(path if path.exists() else f"{path} (does not exist yet)")


def get_cmd(key: str, as_json: bool, reveal: bool) -> None:
    data, _ = _load_or_exit(_path(), missing_ok=True)
    try:
        value = get_path(data, key)
    except PathError as exc:
        fail(f"openclaw config: {exc}", ExitCode.USAGE)
    except KeyError as exc:
        fail(f"openclaw config: {key} is not set ({exc.args[0]} is missing).", ExitCode.FAILURE)
    if not reveal:
        value = REDACTED if isinstance(value, str) and is_secret_key(key.rsplit(".", 1)[-1]) else redact(value)
    if as_json or not isinstance(value, str):
        print_json(value)
    else:
        print(value)


def validate_cmd(as_json: bool) -> None:
    path = _path()
    try:
        loaded = load_config(path)
    except ConfigFileError as exc:
        issues = [exc.issue()]
        warnings: list[dict[str, Any]] = []
    else:
        if not loaded.exists:
            fail(f"openclaw config: {path} does not exist.", ExitCode.FAILURE)
        issues, warnings = validate(loaded.data)
    if not issues:
        problem = _start_problem(loaded)
        if problem:
            warnings.append({"path": "<start>", "message": f"a gateway would refuse to start with this config: {problem}"})
    if as_json:
        print_json({"path": str(path), "valid": not issues, "issues": issues, "warnings": warnings})
    else:
        for w in warnings:
            print(style(f"warning: {w['path']}: {w['message']}", fg="yellow"))
        for i in issues:
            where = f" (line {i['line']}, column {i['column']})" if "line" in i else ""
            print(style(f"error: {i['path']}: {i['message']}{where}", fg="red"))
        print(f"Config {'valid' if not issues else 'invalid'}: {path}")
    if issues:
        raise SystemExit(ExitCode.FAILURE)


def set_cmd(key: str, raw_value: str, as_json: bool) -> None:
    path = _path()
    data, exists = _load_or_exit(path, missing_ok=True)
    try:
        new = set_path(data, key, parse_cli_value(raw_value))
    except PathError as exc:
        fail(f"openclaw config: {exc}", ExitCode.FAILURE)
    if exists and _json_bytes(new) == _json_bytes(data):  # nothing to write, no reload to report (true != 1 here)
        if as_json:
            print_json({"ok": True, "path": str(path), "changed": False})
        else:
            print(f"set {key}: already that value in {path}; nothing written.")
        return
    _write(path, new, f"set {key}", as_json)


def _json_bytes(data: dict[str, Any]) -> bytes:
    return msgspec.json.encode(data)


def unset_cmd(key: str, as_json: bool) -> None:
    path = _path()
    data, _ = _load_or_exit(path, missing_ok=False)
    try:
        new, removed = unset_path(data, key)
    except PathError as exc:
        fail(f"openclaw config: {exc}", ExitCode.USAGE)
    if not removed:
        fail(f"openclaw config: {key} is not set; nothing to unset.", ExitCode.FAILURE)
    _write(path, new, f"unset {key}", as_json)


def _write(path: Path, data: dict[str, Any], what: str, as_json: bool) -> None:
    errors, _ = validate(data)
    if errors:
        if as_json:
            print_json({"ok": False, "path": str(path), "issues": errors})
            raise SystemExit(ExitCode.FAILURE)
        lines = "\n".join(f"  {e['path']}: {e['message']}" for e in errors)
        fail(f"openclaw config: not written, the result would be invalid:\n{lines}", ExitCode.FAILURE)
    text = render(data)
    if len(text.encode()) > MAX_CONFIG_BYTES:
        fail(f"openclaw config: not written, the result would be larger than {MAX_CONFIG_BYTES} bytes.", ExitCode.FAILURE)
    try:
        write_config(path, text)
    except OSError as exc:
        fail(f"openclaw config: cannot write {path}: {exc.strerror or exc}", ExitCode.FAILURE)
    new_hash = hash_text(text)
    problem = _start_problem(LoadedConfig(path=str(path), exists=True, raw=text, data=data, hash=new_hash))
    gateway = _gateway_reaction(new_hash, data)
    rejected = (gateway.get("configReload") or {}).get("status") == "error"
    if as_json:
        print_json({"ok": not rejected, "path": str(path), "hash": new_hash, "gateway": gateway, "startProblem": problem})
    else:
        print(f"{what}: written to {path} (previous version: {path.name}.bak)")
        if problem:
            print(style(f"warning: a gateway would refuse to start with this config: {problem}", fg="yellow"))
        print(_describe(gateway))
    if rejected:
        raise SystemExit(ExitCode.FAILURE)


def _start_problem(loaded: LoadedConfig) -> str | None:
    """Why `openclaw gateway` would refuse to start with this file, if it would (exit 78)."""
    try:
        resolve_gateway(LaunchOptions(profile=OPTIONS.effective_profile), resolve_paths(OPTIONS.effective_profile), loaded)
    except ConfigRefusal as exc:
        return str(exc)
    return None


def _gateway_reaction(new_hash: str, data: dict[str, Any]) -> dict[str, Any]:
    """Wait for the running gateway (if any) to take the new file; report what it did."""
    try:
        target = resolve_target(None, None, None)
    except CredentialsRequired:
        return {"reached": False}
    deadline = time.monotonic() + APPLY_WAIT_S
    reached = False
    refused: str | None = None
    while time.monotonic() < deadline:
        left = max(0.5, deadline - time.monotonic())
        client = _connect_either_scheme(target, left)
        try:
            if client is None:
                raise TransportError("closed", "not reachable")
            reached = True
            while time.monotonic() < deadline:
                reload = (client.call("health") or {}).get("configReload") or {}
                if reload.get("lastGoodHash") == new_hash or reload.get("status") == "error":
                    return {"reached": True, "configReload": reload}
                if reload.get("mode") == "off":
                    return {"reached": True, "configReload": reload}
                time.sleep(0.1)
        except TransportError:
            if not reached:
                return {"reached": False}
        except RpcError as exc:  # e.g. the token just changed and the gateway has not taken it yet: try again
            reached, refused = True, str(exc.error.get("message") or exc)
            refused += f"; it was sent {credential_used(target)}" if target.credential_source else (
                "; no token was found: looked in " + "; ".join(looked_in(target)))
        finally:
            if client is not None:
                client.close()
        time.sleep(0.1)
    return {"reached": reached, "timedOut": True, **({"refused": refused} if refused else {})}


def _connect_either_scheme(target: Any, timeout_s: float) -> GatewayClient | None:
    """A change to gateway.tls flips ws <-> wss when the front-end restarts: until then the running
    gateway answers on the other scheme (and a new certificate appears only once it is generated)."""
    from openclaw.ipc.tls_material import gateway_tls_fingerprint

    other = target.url.replace("wss://", "ws://", 1) if target.url.startswith("wss://") else target.url.replace("ws://", "wss://", 1)
    for url in (target.url, other):
        pin = gateway_tls_fingerprint(target.config, target.paths.state_dir) if url.startswith("wss://") else None
        if url.startswith("wss://") and pin is None:
            continue  # no certificate yet: nothing to pin
        client = GatewayClient(url, token=target.token, password=target.password, tls_fingerprint=pin,
                               timeout_s=timeout_s, scopes=[])
        try:
            client.connect()
            return client
        except TransportError:
            client.close()
        except RpcError:
            client.close()
            raise
    return None


def _describe(gateway: dict[str, Any]) -> str:
    if not gateway.get("reached"):
        return "No running gateway reached; the change applies when it starts."
    if gateway.get("refused"):
        return f"The running gateway did not accept this CLI's credentials ({gateway['refused']}); see `openclaw logs`."
    if gateway.get("timedOut"):
        return f"The running gateway did not take the change within {APPLY_WAIT_S:.0f}s; see `openclaw logs`."
    reload = gateway["configReload"]
    if reload.get("status") == "error":
        return style(f"The running gateway rejected the file and keeps its last good config: {reload.get('error')}", fg="red")
    if reload.get("mode") == "off":
        return "gateway.reload.mode is off: restart the gateway (openclaw gateway restart) to apply."
    actions = reload.get("lastActions") or ["no process needed to change"]
    return "The running gateway took the change:\n" + "\n".join(f"  - {a}" for a in actions)
