"""The advertiser: a supervised optional child (kind "advertiser") that announces the gateway as
`_openclaw-gw._tcp` over multicast DNS and, with `discovery.wideArea.domain`, writes the unicast
DNS-SD zone. It serves no methods; its state is the `discovery` fragment of `health`.

It fails soft twice over (field report R13):
* inside: a failed publish (an exception from zeroconf, a network that is gone, an injected
  `raise:N`) is logged and retried with backoff (0.5 s doubling to 60 s; OPENCLAW_ADVERTISER_BACKOFF_MS
  "initial,cap" for tests); the process keeps running and heartbeating;
* outside: if the process itself dies, the supervisor restarts it with backoff (capped at 60 s) and
  never gives up on it; /readyz stays 200 and lists it under `degraded`.

A hot change of discovery.*, the port, bind or TLS re-announces (ApplyConfig); a stop withdraws
(goodbye packets, bounded).

    states: starting -> advertising | retrying -> advertising ... ; off (mDNS off, zone only)
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from typing import Any

from openclaw.ipc import control
from openclaw.ipc.discovery_config import DiscoverySettings, resolve_discovery
from openclaw.ipc.faults import faults_for
from openclaw.workers.runtime import Worker

from .announcement import Announcement, build, interface_addresses
from .publisher import Publisher
from .tailnet import Tailnet
from .tailnet import lookup as tailnet_lookup
from .zone import write_zone

WITHDRAW_TIMEOUT_S = 1.5
BACKOFF_ENV = "OPENCLAW_ADVERTISER_BACKOFF_MS"


@dataclass
class RetryBackoff:
    """initial doubling to cap, +-20 % jitter; `failures` counts the delays handed out."""

    initial_s: float = 0.5
    cap_s: float = 60.0
    failures: int = 0

    def next_delay(self) -> float:
        base = min(self.cap_s, self.initial_s * (2 ** min(self.failures, 32)))
        self.failures += 1
        return max(0.0, base * random.uniform(0.8, 1.2))


def retry_backoff(env: dict[str, str]) -> RetryBackoff:
    initial, cap = 500, 60_000
    raw = env.get(BACKOFF_ENV, "")
    if raw:
        try:
            a, _, b = raw.partition(",")
            initial, cap = max(1, int(a)), max(1, int(b or cap))
        except ValueError:
            pass
    return RetryBackoff(initial / 1000, cap / 1000)


class AdvertiserWorker(Worker):
    kind = "advertiser"

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        self.env = dict(os.environ)
        self.faults = faults_for("advertiser")
        self.publisher = Publisher(self._maybe_fail)
        self.backoff = retry_backoff(self.env)
        self.changed = asyncio.Event()
        self.state = "starting"
        self.failures = 0  # in a row
        self.total_failures = 0
        self.last_error: str | None = None
        self.last_announced_ms: int | None = None
        self.zone_file: str | None = None
        self.announcement: Announcement | None = None
        self._task: asyncio.Task[None] | None = None

    def title(self) -> str:
        return "openclaw-gateway: advertiser"

    def _maybe_fail(self) -> None:
        if self.faults is not None:
            self.faults.maybe_raise("mDNS publish")

    def settings(self) -> DiscoverySettings:
        return resolve_discovery(self.config, self.env)

    def health_fragment(self) -> dict[str, Any]:
        s = self.settings()
        a = self.announcement
        return {"discovery": {
            "mdns": {"mode": s.mode, "configuredMode": s.configured_mode, "disabledReason": s.disabled_reason},
            "wideArea": {"domain": s.wide_area_domain, "zoneFile": self.zone_file},
            "state": self.state, "failures": self.failures, "totalFailures": self.total_failures,
            "lastError": self.last_error, "lastAnnouncedAtMs": self.last_announced_ms,
            "instanceName": a.instance_name if a else None, "port": a.port if a else None,
            "txt": a.txt if a else None,
        }}

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def apply_config(self, config: dict[str, Any], paths: list[str]) -> None:
        super().apply_config(config, paths)
        self.changed.set()  # the gateway (port, bind) came with the same message

    async def _run(self) -> None:
        while True:
            self.changed.clear()
            try:
                await self._announce_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - R13: nothing in here may end the process
                await self._failed(exc)
                continue
            self.failures = 0
            self.backoff.failures = 0
            self.publish_health()
            await self.changed.wait()

    async def _announce_once(self) -> None:
        s = self.settings()
        tn = Tailnet()
        if s.mode == "full" or s.wide_area_domain:  # bounded (tailnet.py); never raises
            tn = await asyncio.to_thread(tailnet_lookup, self.env)
        a = build(s.mode, self.gateway, self.config, self.env, interface_addresses(), tailnet_dns=tn.dns_name)
        self.announcement = a
        if s.mdns:
            if await self.publisher.publish(a):
                self.log.info("announced", service=f"{a.instance_name}._openclaw-gw._tcp.local.", port=a.port,
                              addresses=list(a.addresses), mode=s.mode)
                self.last_announced_ms = int(time.time() * 1000)
            self.state = "advertising"
        else:
            if self.publisher.published is not None:
                await self.publisher.withdraw()
                self.log.info("mDNS announcement withdrawn", reason=s.disabled_reason or "discovery.mdns.mode off")
            self.state = "off"
        if s.wide_area_domain:
            path = str(write_zone(self.gateway.state_dir, s.wide_area_domain, a, tn.addresses or None))
            if path != self.zone_file:
                self.log.info("wide-area DNS-SD zone written", domain=s.wide_area_domain, file=path)
            self.zone_file = path
        self.last_error = None

    async def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.total_failures += 1
        self.state = "retrying"
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        delay = self.backoff.next_delay()
        if self.failures <= 3 or self.failures % 50 == 0:  # a crash loop does not flood the log
            self.log.warn("advertising failed; retrying", error=self.last_error, failures=self.failures,
                          delay_ms=int(delay * 1000))
        try:
            await self.publisher.reset()
        except Exception:  # noqa: BLE001
            pass
        self.publish_health()
        try:
            await asyncio.wait_for(self.changed.wait(), delay)
        except TimeoutError:
            pass
        else:
            self.backoff.failures = 0  # a config change retries at once, from the start of the backoff

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await asyncio.wait_for(self.publisher.withdraw(), WITHDRAW_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - the records expire on their own (TTL)
            self.log.warn("withdrawing the announcement failed", error=repr(exc)[:200])
        else:
            self.log.info("announcement withdrawn")


def make_worker(cfg: control.Configure) -> AdvertiserWorker:
    return AdvertiserWorker(cfg)
