"""Where things live: profile, state dir, config file, runtime dir, log file."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 18789
DEV_PORT = 19001
MAX_IPC_PATH = 100  # sun_path is 108 bytes; leave room for the socket file names


def fnv1a32(text: str) -> int:
    h = 0x811C9DC5
    for b in text.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def profile_default_port(profile: str | None) -> int:
    if not profile or profile == "default":
        return DEFAULT_PORT
    if profile == "dev":
        return DEV_PORT
    return 20000 + fnv1a32(profile) % 40000


@dataclass(frozen=True)
class Paths:
    home: Path
    profile: str | None
    state_dir: Path
    config_path: Path

    @property
    def runtime_token_file(self) -> Path:
        return self.state_dir / "gateway.token"

    @property
    def instance_file(self) -> Path:
        return self.state_dir / "gateway.instance.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "gateway.lock"

    def runtime_dir(self) -> Path:
        """0700 folder for the ipc:// endpoints; under the state dir unless that path is too long."""
        preferred = self.state_dir / "run"
        if len(str(preferred)) + 20 <= MAX_IPC_PATH:
            return preferred
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"openclaw-{os.getuid()}" / digest


def resolve_paths(profile: str | None = None, env: dict[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    home = Path(env.get("OPENCLAW_HOME") or env.get("HOME") or Path.home()).expanduser()
    if profile is None:
        profile = env.get("OPENCLAW_PROFILE") or None
    if profile == "default":
        profile = None
    state_env = env.get("OPENCLAW_STATE_DIR")
    if state_env:
        state_dir = Path(state_env).expanduser()
    else:
        state_dir = home / (f".openclaw-{profile}" if profile else ".openclaw")
    config_env = env.get("OPENCLAW_CONFIG_PATH")
    config_path = Path(config_env).expanduser() if config_env else state_dir / "openclaw.json"
    return Paths(home=home, profile=profile, state_dir=state_dir, config_path=config_path)


def default_log_file(now: _dt.datetime | None = None) -> Path:
    now = now or _dt.datetime.now()
    return Path(tempfile.gettempdir()) / "openclaw" / f"openclaw-{now:%Y-%m-%d}.log"
