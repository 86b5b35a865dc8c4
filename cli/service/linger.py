"""Linger: whether systemd keeps this user's services running after their last session ends.

Without it a user unit stops when the SSH session closes (field reports §1.C #9). Asked of
`loginctl show-user <user> -p Linger`, else the marker file /var/lib/systemd/linger/<user>.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .managers import run_tool

LINGER_DIR = Path("/var/lib/systemd/linger")


@dataclass
class Linger:
    user: str
    enabled: bool | None  # None: cannot tell (no logind here)
    source: str

    @property
    def fix(self) -> str:
        return f"sudo loginctl enable-linger {self.user}"

    def hint(self) -> str | None:
        if self.enabled:
            return None
        state = "off" if self.enabled is False else f"unknown ({self.source})"
        return (f"Linger is {state} for user {self.user}: a user service stops when your last session ends. "
                f"Fix: {self.fix} (or install a system unit with --system).")

    def to_json(self) -> dict[str, object]:
        return {"user": self.user, "enabled": self.enabled, "source": self.source,
                **({"fix": self.fix} if not self.enabled else {})}


def check_linger(user: str) -> Linger:
    res = run_tool(["loginctl", "show-user", user, "-p", "Linger"], timeout=5)
    if res.ok and "Linger=" in res.out:
        value = res.out.split("Linger=", 1)[1].split()[0] if res.out.split("Linger=", 1)[1].split() else ""
        return Linger(user, value == "yes", "loginctl")
    if (LINGER_DIR / user).exists():
        return Linger(user, True, str(LINGER_DIR / user))
    why = res.text.splitlines()[0] if res.text else "loginctl gave no answer"
    return Linger(user, None, f"loginctl: {why}")
