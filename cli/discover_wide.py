"""Wide-area (unicast) DNS-SD browsing of `_openclaw-gw._tcp.<domain>` (RFC 6763 over plain DNS),
bounded in time: PTR `_openclaw-gw._tcp.<domain>` lists the instances; per instance SRV + TXT, then
A/AAAA of the SRV target, all within `timeout_s` of the start.

    nameserver   --dns-server host[:port] / OPENCLAW_DISCOVERY_DNS_SERVER (an IP address, port 53
                 by default), else the system resolver (/etc/resolv.conf)
    NXDOMAIN / no PTR      -> nothing announced there: []
    no answer in time, SERVFAIL, REFUSED, no resolver configured -> WideAreaError (exit 1)

An instance whose SRV is missing is skipped; a missing TXT or address is left out of its beacon.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
from openclaw.ipc.discovery_config import SERVICE_TYPE

from .discover_beacons import Resolved

ENV_DNS_SERVER = "OPENCLAW_DISCOVERY_DNS_SERVER"
ENV_WIDE_AREA_DOMAIN = "OPENCLAW_WIDE_AREA_DOMAIN"
MDNS_DOMAIN = "local."
DNS_PORT = 53
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAX_NAME = 253


class WideAreaError(Exception):
    """The domain could not be browsed (the message says which server and why)."""


def normalize_domain(raw: str) -> str:
    """"openclaw.internal" -> "openclaw.internal." (letters, digits, hyphens; ValueError otherwise)."""
    text = raw.strip()
    bare = text.removesuffix(".")
    if not bare or len(bare) > MAX_NAME or not all(_LABEL.match(label) for label in bare.split(".")):
        raise ValueError(f"not a valid DNS domain: {raw!r} (labels of letters, digits and hyphens, e.g. openclaw.internal)")
    return bare.lower() + "."


def parse_dns_server(raw: str) -> tuple[str, int]:
    """"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353" -> (address, port)."""
    text = raw.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"not a DNS server address: {raw!r} (expected host[:port], [v6]:port)")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"not a DNS server address: {raw!r} (an IP address, optionally :port)") from None
    port = DNS_PORT
    if port_text or text.endswith(":"):
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"not a DNS server port: {raw!r} (1..65535)")
        port = int(port_text)
    return address, port


def _resolver(server: tuple[str, int] | None) -> dns.asyncresolver.Resolver:
    if server is None:
        try:
            return dns.asyncresolver.Resolver()
        except (dns.resolver.NoResolverConfiguration, OSError) as exc:
            raise WideAreaError(f"no system DNS resolver configured (/etc/resolv.conf): {exc}; use --dns-server") from None
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = [server[0]]
    r.port = server[1]
    return r


def _server_text(server: tuple[str, int] | None) -> str:
    if server is None:
        return "the system resolver"
    host = f"[{server[0]}]" if ":" in server[0] else server[0]
    return f"{host}:{server[1]}"


def _txt(answer: dns.resolver.Answer | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if answer is None or answer.rrset is None:
        return out
    for rdata in answer.rrset:
        for raw in rdata.strings:
            text = raw.decode(errors="replace")
            key, _, value = text.partition("=")
            if key:
                out.setdefault(key, value)  # RFC 6763 §6.4: the first occurrence counts
    return out


class _Browser:
    def __init__(self, domain: str, server: tuple[str, int] | None, timeout_s: float) -> None:
        self.domain, self.server, self.timeout_s = domain, server, timeout_s
        self.resolver = _resolver(server)
        self.deadline = asyncio.get_running_loop().time() + timeout_s

    def _left(self) -> float:
        return max(0.001, self.deadline - asyncio.get_running_loop().time())

    async def query(self, name: dns.name.Name, rdtype: str, required: bool) -> dns.resolver.Answer | None:
        """The answer, or None when the name or record does not exist; WideAreaError when `required`
        and the server fails (an optional record's failure is just a missing record)."""
        left = self._left()
        self.resolver.timeout = left
        try:
            return await self.resolver.resolve(name, rdtype, search=False, lifetime=left, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return None
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.YXDOMAIN, OSError) as exc:
            if not required:
                return None
            raise WideAreaError(
                f"wide-area discovery of {self.domain}: {_server_text(self.server)} {_why(exc, self.timeout_s)} "
                f"(query {name} {rdtype})"
            ) from None

    async def instance(self, ptr_target: dns.name.Name) -> Resolved | None:
        srv, txt = await asyncio.gather(self.query(ptr_target, "SRV", False), self.query(ptr_target, "TXT", False))
        if srv is None or srv.rrset is None:
            return None
        best = min(srv.rrset, key=lambda r: (r.priority, -r.weight))
        a, aaaa = await asyncio.gather(self.query(best.target, "A", False), self.query(best.target, "AAAA", False))
        addresses = [r.address for ans in (a, aaaa) if ans is not None and ans.rrset is not None for r in ans.rrset]
        label = ptr_target.labels[0] if ptr_target.labels else b""
        return Resolved(
            instance_name=label.decode(errors="replace"), domain=self.domain, server=best.target.to_text(),
            port=int(best.port), addresses=addresses, txt=_txt(txt),
        )

    async def browse(self) -> list[Resolved]:
        service = dns.name.from_text(f"{SERVICE_TYPE}.{self.domain}")
        ptr = await self.query(service, "PTR", True)
        if ptr is None or ptr.rrset is None:
            return []
        targets = list(dict.fromkeys(r.target for r in ptr.rrset))
        found = await asyncio.gather(*(self.instance(t) for t in targets))
        return [r for r in found if r is not None]


def _why(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return f"did not answer within {timeout_s * 1000:.0f} ms"
    if isinstance(exc, dns.resolver.NoNameservers):
        reasons = []
        for err in exc.kwargs.get("errors") or []:
            what = err[3] if len(err) > 3 else None
            text = f"cannot be reached: {what.strerror or what}" if isinstance(what, OSError) else (
                f"answered {what}" if isinstance(what, str) else f"failed: {type(what).__name__}")
            if text not in reasons:
                reasons.append(text)
        return ", ".join(reasons) or "failed"
    if isinstance(exc, OSError):
        return f"cannot be reached: {exc.strerror or exc}"
    return f"failed: {type(exc).__name__}"


async def browse(domain: str, server: tuple[str, int] | None, timeout_s: float) -> list[Resolved]:
    """Every `_openclaw-gw._tcp` instance of `domain` ("openclaw.internal."), resolved."""
    return await _Browser(domain, server, timeout_s).browse()
