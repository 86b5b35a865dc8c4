"""Profiles as an operator uses them: an explicit profile is honoured, and an environment that points
it at another profile's files is an error (CLI exit 2, gateway exit 78), never a silent override."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import msgspec

from openclaw.ipc.instance_registry import InstanceRecord

from ..harness import OPENCLAW, Home, free_port

VERBS = (
    ["health"], ["status"], ["logs"], ["doctor"], ["config", "file"], ["config", "get", "gateway"],
    ["gateway", "health"], ["gateway", "status"], ["gateway", "call", "health"],
)


def _main_profile(tmp_path: Path) -> tuple[Home, Home]:
    main = Home(tmp_path, profile="main")
    main.write_config(main.default_config())
    return main, Home(tmp_path, profile="rescue")


def test_every_verb_refuses_a_profile_pointed_at_another_profiles_state_dir(tmp_path: Path) -> None:
    main, rescue = _main_profile(tmp_path)
    env = rescue.env(OPENCLAW_STATE_DIR=str(main.state_dir))
    procs = [  # all at once: each is refused before it does anything
        (verb, subprocess.Popen([OPENCLAW, "--profile", "rescue", *verb], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL))
        for verb in VERBS
    ]
    for verb, proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (verb, out, err)
        assert f'profile "rescue" (--profile rescue) conflicts with OPENCLAW_STATE_DIR={main.state_dir}' in err
        assert 'the state dir of profile "main"' in err and "`openclaw --profile main ...`" in err
        assert "Traceback" not in err
    assert not rescue.state_dir.exists()  # nothing was created for the refused profile


def test_config_path_of_another_profile_and_env_profile_are_refused_too(tmp_path: Path) -> None:
    main, rescue = _main_profile(tmp_path)
    r = rescue.cli("--dev", "config", "file", env=rescue.env(OPENCLAW_CONFIG_PATH=str(main.config_path)))
    assert r.returncode == 2
    assert f'profile "dev" (--dev) conflicts with OPENCLAW_CONFIG_PATH={main.config_path}, the config of profile "main"' in r.stderr
    r = rescue.cli("gateway", "health", env=rescue.env(OPENCLAW_PROFILE="rescue", OPENCLAW_STATE_DIR=str(main.state_dir)))
    assert r.returncode == 2 and "(OPENCLAW_PROFILE=rescue)" in r.stderr
    default = Home(tmp_path)
    r = rescue.cli("--profile", "rescue", "status", env=rescue.env(OPENCLAW_STATE_DIR=str(default.state_dir)))
    assert r.returncode == 2 and 'the state dir of profile "default"' in r.stderr and "run `openclaw ...`" in r.stderr


def test_a_neutral_state_dir_is_allowed_unless_another_profile_recorded_it(tmp_path: Path) -> None:
    _, rescue = _main_profile(tmp_path)
    custom = tmp_path / "srv" / "gw"
    r = rescue.cli("--profile", "rescue", "config", "file", env=rescue.env(OPENCLAW_STATE_DIR=str(custom)))
    assert r.returncode == 0 and str(custom / "openclaw.json") in r.stdout
    # no profile given: OPENCLAW_STATE_DIR alone decides, as the multi-instance seed does it
    main_dir = tmp_path / "home" / ".openclaw-main"
    r = rescue.cli("config", "file", env=rescue.env(OPENCLAW_STATE_DIR=str(main_dir)))
    assert r.returncode == 0 and str(main_dir) in r.stdout
    custom.mkdir(parents=True)
    rec = InstanceRecord(pid=4242, port=20001, bind_hosts=["127.0.0.1"], state_dir=str(custom),
                         config_path=str(custom / "openclaw.json"), profile="main", started_at_ms=1)
    (custom / "gateway.instance.json").write_bytes(msgspec.json.encode(rec))
    r = rescue.cli("--profile", "rescue", "config", "file", env=rescue.env(OPENCLAW_STATE_DIR=str(custom)))
    assert r.returncode == 2 and "holds the instance record of profile \"main\"'s gateway (pid 4242)" in r.stderr
    r = rescue.cli("--profile", "main", "config", "file", env=rescue.env(OPENCLAW_STATE_DIR=str(custom)))
    assert r.returncode == 0


def test_the_gateway_refuses_the_same_conflict_with_exit_78(tmp_path: Path) -> None:
    main, rescue = _main_profile(tmp_path)
    before = sorted(p.name for p in main.state_dir.iterdir())
    for argv, env in (
        (["--profile", "rescue", "gateway", "run", "--port", "0"], rescue.env(OPENCLAW_STATE_DIR=str(main.state_dir))),
        (["gateway", "--port", "0"], rescue.env(OPENCLAW_PROFILE="rescue", OPENCLAW_STATE_DIR=str(main.state_dir))),
        (["--dev", "gateway", "--port", "0"], rescue.env(OPENCLAW_CONFIG_PATH=str(main.config_path))),
    ):
        r = subprocess.run([OPENCLAW, *argv], env=env, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 78, (argv, r.stdout, r.stderr)
        assert r.stderr.startswith("openclaw gateway: profile ") and '"main"' in r.stderr and "Fix:" in r.stderr
    assert sorted(p.name for p in main.state_dir.iterdir()) == before  # main's state dir untouched


def test_doctor_of_a_profile_sees_another_profiles_gateway_on_its_port(make_gateway, tmp_path: Path) -> None:
    main, rescue = _main_profile(tmp_path)
    port = free_port()
    main.write_config(main.default_config(port=port))
    gw = make_gateway(args=[], h=main, env=main.env(OPENCLAW_PROFILE="main"))
    rescue.write_config(rescue.default_config(port=port))
    rescue.config_path.chmod(0o600)
    r = rescue.cli("--profile", "rescue", "doctor", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["profile"] == "rescue" and out["stateDir"] == str(rescue.state_dir)
    checks = {c["id"]: c for c in out["checks"]}
    assert checks["port"]["status"] == "fail"
    assert f"profile \"main\"'s gateway (pid {gw.pid})" in checks["port"]["message"]
    assert "`openclaw --profile main gateway stop`" in checks["port"]["fix"]
    assert checks["neighbours.port"]["status"] == "fail" and f"{port} is used by profile \"main\"" in checks["neighbours.port"]["message"]
    r = main.cli("--profile", "main", "doctor", "--json")
    checks = {c["id"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["port"]["status"] == "ok" and f"pid {gw.pid}" in checks["port"]["message"]
    assert checks["neighbours.port"]["status"] == "warn" and 'profile "rescue" (not running)' in checks["neighbours.port"]["message"]


def test_an_unreachable_profile_names_the_gateways_that_do_run(make_gateway, tmp_path: Path) -> None:
    """`openclaw health` of a profile with no gateway says which other profile's gateway runs, and how to reach it."""
    main, rescue = _main_profile(tmp_path)
    gw = make_gateway(args=[], h=main, env=main.env(OPENCLAW_PROFILE="main"))
    rescue.write_config(rescue.default_config(port=free_port()))
    r = rescue.cli("--profile", "rescue", "health")
    assert r.returncode == 1 and "not reachable" in r.stderr, r.stderr
    assert f"profile main on port {gw.port} (pid {gw.pid}): openclaw --profile main ..." in r.stderr, r.stderr
