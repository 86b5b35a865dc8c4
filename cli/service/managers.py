"""The service managers, driven through their command-line tools (bounded: every call has a timeout).

One class per manager with the same verbs: `available` (does the manager answer here?), `query`
(what it thinks of our service), `load` (after install wrote the files), `start`, `stop`, `restart`,
`unload` (before uninstall removes the files), `after_remove`, `failure_log`. The lifecycle module
(lifecycle.py) decides which verb to call and checks the state that follows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from .layout import Layout
from .names import host_platform

TOOL_TIMEOUT_S = 20.0


@dataclass
class ToolResult:
    argv: list[str]
    rc: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def text(self) -> str:
        """The tool's own words (stderr, else stdout), trimmed to a few lines."""
        lines = (self.err.strip() or self.out.strip()).splitlines()
        return "\n".join(lines[:6])

    def describe(self) -> str:
        return f"`{' '.join(self.argv)}` exited {self.rc}" + (f": {self.text}" if self.text else "")


def run_tool(argv: list[str], timeout: float = TOOL_TIMEOUT_S) -> ToolResult:
    try:
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return ToolResult(argv, 127, "", f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        return ToolResult(argv, 124, "", f"{argv[0]} did not answer within {timeout:.0f} s")
    except OSError as exc:
        return ToolResult(argv, 126, "", f"{argv[0]}: {exc.strerror or exc}")
    return ToolResult(argv, done.returncode, done.stdout, done.stderr)


def chain(*argvs: list[str], optional: tuple[int, ...] = ()) -> ToolResult:
    """Run the commands in order; stop at the first failure (steps whose index is in `optional` may fail)."""
    result = ToolResult([], 0, "", "")
    for i, argv in enumerate(argvs):
        result = run_tool(argv)
        if not result.ok and i not in optional:
            return result
    return result


@dataclass
class ManagerState:
    loaded: bool | None = None  # the manager knows the service
    state: str | None = None  # running | activating | stopping | stopped | failed | None (cannot tell)
    pid: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class ServiceManager:
    name = ""  # the `via` value: systemd | launchd | schtasks

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def available(self) -> tuple[bool, str]:
        raise NotImplementedError

    def query(self) -> ManagerState:
        raise NotImplementedError

    def load(self, restart: bool) -> ToolResult:
        raise NotImplementedError

    def start(self) -> ToolResult:
        raise NotImplementedError

    def stop(self, disable: bool) -> ToolResult:
        raise NotImplementedError

    def restart(self) -> ToolResult:
        raise NotImplementedError

    def unload(self) -> ToolResult:
        raise NotImplementedError

    def after_remove(self) -> None:
        return None

    def failure_log(self) -> str:
        return ""


SYSTEMD_STATES = {"active": "running", "reloading": "running", "activating": "activating",
                  "deactivating": "stopping", "inactive": "stopped", "failed": "failed"}


class Systemd(ServiceManager):
    name = "systemd"

    @property
    def base(self) -> list[str]:
        return ["systemctl"] if self.layout.system else ["systemctl", "--user"]

    def available(self) -> tuple[bool, str]:
        if shutil.which("systemctl") is None:
            return False, "systemctl is not installed"
        res = run_tool([*self.base, "show-environment"], timeout=5)
        return (True, "") if res.ok else (False, res.text or f"{' '.join(self.base)} exited {res.rc}")

    def query(self) -> ManagerState:
        unit = self.layout.label
        res = run_tool([*self.base, "show", unit, "--property=LoadState,ActiveState,SubState,MainPID,UnitFileState,Result,ExecMainStatus"])
        if not res.ok:
            return ManagerState(detail={"error": res.text})
        props = dict(line.split("=", 1) for line in res.out.splitlines() if "=" in line)
        pid = int(props["MainPID"]) if props.get("MainPID", "0").isdigit() and props.get("MainPID") != "0" else None
        return ManagerState(
            loaded=props.get("LoadState") == "loaded", state=SYSTEMD_STATES.get(props.get("ActiveState", "")), pid=pid,
            detail={k: props[k] for k in ("LoadState", "ActiveState", "SubState", "UnitFileState", "Result", "ExecMainStatus") if k in props},
        )

    def load(self, restart: bool) -> ToolResult:
        unit = self.layout.label
        return chain([*self.base, "daemon-reload"], [*self.base, "reset-failed", unit], [*self.base, "enable", unit],
                     [*self.base, "restart" if restart else "start", unit], optional=(1,))

    def start(self) -> ToolResult:
        # reset-failed first: a unit that hit its start limit stays "failed" until someone clears it
        unit = self.layout.label
        return chain([*self.base, "reset-failed", unit], [*self.base, "start", unit], optional=(0,))

    def stop(self, disable: bool) -> ToolResult:
        unit = self.layout.label
        return run_tool([*self.base, "disable", "--now", unit] if disable else [*self.base, "stop", unit])

    def restart(self) -> ToolResult:
        unit = self.layout.label
        return chain([*self.base, "reset-failed", unit], [*self.base, "restart", unit], optional=(0,))

    def unload(self) -> ToolResult:
        return run_tool([*self.base, "disable", "--now", self.layout.label])

    def after_remove(self) -> None:
        run_tool([*self.base, "daemon-reload"])
        run_tool([*self.base, "reset-failed", self.layout.label])

    def failure_log(self) -> str:
        scope = [] if self.layout.system else ["--user"]
        res = run_tool(["journalctl", *scope, "-u", self.layout.label, "-n", "20", "--no-pager", "-o", "cat"])
        return res.out.strip() if res.ok else ""


class Launchd(ServiceManager):
    name = "launchd"

    @property
    def domain(self) -> str:
        return f"gui/{os.getuid()}"

    @property
    def target(self) -> str:
        return f"{self.domain}/{self.layout.label}"

    def available(self) -> tuple[bool, str]:
        if host_platform() != "darwin" or shutil.which("launchctl") is None:
            return False, "launchctl is not available on this host"
        res = run_tool(["launchctl", "print", self.domain], timeout=5)
        return (True, "") if res.ok else (False, res.text)

    def query(self) -> ManagerState:
        res = run_tool(["launchctl", "print", self.target])
        if not res.ok:
            return ManagerState(loaded=False, state="stopped", detail={"error": res.text})
        state = re.search(r"^\s*state = (\S+)", res.out, re.MULTILINE)
        pid = re.search(r"^\s*pid = (\d+)", res.out, re.MULTILINE)
        last = re.search(r"^\s*last exit code = (.+)$", res.out, re.MULTILINE)
        value = state.group(1) if state else None
        return ManagerState(
            loaded=True, state="running" if value == "running" else "stopped" if value else None,
            pid=int(pid.group(1)) if pid else None, detail={"state": value, "lastExitCode": last.group(1) if last else None},
        )

    def _bootstrap(self) -> ToolResult:
        return chain(["launchctl", "enable", self.target],
                     ["launchctl", "bootstrap", self.domain, str(self.layout.definition_path)], optional=(0,))

    def load(self, restart: bool) -> ToolResult:
        run_tool(["launchctl", "bootout", self.target])  # a previous definition, if loaded
        return self._bootstrap()

    def start(self) -> ToolResult:
        if not self.query().loaded:
            return self._bootstrap()
        return run_tool(["launchctl", "kickstart", self.target])

    def stop(self, disable: bool) -> ToolResult:
        res = run_tool(["launchctl", "bootout", self.target])
        if disable:
            res = run_tool(["launchctl", "disable", self.target])
        return res

    def restart(self) -> ToolResult:
        if not self.query().loaded:
            return self._bootstrap()
        return run_tool(["launchctl", "kickstart", "-k", self.target])

    def unload(self) -> ToolResult:
        return run_tool(["launchctl", "bootout", self.target])

    def failure_log(self) -> str:
        try:
            return "\n".join(self.layout.service_log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""


class Schtasks(ServiceManager):
    name = "schtasks"

    def available(self) -> tuple[bool, str]:
        return (True, "") if shutil.which("schtasks") else (False, "schtasks is not available on this host")

    def query(self) -> ManagerState:
        res = run_tool(["schtasks", "/Query", "/TN", self.layout.label, "/FO", "LIST", "/V"])
        if not res.ok:
            return ManagerState(loaded=False, state="stopped", detail={"error": res.text})
        status = re.search(r"^Status:\s*(.+)$", res.out, re.MULTILINE)
        value = status.group(1).strip() if status else None
        return ManagerState(loaded=True, state="running" if value == "Running" else "stopped" if value else None,
                            detail={"status": value})

    def load(self, restart: bool) -> ToolResult:
        name = self.layout.label
        steps = [["schtasks", "/Create", "/TN", name, "/XML", str(self.layout.definition_path), "/F"]]
        if restart:
            steps.append(["schtasks", "/End", "/TN", name])
        steps.append(["schtasks", "/Run", "/TN", name])
        return chain(*steps, optional=(1,) if restart else ())

    def start(self) -> ToolResult:
        name = self.layout.label
        return chain(["schtasks", "/Change", "/TN", name, "/ENABLE"], ["schtasks", "/Run", "/TN", name], optional=(0,))

    def stop(self, disable: bool) -> ToolResult:
        name = self.layout.label
        res = run_tool(["schtasks", "/End", "/TN", name])
        if disable and res.ok:
            res = run_tool(["schtasks", "/Change", "/TN", name, "/DISABLE"])
        return res

    def restart(self) -> ToolResult:
        name = self.layout.label
        return chain(["schtasks", "/End", "/TN", name], ["schtasks", "/Run", "/TN", name], optional=(0,))

    def unload(self) -> ToolResult:
        name = self.layout.label
        return chain(["schtasks", "/End", "/TN", name], ["schtasks", "/Delete", "/TN", name, "/F"], optional=(0,))


def manager_for(layout: Layout) -> ServiceManager:
    if layout.manager == "launchd":
        return Launchd(layout)
    if layout.manager == "schtasks":
        return Schtasks(layout)
    return Systemd(layout)
