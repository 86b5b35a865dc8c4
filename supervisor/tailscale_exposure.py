"""Tailscale serve/funnel for the supervisor's lifetime: set up after the port is bound, reset at exit
when asked (`--tailscale-reset-on-exit`, `gateway.tailscale.resetOnExit`). The CLI calls are ipc/tailscale.py.
"""

from __future__ import annotations

import sys

from openclaw.ipc import logs, tailscale


class TailscaleExposure:
    def __init__(self, mode: str, reset_on_exit: bool) -> None:
        self.mode = mode
        self.reset_on_exit = reset_on_exit
        self.active = False

    def start(self, port: int) -> None:
        """Raises TailscaleError (exit 1) when tailscale is missing, logged out, or refuses."""
        if self.mode == "off":
            return
        st = tailscale.status()
        tailscale.expose(self.mode, port)
        self.active = True
        where = f"https://{st.dns_name}/" if st.dns_name else "the tailnet"
        line = f"tailscale {self.mode}: {where} -> 127.0.0.1:{port}"
        print(line, flush=True)
        logs.get_logger("gateway", console=False).info(line)

    def stop(self) -> None:
        if not (self.active and self.reset_on_exit):
            return
        self.active = False
        error = tailscale.reset(self.mode)
        if error is not None:
            sys.stderr.write(f"openclaw gateway: {error}\n")
            sys.stderr.flush()
