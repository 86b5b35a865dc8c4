"""`openclaw gateway health | call`: client commands over the WS protocol (`status` is status_cmd.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from openclaw.ipc import scopes
from openclaw.ipc.errors import ExitCode

from .client import GatewayClient, RpcError
from .output import fail, print_json, style
from .rpc import target_or_exit, with_client


def health_cmd(
    url: str | None, token: str | None, password: str | None, timeout: int, as_json: bool,
    tls_fingerprint: str | None = None,
) -> None:
    target = target_or_exit(url, token, password, as_json, tls_fingerprint)
    started = time.monotonic()
    payload = with_client(
        target, timeout_ms=timeout, scopes=[scopes.READ], as_json=as_json, action=lambda c: c.call("health")
    )
    if as_json:
        print_json(payload)
        return
    ms = int((time.monotonic() - started) * 1000)
    ok = isinstance(payload, dict) and payload.get("ok") is True
    print(style("Gateway Health", bold=True))
    print(style("OK", fg="green") if ok else style("DEGRADED", fg="yellow"), f"({ms}ms, {target.url})")
    workers = payload.get("workers", {}) if isinstance(payload, dict) else {}
    width = max((len(name) for name in workers), default=0)
    for name, info in sorted(workers.items()):
        mark = style("ready", fg="green") if info.get("ready") else style("not ready", fg="red")
        print(f"  {name:{width}}  {mark}  pid {info.get('pid')}")
    if not ok:
        raise SystemExit(ExitCode.FAILURE)


def call_cmd(
    method: str, params: str, url: str | None, token: str | None, password: str | None,
    timeout: int, as_json: bool, expect_final: bool, tls_fingerprint: str | None = None,
) -> None:
    try:
        parsed: Any = json.loads(params)
    except ValueError as exc:
        fail(f"--params is not valid JSON: {exc}", ExitCode.USAGE)
    target = target_or_exit(url, token, password, as_json, tls_fingerprint)

    def action(c: GatewayClient) -> Any:
        result = c.call(method, parsed)
        if expect_final and isinstance(result, dict) and result.get("status") == "accepted":
            # two-phase methods answer twice with the same id; wait for the final one
            frame = c._recv_until(lambda f: f.get("type") == "res")
            if not frame.get("ok"):
                raise RpcError(frame.get("error") or {})
            result = frame.get("payload")
        return result

    payload = with_client(
        target, timeout_ms=timeout, scopes=scopes.least_privilege(method), as_json=as_json, action=action
    )
    print_json(payload)
