"""The multicast DNS side of the advertiser: one `_openclaw-gw._tcp.local.` service on zeroconf.

`publish(a)` registers the announcement, or updates it (a changed port, bind or TXT is re-announced),
or withdraws and re-registers it when its name changed; `withdraw()` sends the goodbye packets;
`reset()` drops the zeroconf instance after a failure so the next attempt starts clean.
Every step is bounded (STEP_TIMEOUT_S).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from zeroconf import InterfaceChoice, IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from openclaw.ipc.discovery_config import SERVICE_TYPE

from .announcement import Announcement

SERVICE = f"{SERVICE_TYPE}.local."
STEP_TIMEOUT_S = 5.0  # probing + announcing take ~2 s on a quiet network


def service_info(a: Announcement) -> ServiceInfo:
    return ServiceInfo(
        SERVICE, f"{a.instance_name}.{SERVICE}", port=a.port, properties=dict(a.txt),
        server=f"{a.hostname}.local.", parsed_addresses=list(a.addresses),
    )


class Publisher:
    def __init__(self, before_publish: Callable[[], None] = lambda: None) -> None:
        self._zc: AsyncZeroconf | None = None
        self._info: ServiceInfo | None = None
        self._published: Announcement | None = None
        self._before_publish = before_publish  # fault injection (raise:N) happens here

    @property
    def published(self) -> Announcement | None:
        return self._published

    async def publish(self, a: Announcement) -> bool:
        """True if something was (re-)announced, False if `a` is already what is out there."""
        self._before_publish()
        if self._published == a:
            return False
        if self._zc is None:
            self._zc = AsyncZeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
        info = service_info(a)
        if self._info is not None and self._info.name == info.name:
            await self._step(self._zc.async_update_service(info))
        else:
            if self._info is not None:
                await self._step(self._zc.async_unregister_service(self._info))
                self._info = self._published = None
            await self._step(self._zc.async_register_service(info))
        self._info, self._published = info, a
        return True

    async def withdraw(self) -> None:
        """Goodbye packets (TTL 0) for the service, then close."""
        zc, info = self._zc, self._info
        self._zc = self._info = self._published = None
        if zc is None:
            return
        try:
            if info is not None:
                await self._step(zc.async_unregister_service(info))
        finally:
            await asyncio.wait_for(zc.async_close(), STEP_TIMEOUT_S)

    async def reset(self) -> None:
        """After a failure: forget everything; the next publish starts from a fresh zeroconf."""
        zc, self._zc, self._info, self._published = self._zc, None, None, None
        if zc is not None:
            try:
                await asyncio.wait_for(zc.async_close(), STEP_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - it is being thrown away
                pass

    @staticmethod
    async def _step(started: object) -> None:
        """zeroconf's async_* return an awaitable that resolves once the packets went out."""
        pending = await asyncio.wait_for(started, STEP_TIMEOUT_S)  # type: ignore[arg-type]
        if pending is not None:
            await asyncio.wait_for(pending, STEP_TIMEOUT_S)
