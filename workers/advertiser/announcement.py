"""What the gateway announces (pure): the `_openclaw-gw._tcp` instance name, host, port, addresses
and TXT record of spec §8, from the resolved gateway, the config and the environment.

| TXT key                  | value                                        | when                         |
| ------------------------ | -------------------------------------------- | ---------------------------- |
| role, transport          | "gateway"                                    | always                       |
| gatewayPort              | the gateway port                             | always                       |
| lanHost                  | "<hostname>.local"                           | always                       |
| displayName              | the instance name without " (OpenClaw)"      | always                       |
| gatewayTls / …Sha256     | "1" / hex SHA-256 of the certificate (DER)   | gateway.tls.enabled          |
| gatewayDirectReachable   | "1"                                          | a bind host is not loopback  |
| tailnetDns               | OPENCLAW_TAILNET_DNS, else tailscale's name  | mode full, when known        |
| cliPath                  | OPENCLAW_CLI_PATH or the installed `openclaw`| mode full                    |
| sshPort                  | OPENCLAW_SSH_PORT or "22"                    | mode full                    |
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.tls_material import gateway_tls_fingerprint

SUFFIX = " (OpenClaw)"
MAX_LABEL_BYTES = 63


@dataclass(frozen=True)
class Announcement:
    instance_name: str  # "vm (OpenClaw)": the DNS-SD instance label
    hostname: str  # "vm": the mDNS host label (SRV target "vm.local.")
    port: int
    addresses: tuple[str, ...]  # what the host record carries
    txt: dict[str, str] = field(default_factory=dict)


def truncate_label(text: str, limit: int = MAX_LABEL_BYTES) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit].decode(errors="ignore").rstrip()


def mdns_hostname(env: dict[str, str]) -> str:
    """OPENCLAW_MDNS_HOSTNAME, else the first label of the host name, else "openclaw"."""
    name = (env.get("OPENCLAW_MDNS_HOSTNAME") or socket.gethostname() or "").strip().split(".")[0]
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
    return truncate_label(name) or "openclaw"


def instance_name(display: str) -> str:
    """"<display> (OpenClaw)", kept as is if it already names OpenClaw; one 63-byte DNS label."""
    name = display if "openclaw" in display.lower() else display + SUFFIX
    return truncate_label(name)


def display_name(instance: str) -> str:
    return instance.removesuffix(SUFFIX)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _is_wildcard(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")


def interface_addresses() -> list[str]:
    """IPv4 addresses of this host's interfaces (loopback last)."""
    import ifaddr  # zeroconf's own dependency

    out: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and ip.ip not in out:
                out.append(ip.ip)
    return sorted(out, key=lambda a: (ipaddress.ip_address(a).is_loopback, a))


def announced_addresses(bind_hosts: list[str], interfaces: list[str]) -> tuple[str, ...]:
    """A specific bind address is what clients can reach; otherwise the interfaces' addresses
    (non-loopback first; loopback only when there is nothing else)."""
    specific = [h for h in bind_hosts if not _is_wildcard(h) and not _is_loopback(h) and ":" not in h]
    if specific:
        return tuple(specific)
    lan = [a for a in interfaces if not _is_loopback(a)]
    return tuple(lan or [a for a in interfaces if _is_loopback(a)] or ["127.0.0.1"])


def tls_fingerprint(gateway: ResolvedGateway, config: dict[str, Any]) -> tuple[bool, str | None]:
    """(TLS on, the certificate's SHA-256 as clients pin it): the gateway's own material (ipc/tls_material.py)."""
    if gateway.tls is not None and gateway.tls.fingerprint:
        return True, gateway.tls.fingerprint
    fingerprint = gateway_tls_fingerprint(config, Path(gateway.state_dir))
    return fingerprint is not None, fingerprint


def cli_path(env: dict[str, str]) -> str:
    if env.get("OPENCLAW_CLI_PATH"):
        return env["OPENCLAW_CLI_PATH"]
    beside = Path(sys.executable).with_name("openclaw")
    return str(beside) if beside.exists() else (shutil.which("openclaw") or "openclaw")


def build(
    mode: str, gateway: ResolvedGateway, config: dict[str, Any], env: dict[str, str], interfaces: list[str],
    tailnet_dns: str | None = None,
) -> Announcement:
    """`tailnet_dns`: the MagicDNS name the advertiser learnt (tailnet.py), else OPENCLAW_TAILNET_DNS."""
    host = mdns_hostname(env)
    name = instance_name(host)
    txt = {
        "role": "gateway",
        "gatewayPort": str(gateway.port),
        "lanHost": f"{host}.local",
        "displayName": display_name(name),
        "transport": "gateway",
    }
    tls, fingerprint = tls_fingerprint(gateway, config)
    if tls:
        txt["gatewayTls"] = "1"
        if fingerprint:
            txt["gatewayTlsSha256"] = fingerprint
    if any(not _is_loopback(h) for h in gateway.bind_hosts):
        txt["gatewayDirectReachable"] = "1"
    if mode == "full":
        dns_name = tailnet_dns or env.get("OPENCLAW_TAILNET_DNS")
        if dns_name:
            txt["tailnetDns"] = dns_name
        txt["cliPath"] = cli_path(env)
        txt["sshPort"] = env.get("OPENCLAW_SSH_PORT") or "22"
    return Announcement(name, host, gateway.port, announced_addresses(gateway.bind_hosts, interfaces), txt)
