"""What the advertiser learns from Tailscale, bounded and never raising: the MagicDNS name for the
`tailnetDns` TXT key (mode full) and the tailnet addresses the wide-area zone points at (as upstream,
whose zone carries the tailnet IPv4/IPv6).

    name       OPENCLAW_TAILNET_DNS if set, else `tailscale status --json` Self.DNSName (no trailing dot)
    addresses  Self.TailscaleIPs (IPv4 first)

`tailscale status --json` is asked only when the CLI is on PATH, within LOOKUP_TIMEOUT_S
(OPENCLAW_TAILNET_LOOKUP_TIMEOUT_MS); a missing CLI, a stopped backend, a timeout or bad JSON mean
"nothing known": the key is omitted and the zone keeps the announced addresses.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from openclaw.ipc import tailscale

ENV_NAME = "OPENCLAW_TAILNET_DNS"
ENV_TIMEOUT = "OPENCLAW_TAILNET_LOOKUP_TIMEOUT_MS"
LOOKUP_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class Tailnet:
    dns_name: str | None = None
    addresses: tuple[str, ...] = ()


def _timeout(env: dict[str, str]) -> float:
    raw = env.get(ENV_TIMEOUT, "")
    return int(raw) / 1000 if raw.isdigit() and 0 < int(raw) <= 10_000 else LOOKUP_TIMEOUT_S


def lookup(env: dict[str, str]) -> Tailnet:
    """Blocking (run it in a thread); at most one bounded `tailscale status --json`."""
    override = (env.get(ENV_NAME) or "").strip().rstrip(".") or None
    if shutil.which("tailscale", path=env.get("PATH")) is None:
        return Tailnet(dns_name=override)
    try:
        st = tailscale.status(_timeout(env))
    except Exception:  # noqa: BLE001 - whatever goes wrong, nothing is known (the key is omitted)
        return Tailnet(dns_name=override)
    return Tailnet(dns_name=override or st.dns_name, addresses=tuple(a for a in (st.ipv4, st.ipv6) if a))
