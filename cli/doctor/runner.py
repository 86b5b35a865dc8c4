"""Run every check, repair what is safe with --fix, check again, print, and exit 1 if one fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openclaw.ipc.errors import ExitCode
from openclaw.ipc.paths import Paths, resolve_paths

from ..globals import OPTIONS
from ..output import print_json, style
from . import (
    config_checks,
    instance_checks,
    log_checks,
    neighbour_checks,
    permission_checks,
    port_checks,
    service_checks,
    token_checks,
)
from .context import DoctorContext, build_context
from .model import FAIL, OK, WARN, Finding, RepairError

Check = Callable[[DoctorContext], list[Finding]]
CHECKS: tuple[tuple[str, Check], ...] = (
    ("config", config_checks.check),
    ("port", port_checks.check),
    ("instance", instance_checks.check),
    ("perms", permission_checks.check),
    ("auth", token_checks.check),
    ("logs", log_checks.check),
    ("service", service_checks.check),
    ("neighbours", neighbour_checks.check),
)


def run_checks(ctx: DoctorContext) -> list[Finding]:
    out: list[Finding] = []
    for family, check in CHECKS:
        try:
            out.extend(check(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            out.append(Finding(family, WARN, f"the {family} check could not run: {type(exc).__name__}: {exc}"))
    return out


def apply_repairs(findings: list[Finding]) -> tuple[list[dict[str, str]], dict[str, str | None]]:
    """Run the repair of every finding that is not ok; (changes made, id -> error or None)."""
    changes: list[dict[str, str]] = []
    tried: dict[str, str | None] = {}
    for f in findings:
        if f.status == OK or f.repair is None:
            continue
        try:
            changes.append({"check": f.id, "action": f.repair()})
            tried[f.id] = None
        except (RepairError, OSError) as exc:
            tried[f.id] = str(exc)
    return changes, tried


def doctor(paths: Paths, *, fix: bool, deep: bool) -> tuple[list[Finding], list[dict[str, str]]]:
    findings = run_checks(build_context(paths, deep))
    if not fix:
        return findings, []
    changes, tried = apply_repairs(findings)
    if not tried:
        return findings, changes
    findings = run_checks(build_context(paths, deep))  # what is true now
    for f in findings:
        if f.id not in tried:
            continue
        error = tried[f.id]
        f.fixed = error is None and f.status == OK
        if error is not None:
            f.message += f" (--fix: {error})"
    return findings, changes


def doctor_cmd(*, fix: bool, as_json: bool, deep: bool) -> None:
    paths = resolve_paths(OPTIONS.effective_profile)
    findings, changes = doctor(paths, fix=fix, deep=deep)
    failed = [f for f in findings if f.status == FAIL]
    if as_json:
        print_json({
            "ok": not failed,
            "profile": paths.profile or "default",
            "stateDir": str(paths.state_dir),
            "configPath": str(paths.config_path),
            "checks": [f.to_json() for f in findings],
            "changes": changes,
        })
    else:
        render(paths, findings, changes, fix)
    if failed:
        raise SystemExit(ExitCode.FAILURE)


LABELS: dict[str, tuple[str, str | None]] = {OK: ("ok", "green"), WARN: ("warn", "yellow"), FAIL: ("FAIL", "red")}


def render(paths: Paths, findings: list[Finding], changes: list[dict[str, Any]], fix: bool) -> None:
    print(style("OpenClaw doctor", bold=True) + f" · profile {paths.profile or 'default'} · state {paths.state_dir}"
          + f" · config {paths.config_path}")
    width = max((len(f.id) for f in findings), default=0)
    for f in findings:
        label, colour = LABELS[f.status]
        print(f"  {style(f'{label:4}', fg=colour)}  {f.id:{width}}  {f.message}"
              + (style("  [fixed]", fg="green") if f.fixed else ""))
        if f.fix and f.status != OK:
            print(f"  {'':4}  {'':{width}}  fix: {f.fix}")
    if fix:
        print(style("Changes", bold=True) + (":" if changes else ": none needed"))
        for c in changes:
            print(f"  - {c['action']}")
    fails = sum(f.status == FAIL for f in findings)
    warns = sum(f.status == WARN for f in findings)
    repairable = sum(f.status != OK and f.repair is not None for f in findings)
    summary = f"{fails} failed, {warns} warning{'s' if warns != 1 else ''}"
    if repairable and not fix:
        summary += f"; {repairable} can be repaired with `openclaw doctor --fix`"
    print(style(summary, fg="red" if fails else "yellow" if warns else "green"))
