"""What `openclaw gateway run` hands the supervisor it execs (env OPENCLAW_LAUNCH_OPTIONS, JSON).

Passed in the environment, not argv, so secrets given as flags do not show in `ps`.
The supervisor removes the variable before it spawns children.
"""

from __future__ import annotations

import msgspec

LAUNCH_ENV = "OPENCLAW_LAUNCH_OPTIONS"


class LaunchOptions(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    profile: str | None = None
    dev: bool = False
    port: int | None = None
    bind: str | None = None
    auth: str | None = None
    token: str | None = None
    password: str | None = None
    password_file: str | None = None
    allow_unconfigured: bool = False
    reset: bool = False
    force: bool = False
    verbose: bool = False
    ws_log: str = "auto"
    raw_stream: bool = False
    raw_stream_path: str | None = None
    tailscale: str | None = None  # off | serve | funnel (ipc/tailscale.py)
    tailscale_reset_on_exit: bool = False


encode = msgspec.json.encode
decoder = msgspec.json.Decoder(LaunchOptions)
