"""Where things live: profile, state dir, config file, runtime dir, log file."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigRefusal

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


def default_log_dir() -> Path:
    """The shared folder of the default log files (`/tmp/openclaw`; TMPDIR honoured)."""
    return Path(tempfile.gettempdir()) / "openclaw"


def log_profile_segment(profile: str | None) -> str | None:
    """The profile's part of its default log file name, encoded as upstream does so that two
    profiles never share a name: a-z 0-9 kept, `-` -> `--`, `_` -> `-0`, A-Z -> `-1` + lower,
    anything else -> `-2<hex>-`; over 220 characters, `-3` + the SHA-256 of the name."""
    name = (profile or "").strip()
    if not name or name.lower() == "default":
        return None
    out = []
    for ch in name:
        if "a" <= ch <= "z" or "0" <= ch <= "9":
            out.append(ch)
        elif ch == "-":
            out.append("--")
        elif ch == "_":
            out.append("-0")
        elif "A" <= ch <= "Z":
            out.append("-1" + ch.lower())
        else:
            out.append(f"-2{ord(ch):x}-")
    encoded = "".join(out)
    return encoded if len(encoded) <= 220 else "-3" + hashlib.sha256(name.encode()).hexdigest()


def default_log_file(profile: str | None = None, now: _dt.datetime | None = None) -> Path:
    """Today's log file of a profile: `/tmp/openclaw/openclaw-YYYY-MM-DD.log` for the default one,
    `/tmp/openclaw/openclaw-<profile>-YYYY-MM-DD.log` for a named one (local date)."""
    now = now or _dt.datetime.now()
    segment = log_profile_segment(profile)
    family = f"openclaw-{segment}" if segment else "openclaw"
    return default_log_dir() / f"{family}-{now:%Y-%m-%d}.log"


def prepare_runtime_dir(path: Path) -> None:
    """Create (or take back) the 0700 folder of the ipc:// endpoints. Its mode is what keeps other
    users off the internal plane, so a folder another user owns or could swap out is refused
    (ConfigRefusal), never used."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigRefusal(f"runtime dir {path} is not a directory (a symlink or file is in its place); remove it")
        if st.st_uid != os.getuid():
            raise ConfigRefusal(f"runtime dir {path} belongs to uid {st.st_uid}, not to us (uid {os.getuid()}); remove it")
        parent = os.stat(path.parent)  # whoever may rename entries there could swap our folder
        if parent.st_uid not in (os.getuid(), 0):
            raise ConfigRefusal(f"runtime dir {path}: its parent belongs to uid {parent.st_uid}, who could replace it")
        if parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX:
            raise ConfigRefusal(f"runtime dir {path}: its parent is writable by every user, who could replace it")
        os.chmod(path, 0o700)
    except OSError as exc:
        raise ConfigRefusal(f"cannot prepare the runtime dir {path}: {exc.strerror or exc}") from None
