"""What a service runs, decided once from the profile, the config and install's flags (`ServiceSpec`).

Every platform's definition is rendered from this one spec: the absolute `openclaw` program (the
installed script, e.g. `.venv/bin/openclaw`), `[--profile P] gateway run --port N`, the install
metadata (`OPENCLAW_SERVICE_MARKER/KIND/VERSION`), the paths the gateway must use when they are not
what it would find by itself, and the secrets that go in a 0600 file, never in the definition.
"""

from __future__ import annotations

import getpass
import os
import pwd
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.ipc.config import config_value, parse_port_value
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.paths import Paths, profile_default_port, resolve_paths
from openclaw.ipc.version import GATEWAY_VERSION

from .layout import Layout
from .names import SERVICE_KIND, SERVICE_MARKER


@dataclass
class ServiceSpec:
    layout: Layout
    argv: list[str]
    port: int
    port_source: str
    profile: str | None
    env: dict[str, str]  # written into the definition (no secrets)
    secrets: dict[str, str] = field(default_factory=dict)  # systemd: the EnvironmentFile only
    working_dir: Path = Path("/")
    user: str = ""
    version: str = GATEWAY_VERSION

    @property
    def description(self) -> str:
        return f"OpenClaw Gateway ({self.profile})" if self.profile else "OpenClaw Gateway"


def openclaw_program(argv0: str | None = None) -> list[str]:
    """How to run this `openclaw`: the script we were started as, else the one beside our Python
    (a venv's bin/openclaw), else `python -m openclaw.cli`. Never another `openclaw` on PATH (the
    upstream Node CLI has the same name)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if argv0 and Path(argv0).name in ("openclaw", "openclaw.exe") and Path(argv0).exists():
        return [os.path.abspath(argv0)]
    sibling = Path(sys.executable).with_name("openclaw")
    if sibling.exists():
        return [str(sibling)]
    return [sys.executable, "-m", "openclaw.cli"]


def resolve_service_port(config: dict[str, Any], profile: str | None, cli_port: int | None,
                         env: dict[str, str] | None = None) -> tuple[int, str]:
    """As the gateway resolves it: --port > OPENCLAW_GATEWAY_PORT > gateway.port > the profile default."""
    env = os.environ if env is None else env
    if cli_port is not None:
        port, source = cli_port, "cli --port"
    elif env.get("OPENCLAW_GATEWAY_PORT"):
        port, source = parse_port_value(env["OPENCLAW_GATEWAY_PORT"], "OPENCLAW_GATEWAY_PORT"), "env OPENCLAW_GATEWAY_PORT"
    elif config_value(config, "gateway.port") is not None:
        port, source = config_value(config, "gateway.port"), "config gateway.port"
        if isinstance(port, bool) or not isinstance(port, int):
            raise ConfigRefusal(f"Invalid gateway.port: {port!r} (an integer 1..65535)")
    else:
        port, source = profile_default_port(profile), "default"
    if not 1 <= port <= 65535:
        raise ConfigRefusal(f"Invalid port {port} ({source}): a service needs a fixed port 1..65535 (0 = any port is for foreground runs)")
    return port, source


def service_user(system: bool) -> str:
    if system and os.getuid() == 0 and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return getpass.getuser()


def _user_home(user: str) -> Path | None:
    try:
        return Path(pwd.getpwnam(user).pw_dir)
    except KeyError:
        return None


def path_env(paths: Paths, user: str, system: bool) -> dict[str, str]:
    """The variables the gateway needs to find this profile's files under the service manager,
    whose environment has the user's real HOME and nothing of this shell."""
    env: dict[str, str] = {}
    if paths.profile:
        env["OPENCLAW_PROFILE"] = paths.profile
    if paths.home != _user_home(user):
        env["OPENCLAW_HOME"] = str(paths.home)
    default = resolve_paths(paths.profile, {"HOME": str(paths.home)})
    if system or paths.state_dir != default.state_dir:
        env["OPENCLAW_STATE_DIR"] = str(paths.state_dir)
    if system or paths.config_path != paths.state_dir / "openclaw.json":
        env["OPENCLAW_CONFIG_PATH"] = str(paths.config_path)
    return env


def build_spec(
    paths: Paths, layout: Layout, config: dict[str, Any], *, port: int | None = None, token: str | None = None,
    allow_unconfigured: bool = False, wrapper: str | None = None, env: dict[str, str] | None = None,
) -> ServiceSpec:
    resolved, source = resolve_service_port(config, paths.profile, port, env)
    program = openclaw_program()
    if wrapper:
        program = [wrapper, *program]
    args = ["--profile", paths.profile] if paths.profile else []
    args += ["gateway", "run", "--port", str(resolved)]
    if allow_unconfigured:
        args.append("--allow-unconfigured")
    user = service_user(layout.system)
    spec_env = {
        "OPENCLAW_SERVICE_MARKER": SERVICE_MARKER,
        "OPENCLAW_SERVICE_KIND": SERVICE_KIND,
        "OPENCLAW_SERVICE_VERSION": GATEWAY_VERSION,
        **path_env(paths, user, layout.system),
    }
    secrets = {"OPENCLAW_GATEWAY_TOKEN": token} if token else {}
    return ServiceSpec(
        layout=layout, argv=[*program, *args], port=resolved, port_source=source, profile=paths.profile,
        env=spec_env, secrets=secrets, working_dir=paths.home, user=user,
    )
