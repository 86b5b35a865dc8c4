"""The service manager's view of this profile's gateway, in upstream's `service` JSON shape.

Reads only `cli/service/view.py` (`ServiceView`); the runtime line says where it came from: the
service manager (`source: "service-manager"`), or, where no manager answers (a container) or the
gateway runs outside the service, the gateway's own instance record (`source: "instance-record"`).
"""

from __future__ import annotations

from typing import Any

from openclaw.ipc.instance_registry import InstanceRecord

from .service.view import ServiceView

LOAD_TEXTS = {
    "systemd-user": ("enabled", "disabled"), "systemd-system": ("enabled", "disabled"),
    "launchd": ("loaded", "not loaded"), "schtasks": ("registered", "missing"),
}


def _load_status(loaded: bool | None) -> str:
    return "unknown" if loaded is None else "loaded" if loaded else "not-loaded"


def _command(view: ServiceView) -> dict[str, Any] | None:
    if not view.installed:
        return None
    definition = dict(view.definition or {})
    args = definition.get("programArguments")
    if not isinstance(args, list):
        program = definition.get("program")
        extra = definition.get("args") if isinstance(definition.get("args"), list) else []
        args = [program, *extra] if program else []
    out: dict[str, Any] = {"programArguments": [str(a) for a in args]}
    out["sourcePath"] = str(view.definition_path) if view.definition_path else None
    for key in ("port", "version", "profile", "envFile", "workingDirectory", "configPath"):
        if key in definition:
            out[key] = definition[key]
    return out


def _runtime(view: ServiceView, instance: InstanceRecord | None) -> dict[str, Any]:
    if view.manager_available and view.state is not None:
        rt: dict[str, Any] = {"status": view.state, "source": "service-manager"}
        if view.main_pid:
            rt["pid"] = view.main_pid
        if view.state != "running" and instance is not None:
            rt["detail"] = f"a gateway of this profile runs outside the service manager (pid {instance.pid})"
        return rt
    if instance is not None:
        why = "no service manager answers" if not view.manager_available else "the service manager does not run it"
        return {
            "status": "running", "pid": instance.pid, "source": "instance-record",
            "detail": f"{why}; found by its instance record",
        }
    why = "no service manager answers" if not view.manager_available else "the service manager cannot tell"
    return {"status": "stopped", "source": "instance-record", "detail": f"{why}; no running gateway recorded for this profile"}


def service_block(view: ServiceView | None, inspect_error: str | None, instance: InstanceRecord | None) -> dict[str, Any]:
    if view is None:
        rt = _runtime_without_view(instance)
        rt["inspectionFailure"] = {"code": "service-runtime-inspection-failed", "detail": inspect_error}
        return {
            "label": "unknown", "inspectionReason": "service-inspection-failed", "loaded": None,
            "loadState": {"status": "unknown", "detail": inspect_error}, "loadedText": "enabled",
            "notLoadedText": "disabled", "targetRole": "diagnostic-only", "command": None, "runtime": rt,
            "configAudit": {"ok": True, "issues": []},
        }
    loaded_text, not_loaded_text = LOAD_TEXTS.get(view.manager, ("loaded", "not loaded"))
    out: dict[str, Any] = {"label": view.label, "manager": view.manager, "platform": view.platform}
    if not view.manager_available:
        out["inspectionReason"] = "service-manager-unavailable"
    if view.platform == "linux":
        kind = ("system" if view.manager == "systemd-system" else "user") if view.installed else "none"
        out["systemdInstallation"] = {"kind": kind}
    out.update(
        installed=view.installed,
        definitionPath=str(view.definition_path) if view.definition_path else None,
        managerAvailable=view.manager_available,
        loaded=view.loaded,
        loadState={"status": _load_status(view.loaded)},
        loadedText=loaded_text,
        notLoadedText=not_loaded_text,
        targetRole="target" if view.installed and view.manager_available else "diagnostic-only",
        command=_command(view),
        runtime=_runtime(view, instance),
        configAudit={"ok": not view.issues, "issues": [{"code": "drift", "message": i} for i in view.issues]},
    )
    return out


def _runtime_without_view(instance: InstanceRecord | None) -> dict[str, Any]:
    if instance is not None:
        return {"status": "running", "pid": instance.pid, "source": "instance-record"}
    return {"status": "unknown", "source": "instance-record"}


def looks_running(service: dict[str, Any]) -> bool:
    return (service.get("runtime") or {}).get("status") == "running"


def runtime_line(service: dict[str, Any]) -> str:
    """`running (pid 123, instance record: no service manager answers; ...)` as upstream formats it."""
    rt = service.get("runtime") or {}
    details = []
    if rt.get("pid"):
        details.append(f"pid {rt['pid']}")
    if rt.get("detail"):
        details.append(str(rt["detail"]))
    status = rt.get("status") or "unknown"
    return f"{status} ({', '.join(details)})" if details else status
