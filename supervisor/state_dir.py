"""The state dir holds the config, the token and the ipc:// sockets: it is the owner's alone.

Made 0700 when missing. An existing one of ours that group or others can enter is tightened to
0700, and we say so; one we may not change (another user's, or a shared folder such as /tmp or
the home folder itself) is left as it is, with a warning."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def secure_state_dir(state_dir: Path, home: Path, notices: list[str], warnings: list[str]) -> None:
    """Make or tighten `state_dir`, saying what was done (notices) or why not (warnings)."""
    if not state_dir.exists():
        state_dir.mkdir(mode=0o700, parents=True)
        os.chmod(state_dir, 0o700)  # whatever the umask
        return
    st = state_dir.stat()
    loose = stat.S_IMODE(st.st_mode) & 0o077
    if not loose:
        return
    mode = f"{stat.S_IMODE(st.st_mode):04o}"
    shared = st.st_uid != os.getuid() or st.st_mode & stat.S_ISVTX or state_dir.resolve() in (home.resolve(), Path("/"))
    if shared:
        warnings.append(f"Warning: the state dir {state_dir} is mode {mode} and not ours to tighten; other users may "
                        "read the gateway's config and token there. Use a private state dir (OPENCLAW_STATE_DIR).")
        return
    os.chmod(state_dir, 0o700)
    notices.append(f"Tightened the state dir {state_dir} from mode {mode} to 0700 (it holds the config and the token).")
