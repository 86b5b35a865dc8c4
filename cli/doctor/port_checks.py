"""The port: free for this profile's gateway, or held by it (not by another gateway or program)."""

from __future__ import annotations

from openclaw.ipc.port_owners import PortOwner, describe_owner, port_owners, stop_hint

from .context import DoctorContext
from .model import FAIL, OK, WARN, Finding


def check(ctx: DoctorContext) -> list[Finding]:
    home = ctx.paths.home
    if ctx.record is not None and ctx.record_alive:
        rec = ctx.record
        owners = port_owners(rec.port, home)
        if not any(o.pid == rec.pid for o in owners):
            return [Finding(
                "port", FAIL, f"this profile's gateway (pid {rec.pid}) runs but nobody it owns listens on port {rec.port}",
                f"restart it (`{ctx.invocation()} gateway restart`), and see `{ctx.invocation()} logs`",
            )]
        msg = f"port {rec.port} is held by this profile's gateway (pid {rec.pid})"
        if rec.port == ctx.port:
            return [Finding("port", OK, msg)]
        others = [o for o in port_owners(ctx.port, home) if o.pid != rec.pid]
        if others:
            return [Finding("port", WARN, msg + f" (started with another port); port {ctx.port} ({ctx.port_source}) is "
                            f"held by {_who(others)}: a start without --port would fail", stop_hint(others[0], home))]
        return [Finding("port", OK, msg + f" (started with another port; port {ctx.port} ({ctx.port_source}) is free)")]
    owners = port_owners(ctx.port, home)
    if not owners:
        return [Finding("port", OK, f"port {ctx.port} ({ctx.port_source}) is free")]
    return [Finding(
        "port", FAIL, f"port {ctx.port} ({ctx.port_source}) is held by {_who(owners)}: this profile's gateway cannot start",
        "; ".join(stop_hint(o, home) for o in owners) + f"; or give this profile another port "
        f"(`{ctx.invocation()} config set gateway.port <port>`)",
    )]


def _who(owners: list[PortOwner]) -> str:
    return ", ".join(describe_owner(o) for o in owners)
