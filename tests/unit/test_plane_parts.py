"""Pure parts of the internal plane: who may send what, the runtime dir's privacy, process checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from openclaw.ipc import control
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.paths import prepare_runtime_dir
from openclaw.ipc.proc_identity import is_child_of, parent_of
from openclaw.supervisor.control_auth import refusal


def roles(instance: str) -> str | None:
    return {"frontend.1": "frontend", "agent.1": "worker"}.get(instance)


@pytest.mark.parametrize(
    ("sender", "msg", "refused"),
    [
        (b"agent.1", control.ChildHeartbeat("agent.1"), False),
        (b"agent.1", control.ChildHeartbeat("node.1"), True),
        (b"x.1", control.ChildBootFailed(instance="agent.1", reason="r"), True),
        (b"\xff\xfe", control.ChildReady("agent.1"), True),
        (b"frontend.1", control.StatusQuery(1), False),
        (b"agent.1", control.StatusQuery(1), True),
        (b"agent.1", control.RestartRequest(query_id=1, reason="r"), True),
        (b"x.1", control.ConfigWrite(query_id=1, mode="apply", raw="{}"), True),
        (b"frontend.1", control.ConfigQuery(1), False),
    ],
)
def test_control_senders(sender: bytes, msg: control.ChildToSupervisor, refused: bool) -> None:
    assert (refusal(sender, msg, roles) is not None) is refused


def test_runtime_dir_is_made_private(tmp_path: Path) -> None:
    run = tmp_path / "state" / "run"
    prepare_runtime_dir(run)
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    run.chmod(0o755)
    prepare_runtime_dir(run)  # taken back
    assert stat.S_IMODE(run.stat().st_mode) == 0o700


def test_runtime_dir_in_place_of_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "run").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigRefusal, match="not a directory"):
        prepare_runtime_dir(tmp_path / "run")


def test_runtime_dir_under_a_folder_anyone_may_rename_in_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ConfigRefusal, match="writable by every user"):
        prepare_runtime_dir(shared / "run")
    shared.chmod(0o1777)  # sticky, like /tmp: only the owner renames its entries
    prepare_runtime_dir(shared / "run")


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_runtime_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    os.chown(run, 12345, 12345)
    with pytest.raises(ConfigRefusal, match="belongs to uid 12345"):
        prepare_runtime_dir(run)
    os.chown(tmp_path, 12345, 12345)
    with pytest.raises(ConfigRefusal, match="its parent belongs to uid 12345"):
        prepare_runtime_dir(tmp_path / "other")


def test_process_parentage_comes_from_the_kernel() -> None:
    assert parent_of(os.getpid()) == os.getppid()
    assert is_child_of(os.getpid(), os.getppid()) and not is_child_of(os.getpid(), os.getpid())
    assert parent_of(0) is None and parent_of(2**22 + 1) is None
