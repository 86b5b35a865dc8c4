"""Small HTTP client helpers for the HTTP API tests (stdlib only: real sockets, no mocks)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..harness import TOKEN, Gateway

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def request(gw: Gateway, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            auth: bool = True, raw: bytes | None = None, timeout: float = 30.0) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    try:
        h = {**(AUTH if auth else {}), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Reply(r.status, r.headers, r.read())
    finally:
        conn.close()


def sse_events(gw: Gateway, path: str, body: Any, headers: dict[str, str] | None = None,
               timeout: float = 30.0) -> tuple[http.client.HTTPResponse, Iterator[tuple[str | None, str]]]:
    """POST and iterate the SSE stream as (event name or None, data) pairs."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    conn.request("POST", path, body=json.dumps(body).encode(), headers={**AUTH, "Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()

    def events() -> Iterator[tuple[str | None, str]]:
        event: str | None = None
        try:
            while True:
                line = resp.readline()
                if not line:
                    return
                text = line.decode().rstrip("\r\n")
                if text.startswith("event: "):
                    event = text[7:]
                elif text.startswith("data: "):
                    yield event, text[6:]
                    event = None
        finally:
            conn.close()

    return resp, events()


def assert_security_headers(r: Reply) -> None:
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("Referrer-Policy") == "no-referrer"
    assert r.header("Permissions-Policy")
