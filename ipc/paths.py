"""Where things live: profile, state dir, config file, runtime dir, log file."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def profile_state_dir(home: Path, profile: str | None) -> Path:
    """The state dir a profile gets when OPENCLAW_STATE_DIR does not say otherwise."""
    return home / (f".openclaw-{profile}" if profile and profile != "default" else ".openclaw")


class ProfileConflict(ConfigRefusal):
    """An explicit profile and OPENCLAW_STATE_DIR / OPENCLAW_CONFIG_PATH name different gateways' files.

    Never resolved silently: the CLI exits 2 with this message, the gateway 78."""


def resolve_paths(profile: str | None = None, env: dict[str, str] | None = None, *, source: str | None = None) -> Paths:
    """Profile (argument, else OPENCLAW_PROFILE), state dir (OPENCLAW_STATE_DIR, else the profile's
    own), config (OPENCLAW_CONFIG_PATH, else <state>/openclaw.json). A named profile whose state dir or
    config the environment points at another profile's files raises ProfileConflict; `source` says
    where the profile came from ("--profile x", "--dev") for that message."""
    env = os.environ if env is None else env
    home = Path(env.get("OPENCLAW_HOME") or env.get("HOME") or Path.home()).expanduser()
    explicit = profile is not None or bool(env.get("OPENCLAW_PROFILE"))
    if profile is None:
        profile = env.get("OPENCLAW_PROFILE") or None
        if profile:
            source = source or f"OPENCLAW_PROFILE={profile}"
    if profile == "default":
        profile = None
    state_env = env.get("OPENCLAW_STATE_DIR")
    if state_env:
        state_dir = Path(state_env).expanduser()
    else:
        state_dir = profile_state_dir(home, profile)
    config_env = env.get("OPENCLAW_CONFIG_PATH")
    config_path = Path(config_env).expanduser() if config_env else state_dir / "openclaw.json"
    paths = Paths(home=home, profile=profile, state_dir=state_dir, config_path=config_path)
    if explicit and (state_env or config_env):
        check_profile_conflict(paths, env, source or (f"--profile {profile}" if profile else "--profile default"))
    return paths


_PROFILE_DIR = re.compile(r"^\.openclaw(?:-(?P<name>.+))?$")


def _homes(paths: Paths, env: dict[str, str] | Any) -> list[Path]:
    out = [paths.home]
    if env.get("HOME"):
        out.append(Path(env["HOME"]).expanduser())
    return out


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def profile_owning_dir(folder: Path, homes: list[Path]) -> str | None:
    """"default" / the profile name when `folder` is a profile's own state dir under one of `homes`, else None."""
    real = _real(folder)
    for home in homes:
        if _real(real.parent) != _real(home) and real.parent != home:
            continue
        m = _PROFILE_DIR.match(real.name)
        if m:
            return m.group("name") or "default"
    return None


def _recorded_profile(state_dir: Path) -> tuple[str, int | None] | None:
    """The profile named by a gateway instance record in `state_dir` (any gateway, running or not)."""
    try:
        rec = json.loads((state_dir / "gateway.instance.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict):
        return None
    pid = rec.get("pid") if isinstance(rec.get("pid"), int) else None
    return (rec.get("profile") or "default"), pid


def _invocation(profile: str) -> str:
    return "openclaw" if profile == "default" else f"openclaw --profile {profile}"


def check_profile_conflict(paths: Paths, env: dict[str, str] | Any, source: str) -> None:
    """Raise ProfileConflict when OPENCLAW_STATE_DIR / OPENCLAW_CONFIG_PATH point at another
    profile's files: that profile's own state dir or config under the home, or a custom state dir
    whose instance record belongs to another profile. A neutral custom dir is allowed."""
    mine = paths.profile or "default"
    homes = _homes(paths, env)
    own_dir = profile_state_dir(paths.home, paths.profile)
    problems: list[tuple[str, str]] = []  # (what the variable points at, the other profile)
    state_env = env.get("OPENCLAW_STATE_DIR")
    if state_env:
        other = profile_owning_dir(paths.state_dir, homes)
        if other is not None and other != mine:
            problems.append((f"OPENCLAW_STATE_DIR={state_env}, the state dir of profile \"{other}\"", other))
        elif other is None:
            recorded = _recorded_profile(paths.state_dir)
            if recorded is not None and recorded[0] != mine:
                pid = f" (pid {recorded[1]})" if recorded[1] else ""
                what = (f"OPENCLAW_STATE_DIR={state_env}, which holds the instance record of profile "
                        f"\"{recorded[0]}\"'s gateway{pid}")
                problems.append((what, recorded[0]))
    config_env = env.get("OPENCLAW_CONFIG_PATH")
    if config_env and paths.config_path.name == "openclaw.json":
        other = profile_owning_dir(paths.config_path.parent, homes)
        if other is not None and other != mine:
            problems.append((f"OPENCLAW_CONFIG_PATH={config_env}, the config of profile \"{other}\"", other))
    if not problems:
        return
    variables = " and ".join(sorted({p[0].split("=", 1)[0] for p in problems}))
    others = sorted({p[1] for p in problems})
    lines = [f"profile \"{mine}\" ({source}) conflicts with " + "; and with ".join(p[0] for p in problems) + "."]
    lines.append(
        f"Fix: unset {variables} to use profile \"{mine}\"'s own files ({own_dir}), or, for that gateway, run "
        + " / ".join(f"`{_invocation(o)} ...`" for o in others) + f" instead of {source}."
    )
    raise ProfileConflict("\n".join(lines))


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
