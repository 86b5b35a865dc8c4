"""Wide-area (unicast) DNS-SD: the zone records a DNS server serves for `discovery.wideArea.domain`
(pure text; written atomically to `<stateDir>/dns/<domain>db`, e.g. `openclaw.internal.db`, the file
a CoreDNS `file` plugin or BIND zone statement points at).

    _services._dns-sd._udp   PTR  _openclaw-gw._tcp
    b._dns-sd._udp           PTR  @                       (browse domain)
    _openclaw-gw._tcp        PTR  <instance>._openclaw-gw._tcp
    <instance>._openclaw-gw._tcp  SRV 0 0 <port> <host>  +  TXT (the same keys as mDNS)
    <host>                   A    <address>               (the tailnet's addresses when known, as upstream)
"""

from __future__ import annotations

import time
from pathlib import Path

from openclaw.ipc.atomic import write_atomic
from openclaw.ipc.discovery_config import SERVICE_TYPE

from .announcement import Announcement

TTL_S = 60


def escape_label(label: str) -> str:
    """A DNS label in master-file syntax: `.`, `\\`, `"`, `(`, `)`, `;`, `@`, `$` and blanks escaped."""
    out = []
    for ch in label:
        if ch in '.\\"();@$ \t':
            out.append("\\" + ch)
        elif ord(ch) < 0x21 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    return "".join(out)


def txt_strings(txt: dict[str, str]) -> str:
    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return " ".join(quote(f"{k}={v}") for k, v in txt.items())


def zone_text(
    a: Announcement, domain: str, serial: int | None = None, addresses: tuple[str, ...] | None = None,
) -> str:
    """The master file for `domain` ("openclaw.internal."); the host's A/AAAA records are `addresses`
    (the tailnet's, when known) or else the announcement's."""
    domain = domain.rstrip(".") + "."
    serial = serial if serial is not None else int(time.time())
    inst = f"{escape_label(a.instance_name)}.{SERVICE_TYPE}"
    lines = [
        f"; written by the openclaw gateway advertiser; serve it as the zone {domain}",
        f"$ORIGIN {domain}",
        f"$TTL {TTL_S}",
        f"@ IN SOA ns1 hostmaster {serial} 3600 600 86400 {TTL_S}",
        "@ IN NS ns1",
        "b._dns-sd._udp IN PTR @",
        "lb._dns-sd._udp IN PTR @",
        f"_services._dns-sd._udp IN PTR {SERVICE_TYPE}",
        f"{SERVICE_TYPE} IN PTR {inst}",
        f"{inst} IN SRV 0 0 {a.port} {a.hostname}",
        f"{inst} IN TXT {txt_strings(a.txt)}",
    ]
    for addr in addresses or a.addresses:
        rtype = "AAAA" if ":" in addr else "A"
        lines.append(f"{a.hostname} IN {rtype} {addr}")
        lines.append(f"ns1 IN {rtype} {addr}")
    return "\n".join(lines) + "\n"


def zone_path(state_dir: str, domain: str) -> Path:
    return Path(state_dir, "dns", domain.rstrip(".") + ".db")


def write_zone(state_dir: str, domain: str, a: Announcement, addresses: tuple[str, ...] | None = None) -> Path:
    path = zone_path(state_dir, domain)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, zone_text(a, domain, addresses=addresses).encode(), mode=0o644)
    return path
