"""What the load saw, recorded as it happens and summarised at the end.

Every record carries the *phase* (the scenario running when it happened), so one recorder
serves the whole run and the report can cut it per scenario. Times are `time.time()` seconds,
comparable with the gateway's log records (same host).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# Which worker answers which method (the front-end answers everything else itself).
WORKER_OF = {"sessions.list": "agent", "node.list": "node"}


@dataclass(slots=True)
class Request:
    client: str
    conn: int  # the client's connection number (1, 2, ... one per reconnect)
    conn_opened: float  # when that connection got hello-ok
    method: str
    phase: str
    sent: float
    answered: float | None = None
    ok: bool | None = None
    code: str | None = None  # error.code
    reason: str | None = None  # error.details.reason
    cause: str | None = None  # error.details.cause
    retryable: bool | None = None  # error.retryable
    message: str | None = None  # error.message (truncated)
    lost_to_close: bool = False  # in flight when its connection closed

    @property
    def latency_ms(self) -> float | None:
        return None if self.answered is None else (self.answered - self.sent) * 1000

    def failure_label(self) -> str:
        return self.code + (f"/{self.reason}" if self.reason else "") if self.code else "?"


@dataclass
class Recorder:
    phase: str = "startup"
    requests: list[Request] = field(default_factory=list)
    disconnects: list[dict[str, Any]] = field(default_factory=list)  # server-side closes of load clients
    refused: list[dict[str, Any]] = field(default_factory=list)  # refused / reset-before-answer connects
    connect_failures: list[dict[str, Any]] = field(default_factory=list)  # rejected, timeouts, handshake errors
    seq_gaps: list[dict[str, Any]] = field(default_factory=list)
    http: list[dict[str, Any]] = field(default_factory=list)  # prober results
    phases: list[tuple[str, float]] = field(default_factory=list)  # (phase, start time)

    def set_phase(self, name: str) -> None:
        self.phase = name
        self.phases.append((name, time.time()))

    def _event(self, **fields: Any) -> dict[str, Any]:
        return {"time": time.time(), "phase": self.phase, **fields}

    def disconnect(self, client: str, code: int, reason: str) -> None:
        self.disconnects.append(self._event(client=client, code=code, reason=reason))

    def connect_failed(self, client: str, kind: str, detail: str, status: int | None = None) -> None:
        entry = self._event(client=client, kind=kind, detail=detail, status=status)
        (self.refused if kind == "refused" else self.connect_failures).append(entry)

    def seq_gap(self, client: str, conn: int, expected: int, got: Any, event: str) -> None:
        self.seq_gaps.append(self._event(client=client, conn=conn, expected=expected, got=got, event=event))

    def probe(self, path: str, status: int | None, ms: float, error: str | None) -> None:
        self.http.append({"time": time.time(), "phase": self.phase, "path": path, "status": status, "ms": ms, "error": error})


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


def summarize_requests(reqs: list[Request]) -> dict[str, Any]:
    answered = [r for r in reqs if r.answered is not None]
    failed = Counter(r.failure_label() for r in answered if not r.ok)
    lat = [r.latency_ms for r in answered if r.latency_ms is not None]
    return {
        "sent": len(reqs),
        "answered": len(answered),
        "ok": sum(1 for r in answered if r.ok),
        "failed": sum(failed.values()),
        "failedBy": dict(failed.most_common()),
        "nonRetryable": sum(1 for r in answered if not r.ok and not r.retryable),
        "nonRetryableBy": dict(Counter(f"{r.method}: {r.code} {r.message}" for r in answered if not r.ok and not r.retryable)),
        "lostToClose": sum(1 for r in reqs if r.lost_to_close),
        "unanswered": sum(1 for r in reqs if r.answered is None and not r.lost_to_close),
        "p50ms": _round(percentile(lat, 50)),
        "p99ms": _round(percentile(lat, 99)),
        "maxms": _round(max(lat) if lat else None),
    }


def summarize_phase(rec: Recorder, phase: str | None) -> dict[str, Any]:
    """Load figures for one phase (None: the whole run)."""
    def mine(items: list[Any]) -> list[Any]:
        return [x for x in items if phase is None or (x.phase if isinstance(x, Request) else x["phase"]) == phase]

    out = summarize_requests(mine(rec.requests))
    disc = Counter(d["code"] for d in mine(rec.disconnects))
    out["disconnects"] = sum(disc.values())
    out["disconnectsByCode"] = {str(k): v for k, v in sorted(disc.items())}
    refused = mine(rec.refused)
    out["refused"] = len(refused)
    out["refusedBy"] = dict(Counter(f"{r['client'].split('-')[0]}:{r['detail'][:60]}" for r in refused))
    cf = mine(rec.connect_failures)
    out["connectFailures"] = len(cf)
    out["connectFailuresBy"] = dict(Counter(f"{r['kind']}:{r['detail'][:60]}" for r in cf))
    out["seqGaps"] = len(mine(rec.seq_gaps))
    probes = mine(rec.http)
    out["http"] = {
        "probes": len(probes),
        "byStatus": dict(Counter(f"{p['path']} {p['status'] or p['error']}" for p in probes)),
        "p99ms": _round(percentile([p["ms"] for p in probes if p["status"]], 99)),
    }
    return out


def request_dict(r: Request) -> dict[str, Any]:
    d = asdict(r)
    d["latencyMs"] = _round(r.latency_ms)
    return d


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)
