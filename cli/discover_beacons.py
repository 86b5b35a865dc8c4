"""A resolved `_openclaw-gw._tcp` service -> a beacon of spec §8 (pure), and the human rendering.

    {instanceName, displayName, domain, host, port, lanHost?, txt?, role?, transport?, gatewayPort?,
     sshPort?, gatewayTls?: bool, gatewayTlsFingerprintSha256?, tailnetDns?, cliPath?, wsUrl}

`host` is the first resolved address (IPv4 first), so `wsUrl` works without an mDNS-aware
resolver; the advertised `lanHost` (`vm.local`) is kept beside it. Beacons are deduplicated
by (instanceName, domain) and sorted by displayName.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

SUFFIX = " (OpenClaw)"


@dataclass
class Resolved:
    instance_name: str  # the instance label, unescaped: "vm (OpenClaw)"
    domain: str  # "local."
    server: str  # SRV target, "vm.local."
    port: int
    addresses: list[str] = field(default_factory=list)
    txt: dict[str, str] = field(default_factory=dict)


def _url_host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _pick_host(r: Resolved) -> str:
    def rank(a: str) -> tuple[int, int]:
        ip = ipaddress.ip_address(a)
        return (ip.version, 1 if ip.is_loopback or ip.is_link_local else 0)

    usable = []
    for a in r.addresses:
        try:
            ipaddress.ip_address(a)
        except ValueError:
            continue
        usable.append(a)
    if usable:
        return sorted(usable, key=rank)[0]
    return r.server.rstrip(".")


def beacon(r: Resolved) -> dict[str, Any]:
    txt = r.txt
    display = txt.get("displayName") or r.instance_name.removesuffix(SUFFIX)
    host = _pick_host(r)
    out: dict[str, Any] = {
        "instanceName": r.instance_name, "displayName": display, "domain": r.domain, "host": host, "port": r.port,
    }
    if txt.get("lanHost"):
        out["lanHost"] = txt["lanHost"]
    if txt:
        out["txt"] = dict(txt)
    for key in ("role", "transport", "gatewayPort", "sshPort", "tailnetDns", "cliPath"):
        if txt.get(key):
            out[key] = int(txt[key]) if key in ("gatewayPort", "sshPort") and txt[key].isdigit() else txt[key]
    tls = txt.get("gatewayTls", "").lower() in ("1", "true", "yes")
    if "gatewayTls" in txt:
        out["gatewayTls"] = tls
    if txt.get("gatewayTlsSha256"):
        out["gatewayTlsFingerprintSha256"] = txt["gatewayTlsSha256"]
    out["wsUrl"] = f"{'wss' if tls else 'ws'}://{_url_host(host)}:{r.port}" if r.port else None
    return out


def collect(resolved: list[Resolved]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in resolved:
        seen.setdefault((r.instance_name, r.domain), beacon(r))
    return sorted(seen.values(), key=lambda b: (b["displayName"].lower(), b["instanceName"], b["domain"]))


def render_human(result: dict[str, Any]) -> list[str]:
    beacons = result["beacons"]
    lines = ["Gateway Discovery", f"Found {len(beacons)} gateway(s) · domains: {', '.join(result['domains'])}"]
    for b in beacons:
        lines.append(f"- {b['displayName']} ({b['domain']}): {b['wsUrl'] or '(no port)'}")
        extra = [f"{k}={b[k]}" for k in ("lanHost", "role", "transport", "sshPort", "tailnetDns") if k in b]
        if b.get("gatewayTls"):
            extra.append("tls" + (f" sha256={b['gatewayTlsFingerprintSha256']}" if b.get("gatewayTlsFingerprintSha256") else ""))
        if extra:
            lines.append("  " + " · ".join(extra))
    return lines
