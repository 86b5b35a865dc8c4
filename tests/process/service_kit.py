"""Running `openclaw` service commands as a user would, in an isolated home, and killing (by PID) every
gateway they started even when a test fails."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import psutil
from openclaw.ipc.instance_registry import list_instances

from ..harness import Home, wait_for


class ServiceKit:
    """`openclaw [--profile P] ...` in `home`, with PATH limited to `bin_dir` (an empty folder unless a test
    puts fake tools there), so no real service manager is ever reached: the no-manager path."""

    def __init__(self, home: Home, bin_dir: Path, profile: str | None = None, **env: str) -> None:
        self.home = home
        self.profile = profile
        self.bin_dir = bin_dir
        bin_dir.mkdir(parents=True, exist_ok=True)
        self.extra_env = env
        self.pids: set[int] = set()

    def env(self) -> dict[str, str]:
        return self.home.env(PATH=str(self.bin_dir), **self.extra_env)

    def run(self, *args: str, timeout: float = 60):
        prefix = ["--profile", self.profile] if self.profile else []
        result = self.home.cli(*prefix, *args, timeout=timeout, env=self.env())
        self._track(result.stdout)
        return result

    def ok(self, *args: str, timeout: float = 60) -> Any:
        """Run a command that must succeed; its JSON output when it printed JSON."""
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, f"openclaw {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        try:
            return json.loads(result.stdout)
        except ValueError:
            return result.stdout

    def _track(self, stdout: str) -> None:
        try:
            data = json.loads(stdout)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            self.pids.add(data["pid"])

    @property
    def state_dir(self) -> Path:
        return self.home.home / (f".openclaw-{self.profile}" if self.profile else ".openclaw")

    def instance(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.state_dir / "gateway.instance.json").read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        """SIGKILL every gateway this home ran (registry records and PIDs seen), with its children."""
        pids = set(self.pids) | {i.record.pid for i in list_instances(self.home.home) if i.alive}
        procs: list[psutil.Process] = []
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                if not " ".join(proc.cmdline()).startswith("openclaw-gateway:"):
                    continue  # a reused pid: not ours any more
                procs += [proc, *proc.children(recursive=True)]
            except psutil.Error:
                continue
        for proc in procs:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        psutil.wait_procs(procs, timeout=5)


def tree_pids(pid: int) -> set[int]:
    """The supervisor and its live children."""
    proc = psutil.Process(pid)
    kids = [k for k in proc.children(recursive=True) if k.status() != psutil.STATUS_ZOMBIE]
    return {pid, *(k.pid for k in kids)}


def wait_gone(pids: set[int], timeout: float = 10.0) -> None:
    def none_alive() -> bool:
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    return False
            except psutil.NoSuchProcess:
                continue
        return True

    wait_for(none_alive, timeout, what=f"processes {sorted(pids)} gone")
