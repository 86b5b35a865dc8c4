"""The only module that starts processes: exec `python -m <module>`, new session, passed fds."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from .child import Child

CHILD_ENV_NAME = "OPENCLAW_CHILD_NAME"
CHILD_ENV_CONTROL = "OPENCLAW_CONTROL_URL"
CHILD_ENV_PARENT = "OPENCLAW_SUPERVISOR_PID"
CHILD_ENV_FDS = "OPENCLAW_LISTEN_FDS"


async def spawn(
    child: Child,
    control_url: str,
    listen_fds: list[int],
    on_exit: Callable[[str, int, int], None],
) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    env[CHILD_ENV_NAME] = child.name
    env[CHILD_ENV_CONTROL] = control_url
    env[CHILD_ENV_PARENT] = str(os.getpid())
    fds: tuple[int, ...] = ()
    if child.role == "frontend":
        env[CHILD_ENV_FDS] = ",".join(str(fd) for fd in listen_fds)
        fds = tuple(listen_fds)
    else:
        env.pop(CHILD_ENV_FDS, None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        child.module,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        pass_fds=fds,
        start_new_session=True,
    )
    name, pid = child.name, proc.pid

    async def reap() -> None:
        code = await proc.wait()
        on_exit(name, pid, code)

    asyncio.get_running_loop().create_task(reap(), name=f"reap-{name}-{pid}")
    return proc
