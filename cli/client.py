"""A small synchronous Gateway WebSocket client for the CLI (websockets' sync API)."""

from __future__ import annotations

import json
import platform
import ssl
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from openclaw.ipc.version import GATEWAY_VERSION, PROTOCOL_VERSION


class TransportError(Exception):
    def __init__(self, kind: str, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.reason = reason

    def to_json(self) -> dict[str, Any]:
        return {"type": "gateway_transport_error", "kind": self.kind, "message": self.message, "reason": self.reason}


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "error"))
        self.error = error
        self.during_connect = False  # the gateway refused the connect itself (auth, pairing, protocol)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "gateway_request_error",
            "code": self.error.get("code"),
            "message": self.error.get("message"),
        }
        if "details" in self.error:
            out["details"] = self.error["details"]
        out["retryable"] = bool(self.error.get("retryable", False))
        return out


class GatewayClient:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        client_id: str = "cli",
        mode: str = "cli",
        scopes: list[str] | None = None,
        display_name: str | None = None,
        min_protocol: int = PROTOCOL_VERSION,
        tls_fingerprint: str | None = None,
    ) -> None:
        self.url = url
        self.tls_fingerprint = tls_fingerprint  # wss: accept exactly this certificate (tls_pin.py)
        self.token = token
        self.password = password
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.client_id = client_id
        self.mode = mode
        self.scopes = scopes or []
        self.display_name = display_name
        self.min_protocol = min_protocol
        self.ws: ClientConnection | None = None
        self.hello: dict[str, Any] | None = None
        self.counter = 0

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TransportError("timeout", f"Gateway at {self.url} did not answer within {int(self.timeout_s * 1000)}ms.", "timeout")
        return left

    def _next_id(self) -> str:
        self.counter += 1
        return f"{self.counter}:{uuid.uuid4()}"

    def connect(self) -> dict[str, Any]:
        from .tls_pin import TlsPinMismatch, is_wss, pinned_context

        if self.tls_fingerprint and not is_wss(self.url):
            raise TransportError("closed", f"A TLS fingerprint needs a wss:// gateway URL, not {self.url}.", "tls")
        ssl_ctx = pinned_context(self.tls_fingerprint) if self.tls_fingerprint and is_wss(self.url) else None
        try:
            self.ws = connect(
                self.url, open_timeout=self._remaining(), compression=None, max_size=None, close_timeout=1,
                **({"ssl": ssl_ctx} if ssl_ctx is not None else {}),
            ).__enter__()
        except TlsPinMismatch as exc:
            raise TransportError("closed", f"Refused the gateway at {self.url}: {exc.args[0]}.", "tls fingerprint mismatch") from None
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(
                "closed",
                f"Gateway at {self.url}: TLS certificate not trusted ({exc.verify_message}). Pin it with "
                "--tls-fingerprint <sha256> (`openclaw gateway status` on its host shows it) or trust its CA.",
                "tls certificate not trusted",
            ) from None
        except ssl.SSLError as exc:
            raise TransportError("closed", f"Gateway at {self.url}: TLS handshake failed ({exc.reason or exc}).", "tls") from None
        except InvalidURI as exc:
            raise TransportError("closed", f"Invalid gateway URL {self.url}: {exc}", str(exc)) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            code = "ECONNREFUSED" if isinstance(exc, ConnectionRefusedError) else type(exc).__name__
            kind = "timeout" if isinstance(exc, TimeoutError) else "closed"
            hint = " If the gateway has gateway.tls on, use a wss:// URL." if isinstance(exc, InvalidHandshake) and not is_wss(self.url) else ""
            raise TransportError(kind, f"Gateway not reachable at {self.url} ({code}).{hint}", reason) from None
        challenge = self._recv_until(lambda f: f.get("type") == "event" and f.get("event") == "connect.challenge")
        _ = challenge
        auth: dict[str, str] = {}
        if self.token:
            auth["token"] = self.token
        elif self.password:
            auth["password"] = self.password
        client: dict[str, Any] = {
            "id": self.client_id,
            "version": GATEWAY_VERSION,
            "platform": platform.system().lower(),
            "deviceFamily": platform.system(),
            "mode": self.mode,
            "instanceId": str(uuid.uuid4()),
        }
        if self.display_name:
            client["displayName"] = self.display_name
        params = {
            "minProtocol": self.min_protocol,
            "maxProtocol": PROTOCOL_VERSION,
            "client": client,
            "caps": [],
            "auth": auth,
            "role": "operator",
            "scopes": self.scopes,
        }
        try:
            res = self._request("connect", params)
        except RpcError as exc:
            exc.during_connect = True
            raise
        self.hello = res
        return res

    def call(self, method: str, params: Any = None) -> Any:
        return self._request(method, params)

    def _request(self, method: str, params: Any) -> Any:
        req_id = self._next_id()
        frame: dict[str, Any] = {"type": "req", "id": req_id, "method": method}
        if params is not None:
            frame["params"] = params
        self._send(frame)
        res = self._recv_until(lambda f: f.get("type") == "res" and f.get("id") == req_id)
        if not res.get("ok"):
            raise RpcError(res.get("error") or {"code": "UNKNOWN", "message": "request failed"})
        return res.get("payload")

    def _send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        try:
            self.ws.send(json.dumps(frame))
        except ConnectionClosed as exc:
            raise self._closed(exc) from None

    def _recv_until(self, match: Any) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            try:
                raw = self.ws.recv(timeout=self._remaining())
            except TimeoutError:
                raise TransportError("timeout", f"Gateway at {self.url} did not answer within {int(self.timeout_s * 1000)}ms.", "timeout") from None
            except ConnectionClosed as exc:
                raise self._closed(exc) from None
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            if isinstance(frame, dict) and match(frame):
                return frame

    def _closed(self, exc: ConnectionClosed) -> TransportError:
        rcvd = exc.rcvd
        code = rcvd.code if rcvd else 1006
        reason = rcvd.reason if rcvd else "abnormal closure"
        return TransportError("closed", f"Gateway closed the connection ({code} {reason}).", f"{code} {reason}".strip())

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
