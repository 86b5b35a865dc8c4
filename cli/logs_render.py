"""How `openclaw logs` shows a page: upstream's JSON line shapes, or human lines coloured by level.

JSON (`--json`, one object a line, compact as JSON.stringify writes them):
`{"type":"meta","file","sourceKind":"file","cursor","size","localFallback"?}` for the first page
and whenever the source changes, `{"type":"log","time","level","subsystem","message","raw"}` per
line (`{"type":"raw","raw"}` for a line that is not JSON), `{"type":"notice","message"}`.
Human: `<time> <level> <subsystem> <message>`; on a terminal (not `--plain`) the time is short
and, unless NO_COLOR / --no-color, the level and message are coloured by level.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

TRUNCATED_NOTICE = "Log tail truncated (increase --limit or --max-bytes)."
FALLBACK_NOTICE = "Local Gateway RPC unavailable; reading configured file log instead."

_LEVEL_COLOURS = {"error": "31", "fatal": "31", "warn": "33", "debug": "2", "trace": "2"}
_INFO, _MUTED, _ACCENT = "36", "2", "34"


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reset_notice(page: dict[str, Any]) -> str:
    skipped = page.get("skippedBytes")
    if isinstance(skipped, int) and skipped > 0:
        return f"Log cursor re-anchored (skipped {skipped} bytes)."
    return "Log cursor reset (file rotated)."


def meta_record(page: dict[str, Any], local_fallback: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "meta"}
    if page.get("file") is not None:
        out["file"] = page["file"]
        out["sourceKind"] = "file"
    out["cursor"] = page.get("cursor")
    out["size"] = page.get("size")
    if local_fallback:
        out["localFallback"] = True
    return out


def _context(name: Any) -> dict[str, str]:
    if not isinstance(name, str) or not name.lstrip().startswith("{"):
        return {}
    try:
        parsed = json.loads(name)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {k: parsed[k] for k in ("subsystem", "module", "plugin") if isinstance(parsed.get(k), str)}


def parse_line(raw: str) -> dict[str, Any] | None:
    """A log line as upstream's parseLogLine reads it (keys without a value left out); None if not JSON."""
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(rec, dict):
        return None
    meta = rec.get("_meta") if isinstance(rec.get("_meta"), dict) else {}
    context = _context(meta.get("name"))
    if meta.get("name") != rec.get("0"):
        for key, value in _context(rec.get("0")).items():
            context.setdefault(key, value)
    level = meta.get("logLevelName") if isinstance(meta.get("logLevelName"), str) else rec.get("level")
    out: dict[str, Any] = {}
    time = rec.get("time") if isinstance(rec.get("time"), str) else meta.get("date")
    if isinstance(time, str):
        out["time"] = time
    if isinstance(level, str) and level.strip():
        out["level"] = level.strip().lower()
    subsystem = context.get("subsystem") or (rec.get("subsystem") if isinstance(rec.get("subsystem"), str) else None)
    if subsystem:
        out["subsystem"] = subsystem
    for key in ("module", "plugin"):
        if key in context:
            out[key] = context[key]
    if isinstance(rec.get("message"), str):
        out["message"] = rec["message"]
    else:
        parts = [v if isinstance(v, str) else json.dumps(v) for k, v in rec.items() if k.isdigit() and v is not None]
        out["message"] = " ".join(parts)
    out["raw"] = raw
    return out


def json_entry(raw: str) -> dict[str, Any]:
    parsed = parse_line(raw)
    return {"type": "log", **parsed} if parsed is not None else {"type": "raw", "raw": raw}


def _paint(on: bool, code: str, text: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on and text else text


def _timestamp(value: str | None, pretty: bool, utc: bool) -> str:
    if not value:
        return ""
    try:
        when = _dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    when = when.astimezone(_dt.UTC) if utc else when.astimezone()
    if pretty:
        return when.strftime("%H:%M:%S") + _offset(when)
    if utc:
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}" + _offset(when)


def _offset(when: _dt.datetime) -> str:
    off = when.utcoffset() or _dt.timedelta()
    sign = "-" if off < _dt.timedelta() else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def human_line(raw: str, *, pretty: bool, colour: bool, utc: bool) -> str:
    parsed = parse_line(raw)
    if parsed is None:
        return raw
    label = parsed.get("subsystem") or parsed.get("module") or parsed.get("plugin") or ""
    time = _timestamp(parsed.get("time"), pretty, utc)
    level = parsed.get("level", "")
    message = parsed.get("message") or raw
    if not pretty:
        return " ".join(p for p in (time, level, label, message) if p).strip()
    code = _LEVEL_COLOURS.get(level, _INFO)
    head = " ".join(p for p in (_paint(colour, _MUTED, time), _paint(colour, code, level), _paint(colour, _ACCENT, label)) if p)
    return " ".join(p for p in (head, _paint(colour, code, message)) if p).strip()
