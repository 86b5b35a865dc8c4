"""Who listens on a TCP port (psutil): for busy-port errors, --force and `gateway status`."""

from __future__ import annotations

from dataclasses import dataclass

import psutil


@dataclass
class PortHolder:
    pid: int | None
    command: str
    address: str
    user: str | None
    cmdline: str
    ppid: int | None = None


def port_holders(port: int) -> list[PortHolder]:
    """Processes listening on TCP `port` (any address)."""
    out: list[PortHolder] = []
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return out
    for c in conns:
        if c.status != psutil.CONN_LISTEN or not c.laddr or c.laddr.port != port:
            continue
        name, user, cmdline, ppid = "?", None, "", None
        if c.pid:
            try:
                p = psutil.Process(c.pid)
                name, user, cmdline, ppid = p.name(), p.username(), " ".join(p.cmdline()), p.ppid()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        host = c.laddr.ip
        addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        out.append(PortHolder(pid=c.pid, command=name, address=addr, user=user, cmdline=cmdline, ppid=ppid))
    return out
