"""A tiny authoritative DNS server on 127.0.0.1 (UDP) serving one master file, for the wide-area
DNS-SD tests: the zone the gateway's advertiser writes (`<stateDir>/dns/<domain>.db`), re-read
whenever the file changes, so a test sees what a CoreDNS `file` plugin would serve.

    with ZoneServer(zone_path, "openclaw.internal.") as dns:      # dns.address == ("127.0.0.1", port)
        ... openclaw gateway discover --domain openclaw.internal. --dns-server 127.0.0.1:<port>

Answers: the name's records of the asked type (ANY not served), NOERROR without records when the
name exists with other types, NXDOMAIN when it does not (SOA in the authority section), REFUSED for
names outside the zone, SERVFAIL while the file is missing or unreadable. `mode="silent"` drops
every query (an unreachable server); `queries` records (name, type) of each query seen.
Loopback only: it binds 127.0.0.1 and never sends anything but answers to who asked.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone


class ZoneServer:
    def __init__(self, zone_file: Path, origin: str, mode: str = "serve") -> None:
        self.zone_file, self.origin, self.mode = Path(zone_file), dns.name.from_text(origin), mode
        self.queries: list[tuple[str, str]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.address: tuple[str, int] = self._sock.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-dns", daemon=True)
        self._zone: dns.zone.Zone | None = None
        self._zone_key: tuple[int, int] | None = None

    @property
    def server_arg(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _load(self) -> dns.zone.Zone | None:
        try:
            st = self.zone_file.stat()
            key = (st.st_mtime_ns, st.st_ino)
            if key != self._zone_key:
                self._zone = dns.zone.from_file(str(self.zone_file), self.origin, relativize=False)
                self._zone_key = key
        except (OSError, dns.exception.DNSException):
            return None
        return self._zone

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        q = query.question[0]
        self.queries.append((q.name.to_text(), dns.rdatatype.to_text(q.rdtype)))
        if not q.name.is_subdomain(self.origin) or q.rdclass != dns.rdataclass.IN:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
            return response
        zone = self._load()
        if zone is None:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        node = zone.get_node(q.name)
        if node is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            rdataset = node.get_rdataset(dns.rdataclass.IN, q.rdtype)
            if rdataset is not None:
                rrset = response.find_rrset(response.answer, q.name, dns.rdataclass.IN, q.rdtype, create=True)
                rrset.update(rdataset)
                return response
        soa = zone.get_rdataset(self.origin, dns.rdatatype.SOA)
        if soa is not None:
            rrset = response.find_rrset(response.authority, self.origin, dns.rdataclass.IN, dns.rdatatype.SOA, create=True)
            rrset.update(soa)
        return response

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "silent":
                continue
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue
            response = self.answer(query)
            limit = max(512, query.payload if query.edns >= 0 else 512)
            try:
                wire = response.to_wire(max_size=limit)
            except dns.exception.TooBig:
                response = dns.message.make_response(query)
                response.flags |= dns.flags.TC
                wire = response.to_wire()
            self._sock.sendto(wire, peer)
