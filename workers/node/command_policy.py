"""Which node commands a node may offer and an operator may invoke (nodes spec §5.5).

The platform comes from `client.platform` and must agree with `deviceFamily` ("linux" + "Linux",
"macos" + "Mac" ...); a platform whose family does not match is `unknown`. The pairing filter
drops what no platform list knows; desktop-host commands (system.run, system.which ...) pass the
filter but run only once an operator approved a surface that declares them; dangerous commands need
`gateway.nodes.commands.allow`; `gateway.nodes.commands.deny` always wins.
"""

from __future__ import annotations

import unicodedata
from typing import Any

DESKTOP_HOST = frozenset(
    {
        "system.run.prepare", "system.run", "system.which", "system.execApprovals.get", "system.execApprovals.set",
        "fs.listDir", "terminal.upload", "browser.proxy", "browser.proxy.upload.v1", "mcp.tools.call.v1",
        "agent.cli.claude.run.v1", "screen.snapshot", "desktop.stream",
    }
)
DANGEROUS = frozenset(
    {
        "camera.snap", "camera.clip", "camera.ptz.control", "screen.record", "contacts.add", "calendar.add",
        "reminders.add", "sms.send", "sms.search", "health.summary",
    }
)
TALK = frozenset({"talk.ptt.start", "talk.ptt.stop", "talk.ptt.cancel", "talk.ptt.once"})
PLUGIN_DEFAULTS = frozenset({"ollama.chat", "ollama.models"})  # the bundled local-inference plugin
_MOBILE_COMMON = (
    "camera.list", "location.get", "device.info", "device.status", "contacts.search", "calendar.events",
    "reminders.list", "photos.latest", "motion.activity", "motion.pedometer",
)
BASE: dict[str, frozenset[str]] = {
    "ios": frozenset({*_MOBILE_COMMON, "system.notify", "watch.status", "watch.notify"}),
    "watchos": frozenset({"device.info", "device.status", "system.notify"}),
    "android": frozenset(
        {
            *_MOBILE_COMMON, "notifications.list", "notifications.actions", "system.notify", "device.permissions",
            "device.health", "device.apps", "callLog.search", "mobile.ui.observe", "mobile.ui.act",
        }
    ),
    "macos": frozenset(
        {*_MOBILE_COMMON, "camera.ptz.status", "device.apps", "system.notify", "computer.act",
         "canvas.present", "canvas.hide", "canvas.navigate"}
    ),
    "windows": frozenset({"camera.list", "location.get", "device.info", "device.status", "system.notify", "computer.act"}),
    "linux": frozenset({"system.notify", "computer.act"}),
    "unknown": frozenset({"camera.list", "location.get", "system.notify"}),
}
DESKTOP_PLATFORMS = frozenset({"macos", "windows", "linux"})
_FAMILIES = {"linux": ("linux",), "macos": ("mac",), "windows": ("windows",), "android": ("", "android"),
             "ios": ("", "iphone", "ipad", "ios"), "watchos": ("", "watch", "apple watch", "watchos")}


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFKD", text or "").strip().lower()


def platform_of(platform: str | None, device_family: str | None) -> str:
    p, fam = _norm(platform), _norm(device_family)
    for name in _FAMILIES:
        if p == name or p.startswith(name + " ") or (name == "macos" and p.startswith("macos")):
            return name if fam in _FAMILIES[name] or any(fam.startswith(f) for f in _FAMILIES[name] if f) else "unknown"
    return "unknown"


def _config_list(config: dict[str, Any], key: str) -> frozenset[str]:
    nodes = (config.get("gateway") or {}).get("nodes") if isinstance(config.get("gateway"), dict) else None
    commands = nodes.get("commands") if isinstance(nodes, dict) else None
    value = commands.get(key) if isinstance(commands, dict) else None
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


def _candidates(platform: str, caps: list[str], declared: list[str], config: dict[str, Any]) -> frozenset[str]:
    allow = _config_list(config, "allow")
    out = set(BASE.get(platform, BASE["unknown"])) | PLUGIN_DEFAULTS
    if platform in DESKTOP_PLATFORMS:
        out |= DESKTOP_HOST
    if "talk" in caps or any(c.startswith("talk.") for c in declared):
        out |= TALK
    out = (out | allow) - DANGEROUS
    out |= allow  # an explicit allow re-enables a dangerous command
    return frozenset(out - _config_list(config, "deny"))


def pairing_filter(platform: str, caps: list[str], declared: list[str], config: dict[str, Any]) -> list[str]:
    """The declared commands an operator is asked to approve (unknown and disallowed ones dropped)."""
    ok = _candidates(platform, caps, declared, config)
    return sorted({c for c in declared if c in ok})


def invoke_refusal(platform: str, caps: list[str], approved: list[str], command: str, config: dict[str, Any]) -> str | None:
    """Why `command` may not be invoked on this node now (None: it may)."""
    ok = _candidates(platform, caps, approved, config)
    if command in ok:
        return None if command in approved else f'node command not allowed: "{command}" is not in this node\'s approved commands'
    if command in DANGEROUS and command not in _config_list(config, "deny"):
        return f'node command not allowed: "{command}" requires explicit gateway.nodes.commands.allow opt-in'
    return f'node command not allowed: "{command}" is not in the allowlist for platform "{platform}"'


def required_approve_scopes(commands: list[str]) -> list[str]:
    if any(c in ADMIN_APPROVE or c.startswith("browser.proxy") for c in commands):
        return ["operator.pairing", "operator.admin"]
    return ["operator.pairing", "operator.write"] if commands else ["operator.pairing"]


ADMIN_APPROVE = frozenset(
    {"system.run.prepare", "system.run", "system.which", "system.execApprovals.get", "system.execApprovals.set",
     "fs.listDir", "terminal.upload"}
)
