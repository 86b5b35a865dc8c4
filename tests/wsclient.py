"""A synchronous test client for the Gateway protocol (websockets' sync API)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from websockets.sync.client import ClientConnection, connect

from .harness import TOKEN


def connect_params(token: str | None = TOKEN, scopes: list[str] | None = None, client_id: str = "cli",
                   mode: str = "cli", **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "minProtocol": 4,
        "maxProtocol": 4,
        "client": {"id": client_id, "version": "test", "platform": "linux", "mode": mode, "instanceId": str(uuid.uuid4())},
        "role": "operator",
        "scopes": ["operator.admin"] if scopes is None else scopes,
        "caps": [],
    }
    if token is not None:
        params["auth"] = {"token": token}
    params.update(extra)
    return params


class Client:
    def __init__(self, url: str, timeout: float = 10.0, headers: dict[str, str] | None = None, origin: str | None = None,
                 sock: Any = None) -> None:
        tls: dict[str, Any] = {}
        if url.startswith("wss://"):  # a TLS gateway (gateway.tls): pinning is what test_gateway_tls checks
            import ssl

            tls["ssl"] = ssl._create_unverified_context()
        if sock is not None:  # an already connected socket (e.g. from a chosen source address)
            tls["sock"] = sock
        self._cm = connect(url, compression=None, max_size=None, open_timeout=timeout, close_timeout=2,
                           additional_headers=headers, origin=origin, **tls)  # type: ignore[arg-type]
        self.ws: ClientConnection = self._cm.__enter__()
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self.challenge = self.recv()
        self.n = 0

    def send(self, frame: Any) -> None:
        self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    def recv(self, timeout: float | None = None) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout or self.timeout))

    def request(self, method: str, params: Any = None, req_id: Any = None) -> Any:
        self.n += 1
        rid = req_id if req_id is not None else f"{self.n}:{uuid.uuid4()}"
        frame: dict[str, Any] = {"type": "req", "id": rid, "method": method}
        if params is not None:
            frame["params"] = params
        self.send(frame)
        return rid

    def response(self, rid: Any, timeout: float | None = None) -> dict[str, Any]:
        while True:
            f = self.recv(timeout)
            if f.get("type") == "res" and f.get("id") == rid:
                return f
            self.events.append(f)

    def call(self, method: str, params: Any = None) -> dict[str, Any]:
        return self.response(self.request(method, params))

    def hello(self, **kw: Any) -> dict[str, Any]:
        return self.call("connect", connect_params(**kw))

    def next_event(self, name: str, timeout: float | None = None) -> dict[str, Any]:
        for i, e in enumerate(self.events):
            if e.get("event") == name:
                return self.events.pop(i)
        while True:
            f = self.recv(timeout)
            if f.get("type") == "event" and f.get("event") == name:
                return f
            self.events.append(f)

    @property
    def nonce(self) -> str:
        return self.challenge["payload"]["nonce"]

    def close_code(self, timeout: float = 5.0) -> int | None:
        """Wait for the server to close; its close code."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                self.events.append(self.recv(timeout))
        except ConnectionClosed:
            pass
        return self.ws.close_code

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def open_client(url: str, **kw: Any) -> Client:
    c = Client(url)
    res = c.hello(**kw)
    assert res["ok"], res
    return c
