"""Whether and how the gateway announces itself (spec §8): `discovery.mdns.mode`, the environment,
the platform and containers decide; `discovery.wideArea.domain` adds a unicast DNS-SD zone.

    mode      discovery.mdns.mode if set, else "minimal" on macOS and "off" elsewhere (upstream's
              bonjour plugin is enabled by default on darwin only)
    disabled  OPENCLAW_DISABLE_BONJOUR truthy (1/true/yes/on), VITEST, or a container detected
              (/.dockerenv, /run/.containerenv, a docker/containerd/kubepods/lxc cgroup, FLY_APP_NAME)
              -- OPENCLAW_DISABLE_BONJOUR falsy (0/false/no/off) advertises in a container anyway;
              a truthy one also withholds the wide-area zone (a container does not)

The advertiser process (workers/advertiser/) exists when mDNS is on or a wide-area domain is set.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import config_value

SERVICE_TYPE = "_openclaw-gw._tcp"
ENV_DISABLE = "OPENCLAW_DISABLE_BONJOUR"
TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"0", "false", "no", "off"})
MODES = ("off", "minimal", "full")
CONTAINER_FILES = ("/.dockerenv", "/run/.containerenv")
CONTAINER_CGROUP_MARKS = ("docker", "containerd", "kubepods", "lxc")


@dataclass(frozen=True)
class DiscoverySettings:
    mode: str  # the effective mDNS mode: off | minimal | full
    configured_mode: str  # what the config (or the platform default) asked for
    disabled_reason: str | None  # why mode is off although the config asked for it
    wide_area_domain: str | None  # "openclaw.internal." (always ends with a dot)

    @property
    def mdns(self) -> bool:
        return self.mode != "off"

    @property
    def active(self) -> bool:
        """The advertiser process is needed."""
        return self.mdns or self.wide_area_domain is not None


def container_marker(root: str = "/") -> str | None:
    """What says this runs in a container, or None."""
    for f in CONTAINER_FILES:
        if Path(root, f.lstrip("/")).exists():
            return f
    try:
        cgroup = Path(root, "proc/1/cgroup").read_text(errors="replace")
    except OSError:
        cgroup = ""
    for mark in CONTAINER_CGROUP_MARKS:
        if mark in cgroup:
            return f"cgroup {mark}"
    return None


def resolve_discovery(
    config: dict[str, Any], env: dict[str, str] | None = None, *, platform: str | None = None,
    container: str | None | bool = False,
) -> DiscoverySettings:
    """`container=False` means: look (container_marker); a string or None is the answer (tests)."""
    env = dict(os.environ) if env is None else env
    platform = platform or sys.platform
    configured = config_value(config, "discovery.mdns.mode")
    if configured not in MODES:
        configured = "minimal" if platform == "darwin" else "off"
    flag = env.get(ENV_DISABLE, "").strip().lower()
    reason: str | None = None
    if configured != "off":
        if flag in TRUTHY:
            reason = f"{ENV_DISABLE}={env[ENV_DISABLE]}"
        elif env.get("VITEST"):
            reason = "VITEST is set"
        elif flag not in FALSY:
            marker = container_marker() if container is False else container
            if not marker and env.get("FLY_APP_NAME"):
                marker = "FLY_APP_NAME"
            if marker:
                reason = f"container detected ({marker}); set {ENV_DISABLE}=0 to advertise anyway"
    domain = config_value(config, "discovery.wideArea.domain")
    enabled = config_value(config, "discovery.wideArea.enabled", True)
    wide = None
    if isinstance(domain, str) and domain.strip() and enabled is not False and flag not in TRUTHY:
        wide = domain.strip().rstrip(".") + "."
    return DiscoverySettings(
        mode="off" if reason else configured, configured_mode=configured, disabled_reason=reason, wide_area_domain=wide,
    )
