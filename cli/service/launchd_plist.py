"""The macOS LaunchAgent: a plist rendered from a ServiceSpec, read back into a Definition.

KeepAlive is `{SuccessfulExit: false}`: launchd restarts the gateway when it crashes but not after a
clean stop, so it never fights `openclaw gateway stop` (field reports §1.C #10). launchd has no
EnvironmentFile, so no secret goes in the plist: the gateway reads its token from the config or the
state dir's token file (0600).
"""

from __future__ import annotations

import plistlib

from .definition import SECRET_VARS, Definition
from .spec import ServiceSpec

THROTTLE_INTERVAL = 10  # seconds between launches after a crash
EXIT_TIMEOUT = 45  # seconds between SIGTERM and SIGKILL on bootout
REQUIRED_KEYS = ("Label", "ProgramArguments", "EnvironmentVariables", "KeepAlive", "RunAtLoad",
                 "StandardOutPath", "StandardErrorPath", "ThrottleInterval")


def render(spec: ServiceSpec) -> bytes:
    log = str(spec.layout.service_log)
    plist = {
        "Label": spec.layout.label,
        "ProgramArguments": list(spec.argv),
        "EnvironmentVariables": dict(spec.env),
        "WorkingDirectory": str(spec.working_dir),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": THROTTLE_INTERVAL,
        "ExitTimeOut": EXIT_TIMEOUT,
        "ProcessType": "Background",
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }
    return plistlib.dumps(plist, fmt=plistlib.FMT_XML)


def parse(data: bytes) -> Definition:
    plist = plistlib.loads(data)
    if not isinstance(plist, dict):
        raise TypeError("the plist's top level is not a dictionary")
    env = {str(k): str(v) for k, v in (plist.get("EnvironmentVariables") or {}).items()}
    argv = [str(a) for a in plist.get("ProgramArguments") or []]
    return Definition(
        argv=argv, env=env, working_dir=plist.get("WorkingDirectory"), log_file=plist.get("StandardOutPath"),
        inline_secrets=[k for k in SECRET_VARS if k in env],
        extra={"launchd": {"label": plist.get("Label"), "keepAlive": plist.get("KeepAlive"),
                           "runAtLoad": plist.get("RunAtLoad"), "missingKeys": [k for k in REQUIRED_KEYS if k not in plist]}},
    )
