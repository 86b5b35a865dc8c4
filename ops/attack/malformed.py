"""(d) Malformed frames, before and after `connect`: frames per second the gateway takes, what it
writes to its logs per second doing so, and the close codes it answers with."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from .rawws import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, RawWS, UpgradeRefused, frame
from .target import Target

# name -> (bytes to send, the close code RFC 6455 asks for)
MALFORMED: dict[str, tuple[bytes, int]] = {
    "reserved-bits": (frame(b"{}", OP_TEXT, rsv=7), 1002),
    "reserved-opcode": (frame(b"{}", 0x3), 1002),
    "fragmented-ping": (frame(b"x", OP_PING, fin=False), 1002),
    "long-ping": (frame(b"x" * 126, OP_PING), 1002),
    "orphan-continuation": (frame(b"{}", OP_CONT), 1002),
    "unmasked": (frame(b'{"type":"req","id":"u","method":"health"}', mask=False), 1002),
    "interleaved-message": (frame(b"{", fin=False) + frame(b"{}"), 1002),
    "close-bad-code": (frame(struct.pack("!H", 999), OP_CLOSE), 1002),
    "close-bad-utf8": (frame(struct.pack("!H", 1000) + b"\xff\xfe", OP_CLOSE), 1007),
    "text-bad-utf8": (frame(b'{"type":"req","id":"\xff","method":"health"}'), 1007),
    "binary-garbage": (frame(b"\x00\xff" * 8, OP_BINARY), 0),  # pre-auth: close 1000; after: an error frame
}


async def _one(t: Target, kind: str, authed: bool, wait: float) -> str:
    """Send one malformed frame on a fresh connection; how the server ended it."""
    try:
        ws = await RawWS.open(t.host, t.port)
    except UpgradeRefused as exc:
        return f"HTTP {exc.status}"
    except (OSError, asyncio.TimeoutError) as exc:
        return type(exc).__name__
    try:
        if authed:
            await ws.hello(t.token)
        else:
            await ws.recv_json()
        await ws.send(MALFORMED[kind][0])
        code, _ = await ws.until_close(wait)
        return str(code)
    except (OSError, EOFError, asyncio.TimeoutError):
        return "none"
    finally:
        ws.close()


async def attack_malformed(t: Target, seconds: float = 3.0, parallel: int = 4) -> dict[str, Any]:
    """A flood of invalid-UTF-8 text frames before `connect` (a new connection each) for `seconds`:
    frames/s and log bytes/s; then every kind once before and once after `connect`: close codes."""
    loop = asyncio.get_running_loop()
    flood_codes: dict[str, int] = {}
    count = 0
    log_before = t.log_bytes()
    started = loop.time()

    async def flooder() -> None:
        nonlocal count
        while loop.time() - started < seconds:
            code = await _one(t, "text-bad-utf8", False, 2.0)
            flood_codes[code] = flood_codes.get(code, 0) + 1
            count += 1

    await asyncio.gather(*(flooder() for _ in range(parallel)))
    elapsed = loop.time() - started
    await asyncio.sleep(0.3)  # let the last log lines land
    log_after = t.log_bytes()
    by_kind: dict[str, dict[str, str]] = {}
    for kind, (_, want) in MALFORMED.items():
        by_kind[kind] = {"want": str(want or "1000 / error frame")}
        for authed in (False, True):
            if authed and t.token is None:
                continue
            by_kind[kind]["auth" if authed else "pre"] = await _one(t, kind, authed, 0.5)
    rate = count / elapsed
    log_rate = (log_after - log_before) / elapsed if log_before is not None and log_after is not None else None
    tracebacks = t.log_text().count("Traceback (most recent call last)")
    flood = ", ".join(f"{n}x {c}" for c, n in sorted(flood_codes.items()))
    return {
        "figure": f"{rate:.0f} invalid-UTF-8 frames/s -> "
                  + (f"{log_rate:,.0f} bytes/s of log" if log_rate is not None else "log size unknown")
                  + f" (closes: {flood}); tracebacks in logs: {tracebacks}; per kind: "
                  + "; ".join(f"{k} {v.get('pre')}/{v.get('auth')}" for k, v in by_kind.items()),
        "frames_per_s": round(rate), "log_bytes_per_s": round(log_rate) if log_rate is not None else None,
        "flood_closes": flood_codes, "by_kind": by_kind, "tracebacks": tracebacks,
    }
