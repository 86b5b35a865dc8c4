"""Installed service drift: the unit's port, program and version against the config and this CLI."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from openclaw.cli.service.view import ServiceView, inspect_service
from openclaw.ipc.version import GATEWAY_VERSION

from .context import DoctorContext, real_path
from .model import FAIL, OK, WARN, Finding, worst
from .service_repair import reinstall_service


def installed_openclaw() -> Path | None:
    """The `openclaw` this command runs as: what a reinstall would put in the unit."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "openclaw" and argv0.exists():
        return argv0.absolute()
    found = shutil.which("openclaw")
    if found:
        return Path(found)
    beside = Path(sys.executable).with_name("openclaw")
    return beside if beside.exists() else None


def check(ctx: DoctorContext, view: ServiceView | None = None) -> list[Finding]:
    try:
        view = view or inspect_service(ctx.paths)
    except Exception as exc:  # noqa: BLE001 - an unreadable service manager is a finding, not a crash
        return [Finding("service.drift", WARN, f"cannot inspect the service: {exc}")]
    if not view.installed:
        return [Finding("service.drift", OK, f"no service installed ({view.label}): the gateway runs in the "
                        "foreground or by `gateway start`")]
    where = view.definition_path
    reinstall = f"`{ctx.invocation()} gateway install --force` (or `{ctx.invocation()} doctor --fix`)"

    def repair() -> str:
        return reinstall_service(ctx.paths, view.platform, system=view.manager == "systemd-system")

    if not view.definition:
        return [Finding("service.drift", WARN, f"service {view.label} is installed at {where}, but its definition "
                        "could not be read", reinstall, repair=repair)]
    problems = drift(view.definition, ctx.port, installed_openclaw())
    problems += [(WARN, issue) for issue in view.issues]
    if not problems:
        return [Finding("service.drift", OK, f"service {view.label} ({where}) matches the config and this CLI")]
    status = worst([s for s, _ in problems])
    text = "; ".join(msg for _, msg in problems)
    return [Finding("service.drift", status, f"service {view.label} ({where}) drifted: {text}", reinstall, repair=repair)]


def drift(definition: dict[str, Any], port: int, program: Path | None) -> list[tuple[str, str]]:
    """(verdict, what differs) for each documented field of the definition; absent fields are not judged."""
    out: list[tuple[str, str]] = []
    unit_port = definition.get("port")
    if isinstance(unit_port, int) and unit_port != port:
        out.append((FAIL, f"it starts the gateway on port {unit_port}, the config gives {port}"))
    unit_program = definition.get("program")
    if isinstance(unit_program, str) and unit_program:
        prog = Path(unit_program)
        if not prog.exists():
            out.append((FAIL, f"its program {prog} does not exist"))
        elif program is not None and real_path(prog) != real_path(program):
            out.append((WARN, f"it runs {prog}, this CLI is {program}"))
    version = definition.get("version")
    if isinstance(version, str) and version and version != GATEWAY_VERSION:
        out.append((WARN, f"it was installed by version {version}, this is {GATEWAY_VERSION}"))
    return out

