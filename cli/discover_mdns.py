"""Browse and resolve `_openclaw-gw._tcp.local.` over multicast DNS (zeroconf), bounded in time:
browsing lasts `timeout_s`; each service found is resolved within `timeout_s` of being seen."""

from __future__ import annotations

import asyncio

from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from openclaw.ipc.discovery_config import SERVICE_TYPE

from .discover_beacons import Resolved

SERVICE = f"{SERVICE_TYPE}.local."


def _txt(info: AsyncServiceInfo) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (info.properties or {}).items():
        key = k.decode(errors="replace") if isinstance(k, bytes) else str(k)
        out[key] = v.decode(errors="replace") if isinstance(v, bytes) else ("" if v is None else str(v))
    return out


async def browse(timeout_s: float) -> list[Resolved]:
    azc = AsyncZeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
    found: list[Resolved] = []
    tasks: set[asyncio.Task[None]] = set()
    seen: set[str] = set()

    async def resolve(name: str) -> None:
        info = AsyncServiceInfo(SERVICE, name)
        if not await info.async_request(azc.zeroconf, int(timeout_s * 1000)):
            return
        instance = name[: -len(SERVICE) - 1] if name.endswith("." + SERVICE) else name
        found.append(Resolved(
            instance_name=instance, domain="local.", server=info.server or "", port=info.port or 0,
            addresses=info.parsed_scoped_addresses(), txt=_txt(info),
        ))

    def on_change(zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated) and name not in seen:
            seen.add(name)
            task = asyncio.get_running_loop().create_task(resolve(name))
            tasks.add(task)

    browser = AsyncServiceBrowser(azc.zeroconf, [SERVICE], handlers=[on_change])
    try:
        await asyncio.sleep(timeout_s)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
    finally:
        for t in tasks:
            t.cancel()
        await browser.async_cancel()
        await azc.async_close()
    return found
