"""Instance records left by a gateway that did not stop cleanly, and the state dir's lock.

A record is stale when its pid is gone or now runs another program (ipc/instance_registry.judge);
`--fix` removes it. The lock is a kernel flock released when its holder dies: never stale.
"""

from __future__ import annotations

from pathlib import Path

from openclaw.ipc.instance_registry import (
    entry_path,
    judge,
    list_instances,
    prune,
    read_record,
)

from .context import DoctorContext, real_path
from .model import OK, WARN, Finding, RepairError


def check(ctx: DoctorContext) -> list[Finding]:
    return [_own_record(ctx), *_registry(ctx), _lock(ctx)]


def _stale_own_files(ctx: DoctorContext) -> list[tuple[Path, int, str]]:
    out = []
    for path in (ctx.paths.instance_file, entry_path(ctx.paths)):
        rec = read_record(path)
        if rec is None or real_path(Path(rec.state_dir)) != real_path(ctx.paths.state_dir):
            continue
        alive, reason = judge(rec)
        if not alive:
            out.append((path, rec.pid, reason))
    return out



def _own_record(ctx: DoctorContext) -> Finding:
    stale = _stale_own_files(ctx)
    if stale:
        _, pid, reason = stale[0]
        files = ", ".join(str(p) for p, _, _ in stale)
        return Finding(
            "instance.record", WARN,
            f"stale instance record of this profile's gateway (pid {pid}): {reason}; it did not stop cleanly "
            f"(killed?) and left {files}",
            f"`{ctx.invocation()} doctor --fix` removes it", repair=lambda: _remove(stale),
        )
    if ctx.record is not None and ctx.record_alive:
        rec = ctx.record
        return Finding("instance.record", OK, f"this profile's gateway runs: pid {rec.pid}, port {rec.port}")
    return Finding("instance.record", OK, "no instance record: no gateway of this profile is running")


def _remove(stale: list[tuple[Path, int, str]]) -> str:
    removed = []
    for path, pid, _ in stale:
        rec = read_record(path)
        if rec is None or rec.pid != pid or judge(rec)[0]:
            continue  # replaced by a newer gateway meanwhile: not ours to remove
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise RepairError(f"cannot remove {path}: {exc.strerror or exc}") from None
        removed.append(str(path))
    return f"removed the stale instance record of pid {stale[0][1]} ({', '.join(removed) or 'already gone'})"


def _registry(ctx: DoctorContext) -> list[Finding]:
    """Stale records of other gateways of this user (other profiles, custom state dirs)."""
    mine = real_path(ctx.paths.state_dir)
    stale = [i for i in list_instances(ctx.paths.home) if not i.alive and real_path(Path(i.record.state_dir)) != mine]
    if not stale:
        return []
    names = "; ".join(f"profile \"{i.profile_name}\" pid {i.record.pid} ({i.reason})" for i in stale)
    home = ctx.paths.home

    def repair() -> str:
        removed = prune(home)
        return "pruned stale registry records: " + (", ".join(str(i.path) for i in removed) or "none left")

    return [Finding("instance.registry", WARN, f"stale records of other gateways in the host registry: {names}",
                    "`openclaw doctor --fix` prunes them", repair=repair)]


def _lock(ctx: DoctorContext) -> Finding:
    lock = ctx.paths.lock_file
    if not lock.exists():
        return Finding("instance.lock", OK, f"no lock file yet ({lock})")
    try:
        text = lock.read_text().strip()
    except OSError:
        text = ""
    held = ctx.record is not None and ctx.record_alive and text == str(ctx.record.pid)
    if held:
        return Finding("instance.lock", OK, f"{lock} is held by the running gateway (pid {text})")
    last = f" (last held by pid {text})" if text else ""
    return Finding("instance.lock", OK, f"{lock} is a kernel lock (flock) released when its holder exits{last}: "
                   "never stale, nothing to remove")
