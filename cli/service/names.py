"""What a profile's service is called on each platform (one place, read by every service module)."""

from __future__ import annotations

import sys

PLATFORMS = ("linux", "darwin", "win32")
SERVICE_MARKER = "openclaw"  # OPENCLAW_SERVICE_MARKER: "this process/definition was made by openclaw gateway install"
SERVICE_KIND = "gateway"  # OPENCLAW_SERVICE_KIND


def host_platform() -> str:
    return "darwin" if sys.platform == "darwin" else "win32" if sys.platform.startswith("win") else "linux"


def systemd_unit_name(profile: str | None) -> str:
    return f"openclaw-gateway-{profile}.service" if profile else "openclaw-gateway.service"


def launchd_label(profile: str | None) -> str:
    return f"ai.openclaw.{profile}" if profile else "ai.openclaw.gateway"


def windows_task_name(profile: str | None) -> str:
    return f"OpenClaw Gateway ({profile})" if profile else "OpenClaw Gateway"


def label_for(platform: str, profile: str | None) -> str:
    if platform == "darwin":
        return launchd_label(profile)
    if platform == "win32":
        return windows_task_name(profile)
    return systemd_unit_name(profile)
