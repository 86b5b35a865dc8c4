"""One chaos run: bring up (or find) the gateway, start the load, run the scenarios one after
the other, stop the load, and clean up whatever happens (also on errors and interrupts)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from typing import Any

from .control import ControlClient, LogFollower
from .load import Load
from .scenarios import SCENARIOS, Ctx, Outcome
from .stats import Recorder
from .target import DEFAULT_FAULTS, SpawnedGateway, Target
from .wire import ConnectFailure, check_loopback_url, open_session

SETTLE_TIMEOUT_S = 30.0


class Run:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.opts = opts
        self.rec = Recorder()
        self.outcomes: list[Outcome] = []
        self.info: dict[str, Any] = {}
        self.cleanup_notes: list[str] = []
        self.gw: SpawnedGateway | None = None
        self.target: Target | None = None
        self.ctl: ControlClient | None = None
        self.logs: LogFollower | None = None
        self.load: Load | None = None

    def say(self, text: str) -> None:
        if not self.opts.quiet:
            print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    async def main(self) -> None:
        try:
            await self._setup()
            await self._scenarios()
            await self._stop_load()
        finally:
            await self._cleanup()

    async def _setup(self) -> None:
        opts = self.opts
        if opts.spawn:
            self.gw = SpawnedGateway(opts.openclaw, opts.faults if opts.faults is not None else DEFAULT_FAULTS)
            self.say("starting a gateway in a temp home")
            await self.gw.start()
            self.target = Target("127.0.0.1", self.gw.port, self.gw.token, self.gw)
            self.say(f"gateway up: pid {self.gw.pid}, port {self.gw.port}, home {self.gw.dir}")
        else:
            host, port = check_loopback_url(opts.url)
            self.target = Target(host, port, opts.token)
            try:  # fail fast on a wrong port or token instead of retrying for the call deadline
                ws, _ = await open_session(self.target.url, self.target.token, "probe")
                await ws.close()
            except ConnectFailure as exc:
                raise RuntimeError(f"cannot open a session on {self.target.url}: {exc}") from None
        self.ctl = ControlClient(self.target.url, self.target.token, self.rec)
        await self.target.discover(self.ctl, opts.faults)
        self.logs = LogFollower(self.ctl)
        await self.logs.start()
        procs = await self.target.processes(self.ctl)
        self.info = {
            "mode": "spawn" if opts.spawn else "url",
            "url": self.target.url,
            "supervisorPid": self.target.supervisor_pid,
            "configPath": str(self.target.config.path) if self.target.config else None,
            "faults": self.target.faults,
            "processes": {n: p.pid for n, p in procs.items()},
        }
        self.load = Load(
            self.target.url, self.target.http, self.target.token, self.rec, opts.clients, opts.rate, opts.http_rate, opts.methods,
        )
        self.rec.set_phase("baseline")
        self.load.start()
        if not await self.load.wait_all_connected(20):
            self.say(f"only {self.load.connected()}/{opts.clients} clients connected after 20 s")
        self.say(f"load running: {opts.clients} clients x {opts.rate}/s, HTTP probes {opts.http_rate}/s; baseline {opts.baseline}s")
        baseline = Outcome("baseline", started=time.time())
        await asyncio.sleep(opts.baseline)
        baseline.ended = time.time()
        self.outcomes.append(baseline)

    def _ctx(self) -> Ctx:
        assert self.target and self.ctl and self.logs
        return Ctx(self.opts, self.target, self.ctl, self.logs, self.load, self.rec)

    async def _scenarios(self) -> None:
        for name in self.opts.scenarios:
            spec = SCENARIOS[name]
            out = Outcome(name, started=time.time())
            self.outcomes.append(out)
            if spec.spawn_only and self.gw is None:
                out.skipped = "only with --spawn"
                self.say(f"{name}: skipped ({out.skipped})")
                continue
            if spec.without_load:
                await self._stop_load()
            self.rec.set_phase(name)
            self.say(f"{name}: {spec.about}")
            try:
                await asyncio.wait_for(spec.run(self._ctx(), out), self.opts.scenario_timeout)
            except asyncio.TimeoutError:
                out.check("completed", False, f"still running after {self.opts.scenario_timeout:.0f}s; abandoned")
            except Exception as exc:  # noqa: BLE001 - one scenario's failure is reported, the run goes on
                out.check("completed", False, f"{type(exc).__name__}: {exc}")
                if self.opts.verbose:
                    traceback.print_exc()
            out.ended = time.time()
            if out.skipped:
                self.say(f"{name}: skipped ({out.skipped})")
                continue
            if not spec.without_load:
                await self._settle(out)
            failed = sum(1 for c in out.checks if not c.ok)
            self.say(f"{name}: done in {out.ended - out.started:.1f}s" + (f", {failed} check(s) failed" if failed else "")
                     + " (load criteria are judged when the load has stopped)")

    async def _settle(self, out: Outcome) -> None:
        """Between scenarios: the original config back, and every child running again."""
        ctx = self._ctx()
        try:
            h, _ = await ctx.restore_config()
            if h is not None:
                out.notes.append("the config file was restored after the scenario")
        except Exception as exc:  # noqa: BLE001
            out.check("config restored", False, repr(exc))
        if not await ctx.wait_ready(SETTLE_TIMEOUT_S):
            _, body = await ctx.readyz()
            out.check("gateway ready again afterwards", False, f"/readyz still failing: {body.get('failing')}")

    async def _stop_load(self) -> None:
        if self.load is None:
            return
        load, self.load = self.load, None
        self.rec.set_phase("drain")
        self.say(f"stopping the load (waiting up to {self.opts.drain:.0f}s for answers still owed)")
        await load.stop(self.opts.drain)

    async def _cleanup(self) -> None:
        if self.load is not None:
            load, self.load = self.load, None
            await load.stop(0.5)
        if self.target is not None and self.target.config is not None and (self.gw is None or self.gw.running()):
            try:
                if self.target.config.restore() is not None:
                    self.cleanup_notes.append("restored the config file")
            except OSError as exc:
                self.cleanup_notes.append(f"could not restore the config file: {exc}")
        if self.logs is not None:
            await self.logs.stop()
        if self.ctl is not None:
            await self.ctl.close()
        if self.target is not None:
            killed = self.target.guard.cleanup()
            if killed:
                self.cleanup_notes.append(f"killed stopped processes left behind: {killed}")
        if self.gw is not None:
            self.say("stopping the gateway")
            await self.gw.stop()
            left = self.gw.leftovers()
            if left:
                self.cleanup_notes.append(f"processes still there after the stop: {[p.pid for p in left]}")
                self.gw.kill_leftovers()
            self.gw.remove_dir()
