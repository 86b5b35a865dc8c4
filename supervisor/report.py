"""What the supervisor tells people and other processes: the process table (status, health,
/readyz), the instance file CLIs read, the start-up banner, and systemd's one-line status."""

from __future__ import annotations

import os
import time

import psutil
from openclaw.ipc import control
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.instance_registry import InstanceRecord, write_record
from openclaw.ipc.logs import get_logger
from openclaw.ipc.paths import Paths

from .child import ChildState
from .config_state import ConfigState
from .tree import ProcessTree

log = get_logger("supervisor")


def _rss(pid: int | None) -> int | None:
    if not pid:
        return None
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def tree_state(
    tree: ProcessTree, config: ConfigState, *, state: str, generation: int, started_mono: float, with_rss: bool
) -> control.TreeState:
    now = time.monotonic()
    me = os.getpid()
    rows = [
        control.ProcessInfo(
            name="supervisor", role="supervisor", kind="supervisor", pid=me, state=state, restarts=generation,
            rss_bytes=_rss(me) if with_rss else None, uptime_ms=int((now - started_mono) * 1000),
        )
    ]
    for child in tree.children.values():
        proc = child.current
        rows.append(
            control.ProcessInfo(
                name=child.name, role=child.spec.role, kind=child.spec.kind,
                pid=proc.pid if proc and not proc.exited else None, state=child.state.value, restarts=child.restarts,
                rss_bytes=_rss(proc.pid) if with_rss and proc and not proc.exited else None,
                uptime_ms=int(proc.uptime(now) * 1000) if proc and not proc.exited else None,
                last_exit=child.last_exit, reason=child.reason, channel_id=child.spec.channel_id,
                optional=child.spec.optional,
            )
        )
    return control.TreeState(processes=rows, generation=generation, reload=config.status)


def signature(tree: ProcessTree, config: ConfigState, state: str) -> tuple[object, ...]:
    """Changes whenever something the front-end shows would change (cheap: no /proc reads)."""
    kids = tuple(
        (c.name, c.state, c.current.pid if c.current else None, c.reason) for c in tree.children.values()
    )
    st = config.status
    return (state, kids, st.status, st.error, st.last_change_ms, tuple(st.pending_restart), st.mode)


def status_line(tree: ProcessTree, state: str, port: int) -> str:
    bad = [f"{c.name} {c.state.value}" for c in tree.children.values() if c.state in (ChildState.FATAL, ChildState.BACKOFF)]
    n = sum(1 for c in tree.children.values() if c.current and not c.current.exited) + 1
    return f"{state}: port {port}, {n} processes" + (f"; degraded: {', '.join(bad)}" if bad else "")


def write_instance_file(paths: Paths, gateway: ResolvedGateway, port: int, started_ms: int) -> None:
    """This gateway's record in its state dir and in the host registry (ipc/instance_registry.py)."""
    write_record(
        paths,
        InstanceRecord(
            pid=os.getpid(), port=port, bind_hosts=gateway.bind_hosts, state_dir=gateway.state_dir,
            config_path=gateway.config_path, profile=gateway.profile, started_at_ms=started_ms,
            log_file=gateway.log_file, tls_sha256=gateway.tls.fingerprint if gateway.tls else None,
        ),
    )


def announce(gateway: ResolvedGateway, port: int) -> None:
    ws = "wss" if gateway.tls else "ws"
    urls = ", ".join(f"{ws}://[{h}]:{port}" if ":" in h else f"{ws}://{h}:{port}" for h in gateway.bind_hosts)
    lines = [f"openclaw gateway ready: listening on {urls} (pid {os.getpid()})"]
    if gateway.tls and gateway.tls.fingerprint:
        from openclaw.ipc.tls_material import colon_fingerprint

        lines.append(f"tls: {gateway.tls.cert_path} (SHA-256 {colon_fingerprint(gateway.tls.fingerprint)})")
    if gateway.auth_mode == "token":
        lines.append(f"auth: token ({gateway.secret_source})")
        if gateway.runtime_token_file:
            lines.append(f"token: {gateway.token}  (runtime token, stored in {gateway.runtime_token_file})")
    else:
        lines.append(f"auth: {gateway.auth_mode}" + (f" ({gateway.secret_source})" if gateway.secret_source else ""))
    lines.append(f"config: {gateway.config_path} (reload mode {gateway.reload_mode})")
    lines.append(f"log file: {gateway.log_file}")
    print("\n".join(lines), flush=True)
    log.info("ready", port=port, hosts=gateway.bind_hosts, auth=gateway.auth_mode,
             tls_sha256=gateway.tls.fingerprint if gateway.tls else None)
