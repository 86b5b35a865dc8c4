"""`openclaw gateway health | call | status`: client commands over the WS protocol."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import msgspec
from openclaw.ipc import scopes
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import ExitCode
from openclaw.ipc.instance_registry import running_instance
from openclaw.ipc.ports import port_holders
from openclaw.ipc.version import GATEWAY_VERSION

from .client import GatewayClient, RpcError, TransportError
from .output import fail, print_json, style
from .rpc import target_or_exit, with_client


def health_cmd(url: str | None, token: str | None, password: str | None, timeout: int, as_json: bool) -> None:
    target = target_or_exit(url, token, password, as_json)
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
    timeout: int, as_json: bool, expect_final: bool,
) -> None:
    try:
        parsed: Any = json.loads(params)
    except ValueError as exc:
        fail(f"--params is not valid JSON: {exc}", ExitCode.USAGE)
    target = target_or_exit(url, token, password, as_json)

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


def _capability(granted: list[str] | None) -> str:
    if granted is None:
        return "unknown"
    if scopes.ADMIN in granted:
        return "admin_capable"
    if scopes.WRITE in granted:
        return "write_capable"
    if scopes.READ in granted:
        return "read_only"
    return "connected_no_operator_scope"


def status_cmd(
    url: str | None, token: str | None, password: str | None, timeout: int, as_json: bool, probe: bool, require_rpc: bool
) -> None:
    target = target_or_exit(url, token, password, as_json)
    paths = target.paths
    instance = running_instance(paths)
    port = target.port
    listeners = [dataclasses.asdict(h) for h in port_holders(port)] if port else []
    out: dict[str, Any] = {
        "cli": {"version": GATEWAY_VERSION},
        "config": {"path": str(paths.config_path), "exists": paths.config_path.exists(), "valid": target.config_error is None},
        "gateway": {
            "bindMode": config_value(target.config, "gateway.bind", "loopback"),
            "bindHost": "127.0.0.1",
            "port": port,
            "portSource": target.port_source or target.url_source,
            "probeUrl": target.url,
        },
        "instance": msgspec.to_builtins(instance) if instance else None,
        "port": {"port": port, "status": "busy" if listeners else "free", "listeners": listeners},
        "rpc": None,
    }
    if target.config_error:
        out["config"]["error"] = target.config_error
    if probe:
        out["rpc"] = _probe(target, timeout)
    if as_json:
        print_json(out)
    else:
        _print_status(out)
    if require_rpc and not (out["rpc"] or {}).get("ok"):
        raise SystemExit(ExitCode.FAILURE)


def _probe(target: Any, timeout: int) -> dict[str, Any]:
    started = time.monotonic()
    client = GatewayClient(
        target.url, token=target.token, password=target.password, timeout_s=timeout / 1000,
        client_id="cli", mode="cli", scopes=[scopes.READ],
    )
    rpc: dict[str, Any] = {"ok": False, "url": target.url, "credentialSource": target.credential_source}
    try:
        hello = client.connect()
        auth = hello.get("auth") if isinstance(hello, dict) else None
        granted = auth.get("scopes") if isinstance(auth, dict) else None
        rpc.update(
            ok=True,
            kind="connect",
            server=hello.get("server"),
            auth={"role": (auth or {}).get("role"), "scopes": granted, "capability": _capability(granted)},
            capability=_capability(granted),
        )
        try:
            status = client.call("status")
            rpc["kind"] = "read"
            sup = status.get("supervision") or {}
            rpc["status"] = {
                "version": status.get("runtimeVersion"), "pid": status.get("pid"),
                **{k: sup.get(k) for k in ("uptimeMs", "configPath", "processes", "generation", "configReload")},
            }
        except RpcError as exc:
            rpc["statusError"] = exc.to_json()
    except TransportError as exc:
        rpc.update(error=exc.to_json(), gatewayReached=False)
    except RpcError as exc:
        details = exc.error.get("details")
        rpc.update(
            error=exc.to_json(),
            gatewayReached=True,
            connectFailure={"kind": "auth-rejected", "detailCode": details.get("code") if isinstance(details, dict) else None},
        )
    finally:
        client.close()
    rpc["latencyMs"] = int((time.monotonic() - started) * 1000)
    return rpc


def _print_status(out: dict[str, Any]) -> None:
    cfg, gw, port, rpc = out["config"], out["gateway"], out["port"], out["rpc"]
    print(style("Gateway status", bold=True))
    print(f"Config:   {cfg['path']}" + ("" if cfg["exists"] else style(" (missing)", fg="yellow")))
    print(f"Target:   {gw['probeUrl']} (port source: {gw['portSource']})")
    if port["port"]:
        if port["listeners"]:
            for h in port["listeners"]:
                print(f"Listener: pid {h['pid']} {h['command']} on {h['address']}")
        else:
            print(f"Listener: nobody listens on port {port['port']}")
    if rpc is None:
        print("RPC probe: skipped (--no-probe)")
        return
    if rpc["ok"]:
        server = rpc.get("server") or {}
        print(f"RPC probe: {style('ok', fg='green')} ({rpc['latencyMs']}ms) version {server.get('version')} · capability {rpc['capability']}")
        st = rpc.get("status") or {}
        processes = st.get("processes") or []
        width = max((len(p["name"]) for p in processes), default=0)
        for p in processes:
            rss = f"{(p.get('rssBytes') or 0) / 1048576:.1f} MiB" if p.get("rssBytes") else "-"
            print(f"  {p['name']:{width}}  pid {str(p['pid']):>7}  {p['state']:9} restarts {p['restarts']}  rss {rss}")
    else:
        err = rpc.get("error") or {}
        print(f"RPC probe: {style('failed', fg='red')} — {err.get('message')}")
