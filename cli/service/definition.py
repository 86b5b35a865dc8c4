"""An installed service definition, read back from its file: what command it runs, with what environment.

The same shape for a systemd unit, a launchd plist and a Windows task + launcher, so the view
(`gateway status`, `doctor`) and the no-manager path (`gateway start` without a service manager)
read one structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET_VARS = ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD")
REDACTED = "__OPENCLAW_REDACTED__"


@dataclass
class Definition:
    argv: list[str]  # the full command: the openclaw program (maybe behind a wrapper), then its arguments
    env: dict[str, str] = field(default_factory=dict)  # environment set by the definition itself
    env_file: str | None = None  # systemd EnvironmentFile
    working_dir: str | None = None
    user: str | None = None
    log_file: str | None = None  # launchd StandardOutPath, the launcher's redirect
    inline_secrets: list[str] = field(default_factory=list)  # secret variables written into the definition (an issue)
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific facts (KeepAlive, triggers, ...)

    def _arg_after(self, flag: str) -> str | None:
        for i, a in enumerate(self.argv[:-1]):
            if a == flag:
                return self.argv[i + 1]
            if a.startswith(flag + "="):
                return a.split("=", 1)[1]
        return None

    @property
    def program_argv(self) -> list[str]:
        """The argv prefix that runs openclaw: everything before `--profile` / `gateway`."""
        for i, a in enumerate(self.argv):
            if a in ("--profile", "--dev", "gateway") or a.startswith("--profile="):
                return self.argv[:i]
        return list(self.argv)

    @property
    def port(self) -> int | None:
        value = self._arg_after("--port")
        return int(value) if value and value.isdigit() else None

    @property
    def profile(self) -> str | None:
        return self._arg_after("--profile") or self.env.get("OPENCLAW_PROFILE") or None

    @property
    def version(self) -> str | None:
        return self.env.get("OPENCLAW_SERVICE_VERSION")

    @property
    def marker(self) -> str | None:
        return self.env.get("OPENCLAW_SERVICE_MARKER")

    def to_json(self) -> dict[str, Any]:
        env = {k: (REDACTED if k in SECRET_VARS else v) for k, v in self.env.items()}
        prog = self.program_argv
        out: dict[str, Any] = {
            "program": prog[-1] if prog else None, "command": list(self.argv), "port": self.port,
            "profile": self.profile, "version": self.version, "marker": self.marker,
            "kind": self.env.get("OPENCLAW_SERVICE_KIND"), "env": env, "envFile": self.env_file,
            "workingDirectory": self.working_dir, "user": self.user, "logFile": self.log_file,
        }
        if self.inline_secrets:
            out["inlineSecrets"] = list(self.inline_secrets)
        if self.extra:
            out.update(self.extra)
        return out


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines (systemd EnvironmentFile syntax: # comments, optional double or single quotes)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            inner = value[1:-1]
            value = inner.replace('\\"', '"').replace("\\\\", "\\") if value[0] == '"' else inner
        out[key] = value
    return out


def render_env_file(values: dict[str, str], header: str) -> str:
    lines = [f"# {header}"]
    for key, value in values.items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"
