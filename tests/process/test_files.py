"""Files a gateway makes and trusts, with a real gateway: the state dir is 0700, the shared log
folder is ours and 0700 and the log file is never followed through a symlink, and weak secrets
are warned about (short) or refused (blank, placeholder)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..harness import Gateway, Home, wait_for


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_missing_state_dir_is_made_0700(home: Home, make_gateway: Any, tmp_path: Path) -> None:
    cfg = tmp_path / "elsewhere.json"
    cfg.write_text('{"gateway": {"mode": "local", "auth": {"mode": "token", "token": "%s"}}, "logging": {"file": "%s"}}'
                   % ("t" * 32, home.log_file))
    assert not home.state_dir.exists()
    make_gateway(env=home.env(OPENCLAW_CONFIG_PATH=str(cfg)), h=_no_config(home))
    assert mode(home.state_dir) == 0o700


def _no_config(home: Home) -> Home:
    """make_gateway writes a config when the home has none: give it one it will not use."""
    home.config_path = home.root / "unused.json"
    home.config_path.write_text("{}")
    return home


def test_a_looser_state_dir_of_ours_is_tightened(home: Home, make_gateway: Any) -> None:
    home.write_config(home.default_config())
    os.chmod(home.state_dir, 0o755)
    gw = make_gateway()
    assert mode(home.state_dir) == 0o700
    assert "Tightened the state dir" in gw.output()


def test_log_file_that_is_a_symlink_is_not_followed(home: Home, make_gateway: Any, tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    home.log_file.parent.mkdir(parents=True, exist_ok=True)
    home.log_file.symlink_to(target)
    gw = make_gateway()
    assert "is a symlink" in gw.output()
    assert target.read_text() == "keep me\n"
    assert gw.http_status("/healthz") == 200  # still serving, logging warnings to stderr


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR short enough for the ipc:// socket paths made under it (sun_path is 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="oc-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _default_log_home(home: Home, tmpdir: Path) -> tuple[dict[str, str], Path]:
    """A config without logging.file, and TMPDIR so the shared default folder is ours to inspect."""
    cfg = home.default_config()
    del cfg["logging"]
    home.write_config(cfg)
    return home.env(TMPDIR=str(tmpdir)), tmpdir / "openclaw"


def test_default_log_folder_is_made_0700(home: Home, make_gateway: Any, short_tmp: Path) -> None:
    env, folder = _default_log_home(home, short_tmp)
    make_gateway(env=env)
    assert mode(folder) == 0o700
    assert any(p.name.startswith("openclaw-") for p in folder.iterdir())


def test_default_log_folder_of_another_user_is_refused(home: Home, make_gateway: Any, short_tmp: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to make a folder owned by another user")
    env, folder = _default_log_home(home, short_tmp)
    folder.mkdir(mode=0o777)
    os.chown(folder, 65534, 65534)
    gw = make_gateway(env=env)
    assert "belongs to another user" in gw.output()
    assert list(folder.iterdir()) == []
    assert gw.http_status("/healthz") == 200


def test_short_token_is_warned_about(home: Home, make_gateway: Any) -> None:
    home.write_config(home.default_config(auth={"mode": "token", "token": "short-token-1234"}))
    gw = make_gateway()
    line = "the gateway token (config gateway.auth.token) is 16 characters; use at least 24"
    assert line in gw.output()
    wait_for(lambda: any(line in m for m in home.log_messages()), 5, what="the warning in the log")


@pytest.mark.parametrize("token", ["", "   ", "undefined", "null", "changeme", "<token>"])
def test_blank_or_placeholder_token_is_refused_78(home: Home, token: str) -> None:
    home.write_config(home.default_config(auth={"mode": "token", "token": token}))
    gw = Gateway(home, ["--port", "0"])
    try:
        gw.start()
        assert gw.wait_exit(20) == 78
        assert "placeholder" in gw.output()
    finally:
        gw.stop()
