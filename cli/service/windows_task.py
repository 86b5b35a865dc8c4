"""Windows: a Scheduled Task definition (XML) that runs the `gateway.cmd` launcher in the state dir.

The task starts at logon, restarts on failure (every minute, up to 999 times), never times out and
ignores a second start while one runs. The launcher sets the install metadata and runs
`openclaw [--profile P] gateway run --port N`, appending its output to the service log. No secret
is written in either file: the gateway reads its token from the config or the state dir's token file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .definition import SECRET_VARS, Definition
from .spec import ServiceSpec

TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
RESTART_INTERVAL = "PT1M"
RESTART_COUNT = 999


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def render_task(spec: ServiceSpec) -> bytes:
    task = ET.Element("Task", {"version": "1.2", "xmlns": TASK_NS})
    info = _el(task, "RegistrationInfo")
    _el(info, "Description", f"{spec.description}: written by openclaw gateway install")
    _el(info, "URI", "\\" + spec.layout.label)
    triggers = _el(task, "Triggers")
    logon = _el(triggers, "LogonTrigger")
    _el(logon, "Enabled", "true")
    _el(logon, "UserId", spec.user)
    principal = _el(_el(task, "Principals"), "Principal", id="Author")
    _el(principal, "UserId", spec.user)
    _el(principal, "LogonType", "InteractiveToken")
    _el(principal, "RunLevel", "LeastPrivilege")
    settings = _el(task, "Settings")
    for tag, text in (("MultipleInstancesPolicy", "IgnoreNew"), ("DisallowStartIfOnBatteries", "false"),
                      ("StopIfGoingOnBatteries", "false"), ("AllowHardTerminate", "true"),
                      ("StartWhenAvailable", "true"), ("RunOnlyIfNetworkAvailable", "false"),
                      ("AllowStartOnDemand", "true"), ("Enabled", "true"), ("Hidden", "false"),
                      ("RunOnlyIfIdle", "false"), ("ExecutionTimeLimit", "PT0S"), ("Priority", "7")):
        _el(settings, tag, text)
    restart = _el(settings, "RestartOnFailure")
    _el(restart, "Interval", RESTART_INTERVAL)
    _el(restart, "Count", str(RESTART_COUNT))
    exec_ = _el(_el(task, "Actions", Context="Author"), "Exec")
    assert spec.layout.launcher_path is not None
    _el(exec_, "Command", str(spec.layout.launcher_path))
    _el(exec_, "WorkingDirectory", str(spec.working_dir))
    ET.indent(task)
    body = ET.tostring(task, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-16"?>\n' + body + "\n").encode("utf-16")


def parse_task(data: bytes) -> dict[str, Any]:
    root = ET.fromstring(data)
    ns = {"t": TASK_NS}

    def text(path: str) -> str | None:
        node = root.find(path, ns)
        return node.text if node is not None else None

    return {
        "command": text("t:Actions/t:Exec/t:Command"),
        "workingDirectory": text("t:Actions/t:Exec/t:WorkingDirectory"),
        "logonTrigger": root.find("t:Triggers/t:LogonTrigger", ns) is not None,
        "restartOnFailure": {"interval": text("t:Settings/t:RestartOnFailure/t:Interval"),
                             "count": text("t:Settings/t:RestartOnFailure/t:Count")},
        "uri": text("t:RegistrationInfo/t:URI"),
    }


def _cmd_quote(arg: str) -> str:
    text = arg.replace("%", "%%")
    return f'"{text}"' if (not text or any(c in text for c in ' \t&|<>^()"')) else text


def render_launcher(spec: ServiceSpec) -> str:
    lines = ["@echo off", f"rem {spec.description}: written by `openclaw gateway install`; `--force` rewrites it."]
    lines += [f'set "{k}={v.replace("%", "%%")}"' for k, v in spec.env.items()]
    log = str(spec.layout.service_log)
    lines.append(" ".join(_cmd_quote(a) for a in spec.argv) + f" >> {_cmd_quote(log)} 2>&1")
    return "\r\n".join(lines) + "\r\n"


def _split_cmd(line: str) -> list[str]:
    """Split a cmd.exe command line on spaces outside double quotes (what render_launcher writes)."""
    out, cur, quoted, started = [], [], False, False
    for c in line:
        if c == '"':
            quoted, started = not quoted, True
        elif c in " \t" and not quoted:
            if started:
                out.append("".join(cur))
            cur, started = [], False
        else:
            cur.append(c)
            started = True
    if started:
        out.append("".join(cur))
    return [a.replace("%%", "%") for a in out]


def parse_launcher(text: str) -> Definition:
    env: dict[str, str] = {}
    argv: list[str] = []
    log_file = None
    for raw in text.splitlines():
        line = raw.strip()
        low = line.lower()
        if not line or low.startswith(("@echo", "rem ", "::")):
            continue
        if low.startswith("set "):
            body = line[4:].strip().strip('"')
            if "=" in body:
                k, v = body.split("=", 1)
                env[k] = v.replace("%%", "%")
            continue
        argv = _split_cmd(line)
        if ">>" in argv:
            i = argv.index(">>")
            log_file = argv[i + 1] if i + 1 < len(argv) else None
            argv = argv[:i]
    return Definition(argv=argv, env=env, log_file=log_file, inline_secrets=[k for k in SECRET_VARS if k in env])
