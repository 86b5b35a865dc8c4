"""Who listens on the gateway's port, and what that means (`gateway status` `port` block).

Each listener is attributed: `this-gateway` (the running gateway of this profile: its supervisor
or a child of it), `gateway:<profile>` (another registered gateway of this user), `openclaw`
(an openclaw process no registry entry names) or `other`. Hints as upstream's wording where it
has one.
"""

from __future__ import annotations

from typing import Any

from openclaw.ipc.instance_registry import Instance, InstanceRecord
from openclaw.ipc.ports import PortHolder, port_holders


def _owner(h: PortHolder, mine: InstanceRecord | None, others: list[Instance]) -> str:
    pids = {h.pid, h.ppid} - {None}
    if mine is not None and mine.pid in pids:
        return "this-gateway"
    for inst in others:
        if inst.alive and inst.record.pid in pids:
            return f"gateway:{inst.profile_name}"
    if "openclaw" in f"{h.command} {h.cmdline}".lower():
        return "openclaw"
    return "other"


def port_report(port: int, mine: InstanceRecord | None, others: list[Instance]) -> dict[str, Any]:
    holders = port_holders(port)
    listeners = [
        {
            "pid": h.pid, "command": h.command, "address": h.address, "user": h.user,
            "commandLine": h.cmdline.strip(), "ppid": h.ppid, "owner": _owner(h, mine, others),
        }
        for h in sorted(holders, key=lambda h: (h.address.startswith("["), h.address, h.pid or 0))
    ]
    return {"port": port, "status": "busy" if listeners else "free", "listeners": listeners, "hints": _hints(listeners)}


def _hints(listeners: list[dict[str, Any]]) -> list[str]:
    if not listeners:
        return []
    owners = {entry["owner"] for entry in listeners}
    pids = {entry["pid"] for entry in listeners}
    expected = owners == {"this-gateway"}  # e.g. the old and the new front-end during a restart
    hints: list[str] = []
    for owner in sorted(o for o in owners if o.startswith("gateway:")):
        profile = owner.split(":", 1)[1]
        pid = next(e["pid"] for e in listeners if e["owner"] == owner)
        hints.append(
            f"The gateway of profile {profile} (pid {pid}) listens on this port; give each profile its own gateway.port."
        )
    if "openclaw" in owners:
        hints.append("Gateway already running locally. Stop it (openclaw gateway stop) or use a different port.")
    if "other" in owners:
        hints.append("Another process is listening on this port.")
    if len(pids) > 1 and not expected:
        hints.append(
            "Multiple listeners detected; ensure only one gateway/tunnel per port unless intentionally running isolated profiles."
        )
    return hints


def listening_addresses(report: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for entry in report.get("listeners") or []:
        if entry["address"] not in seen:
            seen.append(entry["address"])
    return seen
