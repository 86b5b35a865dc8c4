"""Who is on the other end: the peer address, or the client address a trusted proxy forwarded.

Forwarded headers count only from a peer listed in `gateway.trustedProxies` (IPs or CIDRs); the
client is then the right-most X-Forwarded-For entry that is not itself a trusted proxy. Forwarded
headers from any other peer are refused (`proxy_attribution_required`): an unconfigured reverse
proxy on loopback must not make every remote client look local.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORWARD_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientAddress:
    ip: str
    is_loopback: bool  # a direct loopback peer (forwarded clients never are)
    forwarded: bool
    refused: str | None = None  # why forwarded headers were not accepted


def parse_trusted(value: Any) -> list[Network]:
    out: list[Network] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            try:
                out.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                continue
    return out


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4 with a port
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_loopback_ip(text: str) -> bool:
    addr = _ip(text)
    return addr is not None and addr.is_loopback


def resolve(peer: str, headers: Mapping[str, str], trusted: list[Network]) -> ClientAddress:
    peer_addr = _ip(peer)
    has_forward = any(h in headers for h in FORWARD_HEADERS)
    local = peer_addr is not None and peer_addr.is_loopback
    if not has_forward:
        return ClientAddress(peer, local, False)
    if peer_addr is None or not any(peer_addr in n for n in trusted):
        return ClientAddress(peer, False, False, refused="proxy_attribution_required")
    chain = [p for p in (headers.get("X-Forwarded-For") or "").split(",") if p.strip()]
    for hop in reversed(chain):
        addr = _ip(hop)
        if addr is None:
            return ClientAddress(peer, False, True, refused="bad_forwarded_for")
        if not any(addr in n for n in trusted):
            return ClientAddress(str(addr), False, True)
    return ClientAddress(peer, False, True, refused="proxy_attribution_required")
