"""Pure parts of the internal plane: who may send what, the runtime dir's privacy, process checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from openclaw.ipc import control
from openclaw.frontend.methods.restart import parse as restart_params
from openclaw.ipc.errors import ConfigRefusal, ErrorCode, GatewayError
from openclaw.ipc.paths import prepare_runtime_dir
from openclaw.ipc.proc_identity import is_child_of, parent_of
from openclaw.supervisor.control_auth import refusal
from openclaw.supervisor.restart_gate import TABLE, Outcome, Phase, RestartGate


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


# --------------------------------------------------------------------------- restart requests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_restart_gate_coalesces_a_storm_into_one_restart_per_cooldown() -> None:
    clock = Clock()
    gate = RestartGate(clock, cooldown_s=30.0)
    d = gate.decide(Phase.SERVING, 0)
    assert (d.outcome, d.generation, d.cooldown_ms, d.coalesced) == (Outcome.RESTART, 1, 0, False)
    gate.started()  # the loop begins generation 1
    d = gate.decide(Phase.RESTARTING, 1)
    assert (d.outcome, d.generation, d.cooldown_ms, d.coalesced) == (Outcome.JOIN_PENDING, 1, 30_000, True)
    clock.now += 12.5  # generation 1 serves by now
    d = gate.decide(Phase.SERVING, 1)
    assert (d.outcome, d.generation, d.cooldown_ms) == (Outcome.JOIN_RECENT, 1, 17_500)
    clock.now += 17.5
    assert gate.decide(Phase.SERVING, 1).outcome is Outcome.RESTART
    assert gate.decide(Phase.STOPPING, 1).outcome is Outcome.REFUSE


def test_restart_gate_table_covers_every_phase() -> None:
    assert set(TABLE) == {(p, c) for p in Phase for c in (False, True)}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (b"[]", "must be object"),
        (b'"now"', "must be object"),
        (b'{"reason": 5}', "at /reason: Expected `str | null`, got `int`"),
        (b'{"skipDeferral": "yes"}', "at /skipDeferral: Expected `bool | null`, got `str`"),
        (b'{"safe": 1}', "at /safe: Expected `bool | null`, got `int`"),
        (b'{"target": 7}', "at /target: Expected `object | null`, got `int`"),
        (b'{"target": {"pid": 1, "port": 80}}', "at /target: must have required property `ownerId`"),
        (b'{"target": {"pid": -1, "ownerId": "o", "port": 80}}', "at /target/pid: Expected `int` >= 1"),
        (b'{"target": {"pid": 1, "ownerId": "o", "port": 70000}}', "at /target/port: Expected `int` <= 65535"),
        (b'{"target": {"pid": 1, "ownerId": "  ", "port": 80}}', "at /target/ownerId: must not be blank"),
        (b'{"restartIntent": {"waitMs": -1}}', "at /restartIntent/waitMs: Expected `int` >= 0"),
        (b'{"restartIntent": {"force": true, "waitMs": 5}}', "waitMs cannot be combined with force"),
        (b'{"restartIntent": {"drainBudgetMs": 5}}', "drainBudgetMs needs force: true"),
        (b'{"safe": true, "restartIntent": {}}', "a safe restart does not accept restartIntent"),
        (b'{"reason": ', "invalid gateway.restart.request params: "),
    ],
)
def test_restart_params_are_checked(params: bytes, message: str) -> None:
    with pytest.raises(GatewayError) as err:
        restart_params(params)
    assert err.value.code is ErrorCode.INVALID_REQUEST
    assert err.value.message.startswith("invalid gateway.restart.request params") and message in err.value.message


def test_restart_params_are_loose() -> None:
    p = restart_params(b'{"reason": "upgrade", "unknown": {"x": 1}, "target": {"pid": 9, "ownerId": "o", "port": 1, "z": 0}}')
    assert p.reason == "upgrade" and p.target is not None and p.target.pid == 9
    assert restart_params(b"") == restart_params(b"null") == restart_params(b"{}")
