"""Fault injection by environment, for tests and ops/chaos. Inert when unset.

    OPENCLAW_FAULTS="agent=exit-on-start;node=hang-after:20;channel:demo=ignore-term;frontend=slow-ready:2000"

A target is a child name (`frontend`, `agent`, `node`, `channel:<id>`, `advertiser`); several faults for
one target are comma-separated. Faults:

| fault          | effect                                                                 |
| -------------- | ---------------------------------------------------------------------- |
| exit-on-start  | the process exits 1 as it starts (a boot crash)                        |
| exit-after:N   | the process dies (exit 1, no cleanup) on its N-th request              |
| hang-after:N   | the N-th request blocks the event loop forever (a wedged process)      |
| slow-ready:MS  | the process reports Ready MS milliseconds late                         |
| ignore-term    | SIGTERM is ignored (the supervisor must escalate to SIGKILL)           |
| raise:N        | the first N attempts of the process's optional work raise inside it    |
|                | (the advertiser: publishing); it must catch, back off and retry (R13)  |

"Request" means a WebSocket request for the front-end and a routed call for a worker.
"""

from __future__ import annotations

import os
import re
import sys
import time

ENV = "OPENCLAW_FAULTS"
_FLAGS = {"exit-on-start", "ignore-term"}
_COUNTS = {"exit-after", "hang-after", "slow-ready", "raise"}


_TARGET = re.compile(r"^(frontend|agent|node|advertiser|canvas|channel:[a-z][a-z0-9_-]{0,31})$")


class InjectedFault(RuntimeError):
    """Raised by `Faults.maybe_raise`: an injected failure of a subsystem, to be survived."""


class FaultSpecError(ValueError):
    pass


class Faults:
    __slots__ = (
        "target", "exit_on_start", "exit_after", "hang_after", "slow_ready_ms", "ignore_term", "requests", "raises_left",
    )

    def __init__(self, target: str) -> None:
        self.target = target
        self.exit_on_start = False
        self.exit_after: int | None = None
        self.hang_after: int | None = None
        self.slow_ready_ms = 0
        self.ignore_term = False
        self.requests = 0
        self.raises_left = 0

    def maybe_raise(self, what: str) -> None:
        """`raise:N`: the first N calls raise InjectedFault."""
        if self.raises_left > 0:
            self.raises_left -= 1
            raise InjectedFault(f"fault injected: raise in {what} ({self.raises_left} left)")

    def on_start(self) -> None:
        if self.exit_on_start:
            sys.stderr.write(f"openclaw {self.target}: fault injected: exit-on-start\n")
            sys.stderr.flush()
            os._exit(1)

    def on_request(self) -> None:
        self.requests += 1
        if self.exit_after is not None and self.requests >= self.exit_after:
            sys.stderr.write(f"openclaw {self.target}: fault injected: exit-after:{self.exit_after}\n")
            sys.stderr.flush()
            os._exit(1)
        if self.hang_after is not None and self.requests >= self.hang_after:
            sys.stderr.write(f"openclaw {self.target}: fault injected: hang-after:{self.hang_after}\n")
            sys.stderr.flush()
            while True:  # wedge the event loop: no heartbeat, no answer
                time.sleep(3600)


def parse(spec: str) -> dict[str, Faults]:
    """`OPENCLAW_FAULTS` text -> faults per target; FaultSpecError names what is wrong."""
    out: dict[str, Faults] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        target, sep, faults = part.partition("=")
        target = target.strip()
        if not sep or not target or not faults.strip():
            raise FaultSpecError(f"{ENV}: expected target=fault[,fault], got {part!r}")
        if not _TARGET.match(target):
            raise FaultSpecError(f"{ENV}: unknown target {target!r} (frontend, agent, node, advertiser, canvas, channel:<id>)")
        f = out.setdefault(target, Faults(target))
        for item in filter(None, (x.strip() for x in faults.split(","))):
            name, _, arg = item.partition(":")
            if name in _FLAGS and not arg:
                if name == "exit-on-start":
                    f.exit_on_start = True
                else:
                    f.ignore_term = True
            elif name in _COUNTS and arg.isdigit() and int(arg) > 0:
                n = int(arg)
                if name == "exit-after":
                    f.exit_after = n
                elif name == "hang-after":
                    f.hang_after = n
                elif name == "raise":
                    f.raises_left = n
                else:
                    f.slow_ready_ms = n
            else:
                raise FaultSpecError(
                    f"{ENV}: unknown fault {item!r} for {target} "
                    "(exit-on-start, exit-after:N, hang-after:N, slow-ready:MS, ignore-term, raise:N)"
                )
    return out


def faults_for(target: str, env: dict[str, str] | None = None) -> Faults | None:
    spec = (os.environ if env is None else env).get(ENV)
    if not spec:
        return None
    try:
        return parse(spec).get(target)
    except FaultSpecError:
        return None  # the supervisor refuses a bad spec at start; a child never guesses
