"""Decode a method's params (absent, null or an object) into its closed Struct."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from openclaw.ipc.errors import DECODE_ERRORS, invalid_request

T = TypeVar("T")
_LONG_STR = re.compile(r"Expected `str` of length <= (\d+)")
_LONG_ARRAY = re.compile(r"Expected `array` of length <= (\d+)")
_decoders: dict[type, msgspec.json.Decoder] = {}


def decode(raw: bytes, schema: type[T], method: str) -> T:
    if not raw or raw.strip() == b"null":
        raw = b"{}"
    dec = _decoders.get(schema)
    if dec is None:
        dec = _decoders[schema] = msgspec.json.Decoder(schema)
    try:
        return dec.decode(raw)
    except msgspec.ValidationError as exc:
        text, _, where = str(exc).partition(" - at `")
        path = where.rstrip("`").removeprefix("$").replace(".", "/").replace("[", "/").replace("]", "") or "/"
        text = text.replace("Object missing required field", "must have required property").replace(
            "Expected `object`", "must be object"
        )
        text = _LONG_STR.sub(r"must NOT have more than \1 characters", text)
        text = _LONG_ARRAY.sub(r"must NOT have more than \1 items", text)
        raise invalid_request(f"invalid {method} params: at {path}: {text}") from None
    except DECODE_ERRORS as exc:
        raise invalid_request(f"invalid {method} params: {_why(exc)}") from None


class Empty(msgspec.Struct):
    """Params accepted and ignored (upstream tolerates extra keys on these)."""


def _why(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
