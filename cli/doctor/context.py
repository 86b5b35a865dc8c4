"""Everything the checks read, gathered once: paths, the config as loaded, the port, the records."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.ipc.config import config_value, parse_port_value
from openclaw.ipc.config_file import ConfigFileError, LoadedConfig, load_config
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.instance_registry import InstanceRecord, judge, read_record
from openclaw.ipc.log_files import current_log_file
from openclaw.ipc.paths import Paths, profile_default_port, profile_state_dir


@dataclass
class DoctorContext:
    paths: Paths
    env: Mapping[str, str]
    deep: bool
    loaded: LoadedConfig | None  # None when the file cannot be used
    config_error: str | None
    port: int
    port_source: str
    record: InstanceRecord | None  # this state dir's instance record, running or not
    record_alive: bool
    record_reason: str  # why it is stale ("" when alive or absent)
    log_file: Path
    notes: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.loaded.data if self.loaded is not None else {}

    @property
    def profile_name(self) -> str:
        return self.paths.profile or "default"

    def invocation(self) -> str:
        """`openclaw`, `openclaw --profile rescue`: how to run a command for this profile."""
        return f"openclaw --profile {self.paths.profile}" if self.paths.profile else "openclaw"

    @property
    def custom_state_dir(self) -> bool:
        return self.paths.state_dir != profile_state_dir(self.paths.home, self.paths.profile)


def resolve_port(paths: Paths, data: dict[str, Any], env: Mapping[str, str]) -> tuple[int, str]:
    """The port a start would use: OPENCLAW_GATEWAY_PORT > gateway.port > the profile's default."""
    env_port = env.get("OPENCLAW_GATEWAY_PORT")
    if env_port:
        try:
            return parse_port_value(env_port, "OPENCLAW_GATEWAY_PORT"), "env OPENCLAW_GATEWAY_PORT"
        except ConfigRefusal:
            pass
    cfg_port = config_value(data, "gateway.port")
    if isinstance(cfg_port, int) and not isinstance(cfg_port, bool) and 0 < cfg_port <= 65535:
        return cfg_port, "config gateway.port"
    return profile_default_port(paths.profile), "default"


def resolve_log_file(paths: Paths, data: dict[str, Any], record: InstanceRecord | None) -> Path:
    """The running gateway's log file, else logging.file, else the default one for this profile."""
    recorded = record.log_file if record is not None else None
    return current_log_file(recorded, config_value(data, "logging.file"), paths.profile)[0]


def build_context(paths: Paths, deep: bool = False, env: Mapping[str, str] | None = None) -> DoctorContext:
    env = os.environ if env is None else env
    loaded: LoadedConfig | None = None
    config_error = None
    try:
        loaded = load_config(paths.config_path)
    except ConfigFileError as exc:
        config_error = str(exc)
    data = loaded.data if loaded is not None else {}
    port, port_source = resolve_port(paths, data, env)
    record = read_record(paths.instance_file)
    alive, reason = judge(record) if record is not None else (False, "")
    return DoctorContext(
        paths=paths, env=env, deep=deep, loaded=loaded, config_error=config_error, port=port,
        port_source=port_source, record=record, record_alive=alive, record_reason=reason,
        log_file=resolve_log_file(paths, data, record if alive else None),
    )


def real_path(path: Path) -> Path:
    """The path with ~ expanded and links resolved (as given when it cannot be resolved)."""
    try:
        return path.expanduser().resolve()
    except OSError:
        return path
