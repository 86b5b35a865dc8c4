"""The only module that starts processes: exec `python -m <module>` in a new session.

Listening sockets are non-inheritable in the supervisor and passed (`pass_fds`) to the
front-end alone; no worker ever holds the public port.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from openclaw.ipc.child_link import ENV_CONTROL, ENV_INSTANCE, ENV_NAME, ENV_PARENT

from .specs import ChildSpec

ENV_LISTEN_FDS = "OPENCLAW_LISTEN_FDS"


async def spawn(
    spec: ChildSpec,
    instance: str,
    control_url: str,
    listen_fds: list[int],
    on_exit: Callable[[str, int, int], None],
) -> asyncio.subprocess.Process:
    """Start `spec`'s process; `on_exit(instance, pid, returncode)` is called once when it ends."""
    env = dict(os.environ)
    env[ENV_NAME] = spec.name
    env[ENV_INSTANCE] = instance
    env[ENV_CONTROL] = control_url
    env[ENV_PARENT] = str(os.getpid())
    fds: tuple[int, ...] = ()
    if spec.role == "frontend":
        env[ENV_LISTEN_FDS] = ",".join(str(fd) for fd in listen_fds)
        fds = tuple(listen_fds)
    else:
        env.pop(ENV_LISTEN_FDS, None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", spec.module,
        env=env, stdin=asyncio.subprocess.DEVNULL, pass_fds=fds, close_fds=True, start_new_session=True,
    )
    pid = proc.pid

    async def reap() -> None:
        code = await proc.wait()
        on_exit(instance, pid, code)

    asyncio.get_running_loop().create_task(reap(), name=f"reap-{instance}")
    return proc
