"""`gateway status --deep`: every other gateway-like thing on this host, in upstream's `extraServices` shape.

Two kinds of entry, each `{kind, platform, label, detail, scope, marker, legacy, cleanupHints}`:
`service` (another service definition: other profiles' units, system units; from
`cli/service/view.py` `other_services`) and `gateway` (another gateway registered in the host
registry: other profiles' running gateways, and stale records left by killed ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openclaw.ipc.instance_registry import Instance, read_record
from openclaw.ipc.paths import Paths

from .service.view import host_platform


def service_entries(paths: Paths) -> list[dict[str, Any]]:
    from .service.view import other_services

    try:
        views = other_services(paths)
    except Exception:  # noqa: BLE001 (best effort, as upstream's scan)
        return []
    out = []
    for v in views:
        scope = "system" if v.manager == "systemd-system" else "user"
        where = {"linux": "unit", "darwin": "plist"}.get(v.platform, "task")
        out.append({
            "kind": "service", "platform": v.platform, "label": v.label, "detail": f"{where}: {v.definition_path}",
            "scope": scope, "marker": "openclaw", "legacy": False, "manager": v.manager,
            "definitionPath": str(v.definition_path) if v.definition_path else None, "installed": v.installed,
            "loaded": v.loaded, "state": v.state, "mainPid": v.main_pid, "profile": (v.definition or {}).get("profile"),
            "cleanupHints": cleanup_hints(v.platform, v.label, scope, v.definition_path),
        })
    return out


def cleanup_hints(platform: str, label: str, scope: str, path: Path | None) -> list[str]:
    """What upstream prints per extra service (inspection commands on Linux, removal elsewhere)."""
    if platform == "linux":
        return [f"systemctl --{scope} status -- {label}", f"systemctl --{scope} cat -- {label}"]
    if platform == "darwin":
        domain = "system" if scope == "system" else "gui/$UID"
        hints = [f"launchctl bootout {domain}/{label}"]
        return hints + ([f"rm {path}"] if path else [])
    return [f'schtasks /Delete /TN "{label}" /F']


def instance_json(inst: Instance) -> dict[str, Any]:
    """A registry entry; a stale one with the exact cleanup (its instance file only if it still names that pid)."""
    out = inst.to_json()
    out["profileName"] = inst.profile_name
    if not inst.alive:
        files = [str(inst.path)]
        own_file = Path(inst.record.state_dir) / "gateway.instance.json"
        rec = read_record(own_file)
        if rec is not None and rec.pid == inst.record.pid:
            files.append(str(own_file))
        out["cleanupHints"] = ["openclaw doctor --fix", "rm " + " ".join(files)]
    return out


def gateway_entry(inst: Instance) -> dict[str, Any]:
    state = "running" if inst.alive else f"stale: {inst.reason}"
    return {
        "kind": "gateway", "platform": host_platform(), "label": f"openclaw gateway (profile {inst.profile_name})",
        "detail": f"pid {inst.record.pid}, port {inst.record.port}, {state}; record {inst.path}",
        "scope": "user", "marker": "openclaw", "legacy": False, **instance_json(inst),
        **({} if not inst.alive else {"cleanupHints": []}),
    }
