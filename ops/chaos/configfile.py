"""The gateway's config file, edited the way an operator's editor would: atomically (a temp
file in the same folder, then a rename), every other key kept; the original bytes are kept so
`restore` puts back exactly what was there (JSON5 comments included)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyjson5  # the gateway's own JSON5 parser (a dependency of openclaw-gateway)


def config_hash(blob: bytes) -> str:
    """The gateway's hash of a config file: sha256 of its text (UTF-8, BOM stripped)."""
    return "sha256:" + hashlib.sha256(blob.decode("utf-8-sig").encode()).hexdigest()


class ConfigFile:
    """One config file; `original` is what it held when the run began."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.original = path.read_bytes()
        self.mode = path.stat().st_mode & 0o777

    def data(self) -> dict[str, Any]:
        data = pyjson5.decode(self.path.read_bytes().decode("utf-8-sig"))
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: the top level is not an object")
        return data

    def _write(self, blob: bytes) -> str:
        tmp = self.path.with_name(f".{self.path.name}.chaos-{os.getpid()}-{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.mode)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), self.mode)  # the original's mode, whatever the umask
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return config_hash(blob)

    def edit(self, change: Callable[[dict[str, Any]], None]) -> str:
        """Apply `change` to the parsed config and write it back as JSON; returns the new hash."""
        data = self.data()
        change(data)
        return self._write((json.dumps(data, indent=2) + "\n").encode())

    def restore(self) -> str | None:
        """Put the original bytes back; the hash to wait for, or None if the file is unchanged."""
        if self.path.read_bytes() == self.original:
            return None
        return self._write(self.original)
