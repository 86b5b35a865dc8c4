"""What a check finds: a verdict with a message, a hint for a person, and maybe a safe repair."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"
RANK = {OK: 0, WARN: 1, FAIL: 2}


class RepairError(Exception):
    """A repair that could not be done; the message says why."""


@dataclass
class Finding:
    id: str
    status: str  # ok | warn | fail
    message: str
    fix: str | None = None  # what a person can do
    repair: Callable[[], str] | None = None  # what --fix does; returns the change made, or raises RepairError
    fixed: bool | None = None  # set by --fix: repaired (True) or tried and failed (False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status, "message": self.message}
        if self.fix:
            out["fix"] = self.fix
        if self.fixed is not None:
            out["fixed"] = self.fixed
        return out


def worst(statuses: list[str]) -> str:
    return max(statuses, key=RANK.__getitem__, default=OK)
