"""`config.get`, `config.apply` and `config.patch`, done by the supervisor in its config thread.

A write is checked as a reload would check it (parse, schema, start-up rules) before a byte
is written; then it is written atomically (previous file kept as `.bak`, mode kept) and the
caller applies it through the same path as a file-watcher change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_edit import changed_paths, merge_patch, render, write_config
from openclaw.ipc.config_file import MAX_CONFIG_BYTES, ConfigFileError, LoadedConfig, hash_text, load_config, parse_config_text
from openclaw.ipc.config_redact import REDACTED, is_secret_key, redact, redact_raw, restore_redacted
from openclaw.ipc.config_schema import first_error_text, validate
from openclaw.ipc.errors import ConfigRefusal, ErrorCode, GatewayError, invalid_request, unavailable

from .config_state import Candidate

_json = msgspec.json.Encoder()


def config_get(path: Path, last_good: LoadedConfig, gateway: ResolvedGateway) -> bytes:
    out: dict[str, Any] = {"path": str(path), "issues": [], "warnings": [], "legacyIssues": []}
    try:
        loaded = load_config(path)
    except ConfigFileError as exc:
        out.update(exists=path.exists(), valid=False, raw=None, parsed=None, config=None, hash=None)
        out["issues"].append(exc.issue())
    else:
        errors, warnings = validate(loaded.data)
        parsed = redact(loaded.data)
        out.update(
            exists=loaded.exists,
            valid=not errors,
            raw=redact_raw(loaded.raw, loaded.data) if loaded.exists else None,
            parsed=parsed,
            config=parsed,
            hash=loaded.hash,
        )
        out["issues"].extend(errors)
        out["warnings"].extend(warnings)
    out["appliedConfigHash"] = last_good.hash
    out["resolved"] = {
        "gateway": {
            "port": gateway.port,
            "portSource": gateway.port_source,
            "bind": gateway.bind_mode,
            "bindHosts": gateway.bind_hosts,
            "auth": {"mode": gateway.auth_mode, "secretSource": gateway.secret_source},
            "reload": {"mode": gateway.reload_mode},
        },
        "logging": {"file": gateway.log_file, "level": gateway.log_level},
        "commands": {"restart": gateway.restart_allowed},
    }
    return _json.encode(out)


def _needs_base_hash(paths: list[str]) -> list[str]:
    return [p for p in paths if p.startswith("gateway.") or p == "gateway" or any(is_secret_key(s) for s in p.split("."))]


def config_write(
    path: Path,
    mode: str,
    raw: str,
    base_hash: str | None,
    resolve: Callable[[LoadedConfig], ResolvedGateway],
    deadline: float | None = None,
) -> tuple[bytes, Candidate | None]:
    """Validate and write; returns the reply payload and the new file as a reload candidate (None
    when nothing changed). Raises GatewayError with a message naming the problem."""
    method = f"config.{mode}"
    if deadline is not None and time.monotonic() > deadline:  # the caller was told "retry": never write it
        raise unavailable(f"{method} expired waiting for the config thread; nothing was written", retry_after_ms=1000,
                          details={"reason": "config-busy"})
    try:
        current = load_config(path)
    except ConfigFileError:
        current = None  # a broken file may be replaced by apply, but not patched
    if base_hash is not None and (current is None or base_hash != current.hash):
        raise invalid_request("config changed since last load; re-run config.get and retry")
    old_data = current.data if current is not None else {}
    try:
        if mode == "patch":
            patch = parse_config_text(raw, f"{method} raw")
            if current is None:
                raise invalid_request("config.patch needs a valid config file; use config.apply to replace it")
            new_data, text = merge_patch(current.data, patch), None
        else:
            new_data, text = parse_config_text(raw, f"{method} raw"), raw if raw.endswith("\n") else raw + "\n"
    except ConfigFileError as exc:
        raise invalid_request(f"invalid {method} params: {exc.problem}", details={"issues": [exc.issue()]}) from None
    new_data, unrestorable = restore_redacted(new_data, old_data)
    if unrestorable:
        raise invalid_request(
            f"{', '.join(unrestorable[:4])}: the redaction placeholder can only stand for a secret the file "
            "already has; send the real value or leave the key out"
        )
    if text is None or REDACTED in text:  # a placeholder restored in place: write the data, not the text
        text = render(new_data)
    paths = changed_paths(old_data, new_data)
    if current is not None and not paths and (mode == "patch" or text == current.raw):
        return _payload(path, current.hash, current, old_data, []), None  # nothing to change: nothing written
    guarded = _needs_base_hash(paths)
    if guarded and base_hash is None:
        raise invalid_request(
            f"config base hash required for {', '.join(guarded[:6])}; re-run config.get and retry with baseHash"
        )
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise invalid_request(f"the resulting config would be larger than {MAX_CONFIG_BYTES} bytes")
    errors, _ = validate(new_data)
    if errors:
        raise invalid_request(f"invalid config: {first_error_text(errors)}", details={"issues": errors})
    loaded = LoadedConfig(path=str(path), exists=True, raw=text, data=new_data, hash=hash_text(text))
    try:
        gateway = resolve(loaded)
    except ConfigRefusal as exc:
        raise invalid_request(f"config refused: {exc}") from None
    try:
        write_config(path, text)
    except OSError as exc:
        raise GatewayError(
            ErrorCode.UNAVAILABLE, f"cannot write {path}: {exc.strerror or exc}", details={"path": str(path)}, retryable=False
        ) from None
    return _payload(path, loaded.hash, current, new_data, paths), Candidate(loaded=loaded, gateway=gateway)


def _payload(path: Path, new_hash: str, current: LoadedConfig | None, data: dict[str, Any], paths: list[str]) -> bytes:
    return _json.encode({
        "ok": True,
        "path": str(path),
        "hash": new_hash,
        "previousHash": current.hash if current is not None else None,
        "backupPath": str(path.with_name(path.name + ".bak")) if current is not None and paths else None,
        "config": redact(data),
        "changedPaths": paths,
    })
