"""What a lifecycle verb did, printed for a human or as JSON, and the exit code.

JSON: `{action, ok, via, service:{label, path, ...}, pid?, message?, error?, hints?, ...}`
(upstream's failure shape is `{"action":"stop","ok":false,"error":...}`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from openclaw.ipc.errors import ExitCode

from ..output import print_json, style

SERVICE_VERBS = ("install", "uninstall", "start", "stop", "restart")


class UsageProblem(Exception):
    """A flag or combination this verb refuses (exit 2)."""


@dataclass
class Outcome:
    action: str
    ok: bool = True
    via: str | None = None
    service: dict[str, Any] | None = None
    pid: int | None = None
    message: str | None = None
    error: str | None = None
    hints: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # human output, in order
    extra: dict[str, Any] = field(default_factory=dict)
    exit_code: int = ExitCode.OK

    def say(self, line: str) -> Outcome:
        self.lines.append(line)
        return self

    def done(self, message: str) -> Outcome:
        self.message = message
        self.lines.append(message)
        return self

    def fail(self, error: str, code: int = ExitCode.FAILURE, hints: list[str] | None = None) -> Outcome:
        self.ok = False
        self.error = error
        self.exit_code = int(code)
        self.hints.extend(hints or [])
        return self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "ok": self.ok}
        if self.action in SERVICE_VERBS:
            out.update(via=self.via, service=self.service)
        if self.pid is not None:
            out["pid"] = self.pid
        if self.message:
            out["message"] = self.message
        if self.error:
            out["error"] = self.error
        if self.hints:
            out["hints"] = list(self.hints)
        out.update(self.extra)
        return out


def service_json(view: Any) -> dict[str, Any]:
    """The `service` object: the ServiceView, with `path` (upstream's name for the definition file)."""
    data = view.to_json()
    return {"label": data["label"], "path": data["definitionPath"], **data}


def emit(outcome: Outcome, as_json: bool) -> None:
    """Print the outcome; raise SystemExit with its code when it failed."""
    if as_json:
        print_json(outcome.to_json())
    else:
        for line in outcome.lines:
            print(line)
        sys.stdout.flush()
        if outcome.error:
            sys.stderr.write(style(f"Error: {outcome.error}", fg="red", stream=sys.stderr) + "\n")
        for hint in outcome.hints:
            stream = sys.stderr if outcome.error else sys.stdout
            stream.write(style(f"Hint: {hint}", fg="yellow", stream=stream) + "\n")
        sys.stderr.flush()
        sys.stdout.flush()
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)
