"""`openclaw gateway discover [--timeout ms] [--json] [--domain D]... [--dns-server host[:port]]`:
find gateways announcing `_openclaw-gw._tcp` over multicast DNS-SD (`local.`) and wide-area
(unicast) DNS-SD, and print their beacons (spec §8).

    {"timeoutMs": 2000, "domains": ["local.", "openclaw.internal."], "count": N, "beacons": [{…, "wsUrl": "ws://host:port"}]}

Domains: `--domain` (repeatable) browses exactly those (`local.` means multicast); without it,
`local.` plus `discovery.wideArea.domain` from the config (else OPENCLAW_WIDE_AREA_DOMAIN), as
upstream. All domains are browsed at once within the timeout. `--json | jq '.beacons[].wsUrl'`
lists the URLs. Nothing found is not an error (exit 0); a usage mistake (bad timeout, domain or
DNS server) exits 2; a network that cannot do multicast, or a DNS server that gives no usable
answer, exits 1.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.paths import resolve_paths

from .discover_beacons import Resolved, collect, render_human
from .discover_wide import (
    ENV_DNS_SERVER,
    ENV_WIDE_AREA_DOMAIN,
    MDNS_DOMAIN,
    WideAreaError,
    normalize_domain,
    parse_dns_server,
)
from .globals import OPTIONS
from .output import fail, print_json

MAX_TIMEOUT_MS = 60_000


def configured_wide_area_domain(config: dict[str, Any], env: dict[str, str]) -> str | None:
    """discovery.wideArea.domain (unless wideArea.enabled is false), else OPENCLAW_WIDE_AREA_DOMAIN; invalid -> None."""
    domain = config_value(config, "discovery.wideArea.domain")
    if config_value(config, "discovery.wideArea.enabled", True) is False:
        domain = None
    candidate = domain if isinstance(domain, str) and domain.strip() else env.get(ENV_WIDE_AREA_DOMAIN)
    try:
        return normalize_domain(candidate) if candidate and candidate.strip() else None
    except ValueError:
        return None


def domains_to_browse(cli_domains: list[str], config: dict[str, Any], env: dict[str, str]) -> list[str]:
    """ValueError for a bad --domain."""
    if cli_domains:
        return list(dict.fromkeys(normalize_domain(d) for d in cli_domains))
    wide = configured_wide_area_domain(config, env)
    return [MDNS_DOMAIN] + ([wide] if wide and wide != MDNS_DOMAIN else [])


def _config() -> dict[str, Any]:
    try:
        return load_config(resolve_paths(OPTIONS.effective_profile).config_path).data
    except (ConfigRefusal, OSError):
        return {}  # discovery reads the config only for the wide-area domain


async def _browse_all(domains: list[str], server: tuple[str, int] | None, timeout_s: float) -> list[Resolved]:
    jobs = []
    for domain in domains:
        if domain == MDNS_DOMAIN:
            from .discover_mdns import browse as browse_mdns

            jobs.append(browse_mdns(timeout_s))
        else:
            from .discover_wide import browse as browse_wide

            jobs.append(browse_wide(domain, server, timeout_s))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    found: list[Resolved] = []
    for r in results:
        if isinstance(r, BaseException):
            raise r
        found.extend(r)
    return found


def discover_cmd(timeout_ms: int, json_: bool, domains: list[str] | None = None, dns_server: str | None = None) -> None:
    if not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        fail(f"gateway discover: --timeout must be 1..{MAX_TIMEOUT_MS} ms (got {timeout_ms})", ExitCode.USAGE)
    env = dict(os.environ)
    try:
        browse = domains_to_browse(domains or [], {} if domains else _config(), env)
    except ValueError as exc:
        fail(f"gateway discover: --domain: {exc}", ExitCode.USAGE)
    server_text = dns_server if dns_server is not None else env.get(ENV_DNS_SERVER, "").strip() or None
    server = None
    if server_text is not None:
        try:
            server = parse_dns_server(server_text)
        except ValueError as exc:
            source = "--dns-server" if dns_server is not None else ENV_DNS_SERVER
            fail(f"gateway discover: {source}: {exc}", ExitCode.USAGE)
    try:
        resolved = asyncio.run(_browse_all(browse, server, timeout_ms / 1000))
    except WideAreaError as exc:
        fail(f"gateway discover: {exc}")
    except OSError as exc:
        fail(f"gateway discover: multicast DNS is not available here: {exc.strerror or exc}")
    beacons = collect(resolved)
    result: dict[str, Any] = {"timeoutMs": timeout_ms, "domains": browse, "count": len(beacons), "beacons": beacons}
    if json_:
        print_json(result)
    else:
        print("\n".join(render_human(result)))
