"""The systemd unit: rendered from a ServiceSpec, read back into a Definition.

Type=notify with NotifyAccess=main (the supervisor is the unit's main process: `openclaw gateway run`
execs it in place and it sends READY=1 / RELOADING=1 / STOPPING=1 / WATCHDOG=1, supervisor/notify.py),
WatchdogSec (a wedged front-end stops the pings and systemd restarts the gateway), Restart=always
except exit 78 (a configuration refusal must not loop), KillMode=mixed (SIGTERM to the supervisor,
which drains and stops its children; SIGKILL to the whole group only after TimeoutStopSec).
Secrets are only in the EnvironmentFile (0600), never in the unit.
"""

from __future__ import annotations

import shlex
from typing import Any

from .definition import SECRET_VARS, Definition
from .spec import ServiceSpec

WATCHDOG_SEC = 30
RESTART_SEC = 5
TIMEOUT_START_SEC = 60
TIMEOUT_STOP_SEC = 45
START_LIMIT_INTERVAL_SEC = 120
START_LIMIT_BURST = 5
HEADER = "# Written by `openclaw gateway install`; `openclaw gateway install --force` rewrites it."


def _escape_specifiers(text: str) -> str:
    return text.replace("%", "%%")


def quote_arg(arg: str) -> str:
    """One ExecStart argument: `%` and `$` escaped, double-quoted when it has spaces or quotes."""
    text = _escape_specifiers(arg).replace("$", "$$")
    if text and not any(c in text for c in " \t\"'\\;"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _env_assignment(key: str, value: str) -> str:
    text = _escape_specifiers(f"{key}={value}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(spec: ServiceSpec) -> str:
    layout = spec.layout
    lines = [
        HEADER,
        "[Unit]",
        f"Description={spec.description}",
        "Documentation=https://docs.openclaw.ai/gateway",
        "After=network-online.target",
        "Wants=network-online.target",
        f"StartLimitIntervalSec={START_LIMIT_INTERVAL_SEC}",
        f"StartLimitBurst={START_LIMIT_BURST}",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        "ExecStart=" + " ".join(quote_arg(a) for a in spec.argv),
        "Restart=always",
        f"RestartSec={RESTART_SEC}",
        "RestartPreventExitStatus=78",
        f"WatchdogSec={WATCHDOG_SEC}",
        f"TimeoutStartSec={TIMEOUT_START_SEC}",
        f"TimeoutStopSec={TIMEOUT_STOP_SEC}",
        "SuccessExitStatus=0 143",
        "KillMode=mixed",
    ]
    lines += [f"Environment={_env_assignment(k, v)}" for k, v in spec.env.items()]
    if layout.env_file is not None:
        lines.append(f"EnvironmentFile={_escape_specifiers(str(layout.env_file))}")
    if layout.system:
        lines.append(f"User={spec.user}")
    lines.append(f"WorkingDirectory={_escape_specifiers(str(spec.working_dir))}")
    lines += ["", "[Install]", f"WantedBy={'multi-user.target' if layout.system else 'default.target'}", ""]
    return "\n".join(lines)


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """`[Section]` → [(key, value)], with continuation lines joined and comments dropped."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1], [])
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current.append((key.strip(), value.strip()))
    return out


def _unescape(text: str) -> str:
    return text.replace("%%", "%")


def _split(value: str) -> list[str]:
    try:
        return [_unescape(p) for p in shlex.split(value)]
    except ValueError:
        return [_unescape(p) for p in value.split()]


def parse(text: str) -> Definition:
    service = sections(text).get("Service", [])
    argv: list[str] = []
    env: dict[str, str] = {}
    found: dict[str, Any] = {}
    for key, value in service:
        if key == "ExecStart" and value:
            argv = [a.replace("$$", "$") for a in _split(value.lstrip("-@+!:"))]
        elif key == "Environment":
            for assignment in _split(value):
                if "=" in assignment:
                    k, v = assignment.split("=", 1)
                    env[k] = v
        else:
            found[key] = _unescape(value)
    env_file = found.get("EnvironmentFile")
    definition = Definition(
        argv=argv, env=env, env_file=env_file.lstrip("-") if env_file else None,
        working_dir=found.get("WorkingDirectory"), user=found.get("User"),
        inline_secrets=[k for k in SECRET_VARS if k in env],
    )
    definition.extra = {"unit": {k: found[k] for k in ("Type", "Restart", "WatchdogSec", "KillMode") if k in found}}
    return definition
