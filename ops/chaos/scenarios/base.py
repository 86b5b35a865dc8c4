"""What every scenario gets (Ctx) and gives back (Outcome), and the waits they share."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil

from ..control import ControlClient, LogFollower
from ..load import Load
from ..stats import WORKER_OF, Recorder, Request
from ..target import Proc, Target


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    key: str = ""  # the headline figure, for the summary table
    skipped: str | None = None  # why it did not run
    started: float = 0.0
    ended: float = 0.0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass
class Ctx:
    opts: argparse.Namespace
    target: Target
    ctl: ControlClient
    logs: LogFollower
    load: Load | None
    rec: Recorder

    # ------------------------------------------------------------------ config edits

    async def edit_and_wait(self, change: Callable[[dict[str, Any]], None], timeout: float = 10.0) -> tuple[str, float, float | None]:
        """Write an edit; (hash, write time, seconds until health.configReload.lastGoodHash showed it)."""
        assert self.target.config is not None
        h = self.target.config.edit(change)
        t0 = time.time()
        return h, t0, await self.wait_hash(h, t0, timeout)

    async def wait_hash(self, h: str, t0: float, timeout: float = 10.0) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                health = await self.ctl.call("health", timeout=max(0.5, deadline - time.monotonic()))
                if (health.get("configReload") or {}).get("lastGoodHash") == h:
                    return time.time() - t0
            except Exception:  # noqa: BLE001 - a restarting front-end: ask again
                pass
            await asyncio.sleep(0.02)
        return None

    async def restore_config(self, timeout: float = 15.0) -> tuple[str | None, float | None]:
        """The original config file back; (hash, seconds until applied) or (None, None) if unchanged."""
        assert self.target.config is not None
        h = self.target.config.restore()
        if h is None:
            return None, None
        t0 = time.time()
        return h, await self.wait_hash(h, t0, timeout)

    async def last_actions(self) -> list[str]:
        try:
            return list(((await self.ctl.call("health", timeout=5)).get("configReload") or {}).get("lastActions") or [])
        except Exception:  # noqa: BLE001
            return []

    # ------------------------------------------------------------------ processes

    async def procs(self) -> dict[str, Proc]:
        return await self.target.processes(self.ctl)

    async def wait_procs(self, pred: Callable[[dict[str, Proc]], bool], timeout: float, every: float = 0.02) -> tuple[dict[str, Proc] | None, float]:
        """Poll `status` until `pred` holds; (processes, seconds waited) or (None, timeout)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                procs = await self.target.processes(self.ctl, timeout=max(0.5, timeout - (time.monotonic() - t0)))
                if pred(procs):
                    return procs, time.monotonic() - t0
            except Exception:  # noqa: BLE001
                pass
            await asyncio.sleep(every)
        return None, timeout

    async def wait_running(self, names: list[str], timeout: float = 30.0) -> dict[str, Proc] | None:
        procs, _ = await self.wait_procs(lambda p: all(n in p and p[n].state == "running" for n in names), timeout, 0.05)
        return procs

    async def readyz(self) -> tuple[int | None, dict[str, Any]]:
        return await http_get(self.target.http + "/readyz")

    async def wait_ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _ = await self.readyz()
            if status == 200:
                return True
            await asyncio.sleep(0.1)
        return False

    async def worker_names(self) -> list[str]:
        procs = await self.procs()
        return [n for n in ("agent", "node") if n in procs] + sorted(n for n in procs if n.startswith("channel:") and n != "channel:crashy")

    # ------------------------------------------------------------------ what the clients saw

    def requests_between(self, t0: float, t1: float) -> list[Request]:
        return [r for r in self.rec.requests if r.answered is not None and t0 <= r.answered <= t1]

    def first_worker_lost(self, worker: str, after: float, until: float) -> Request | None:
        hits = [
            r for r in self.requests_between(after, until)
            if r.reason == "worker-lost" and WORKER_OF.get(r.method) == worker
        ]
        return min(hits, key=lambda r: r.answered or 0) if hits else None

    def failures_between(self, t0: float, t1: float, worker: str | None = None) -> int:
        return sum(
            1 for r in self.requests_between(t0, t1)
            if not r.ok and (worker is None or WORKER_OF.get(r.method) == worker)
        )

    def events_between(self, items: list[dict[str, Any]], t0: float, t1: float) -> list[dict[str, Any]]:
        return [x for x in items if t0 <= x["time"] <= t1]


async def http_get(url: str, timeout: float = 5.0) -> tuple[int | None, dict[str, Any]]:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
            async with s.get(url) as resp:
                try:
                    body = await resp.json(content_type=None)
                except Exception:  # noqa: BLE001
                    body = {}
                return resp.status, body if isinstance(body, dict) else {}
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return None, {"error": repr(exc)}


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


async def wait_gone(pid: int | None, timeout: float) -> bool:
    """Wait (bounded) until `pid` has exited; True if it did."""
    deadline = time.monotonic() + timeout
    while pid:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def set_key(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A config edit: set the dotted `path` (creating objects on the way) to `value`."""
    keys = path.split(".")

    def change(data: dict[str, Any]) -> None:
        node = data
        for k in keys[:-1]:
            if not isinstance(node.get(k), dict):
                node[k] = {}
            node = node[k]
        node[keys[-1]] = value
    return change


def drop_key(path: str) -> Callable[[dict[str, Any]], None]:
    """A config edit: remove the dotted `path` if it is there."""
    *parents, last = path.split(".")

    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for k in parents:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return change


def spread(label: str, values: list[Any]) -> str:
    """`label min/median/max` over the numbers in `values` ('' when there are none)."""
    got = sorted(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
    if not got:
        return ""
    return f"{label} {got[0]}/{got[len(got) // 2]}/{got[-1]}"


Scenario = Callable[[Ctx, Outcome], Awaitable[None]]


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    run: Scenario
    about: str
    spawn_only: bool = False  # needs a gateway this tool started (it stops it)
    without_load: bool = False  # the load is stopped (and accounted) before it runs
