"""Two gateways on one host (field reports R14): main (the default profile) and rescue, each set up,
installed and started through the no-manager path; every verb reaches its own gateway, and restarting
rescue leaves every process of main untouched."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from ..harness import Home, free_port
from .service_kit import ServiceKit, tree_pids, wait_gone


@pytest.fixture
def kits(tmp_path: Path):
    home = Home(tmp_path)
    main = ServiceKit(home, tmp_path / "bin")
    rescue = ServiceKit(home, tmp_path / "bin", profile="rescue")
    try:
        yield main, rescue
    finally:
        main.kill_all()
        rescue.kill_all()


def test_main_and_rescue_run_side_by_side_and_a_rescue_restart_leaves_main_alone(kits, tmp_path: Path) -> None:
    main, rescue = kits
    pids = {}
    for kit, name in ((main, "main"), (rescue, "rescue")):
        kit.ok("setup", "--port", str(free_port()))
        kit.ok("config", "set", "logging.file", str(tmp_path / f"{name}.log"))
        installed = kit.ok("gateway", "install", "--json")
        assert installed["service"]["label"] == ("openclaw-gateway.service" if name == "main" else "openclaw-gateway-rescue.service")
        pids[name] = kit.ok("gateway", "start", "--json")["pid"]
    assert pids["main"] != pids["rescue"]
    assert rescue.state_dir == main.home.home / ".openclaw-rescue"

    for kit, name in ((main, "main"), (rescue, "rescue")):
        status = kit.ok("gateway", "call", "status", "--json")
        assert status["pid"] == pids[name]
        assert status["supervision"]["listen"]["port"] == kit.instance()["port"]

    assert rescue.ok("service", "status", "--json")["rpc"]["ok"] is True  # the seed's alias of `gateway status`
    for kit, other in ((main, "profile:rescue"), (rescue, "profile:default")):  # each probe sees both, and warns
        probe = kit.ok("gateway", "probe", "--json")
        targets = {t["id"]: t for t in probe["targets"]}
        assert targets["localLoopback"]["connect"]["rpcOk"] and targets[other]["connect"]["rpcOk"], probe
        assert "multiple_gateways" in {w["code"] for w in probe["warnings"]}, probe

    main_tree = tree_pids(pids["main"])
    assert len(main_tree) == 5  # supervisor, front-end, agent and node workers, canvas host (a service runs it)
    main_generation = main.ok("gateway", "call", "status", "--json")["supervision"]["generation"]

    restarted = rescue.ok("gateway", "restart", "--json")
    assert restarted["pid"] == pids["rescue"] and restarted["ready"]["generation"] == restarted["before"]["generation"] + 1

    assert tree_pids(pids["main"]) == main_tree  # not one of main's processes changed
    assert all(psutil.Process(p).is_running() for p in main_tree)
    assert main.ok("gateway", "call", "status", "--json")["supervision"]["generation"] == main_generation

    stopped = rescue.ok("gateway", "stop", "--json")
    assert stopped["pid"] == pids["rescue"]
    assert tree_pids(pids["main"]) == main_tree  # stopping rescue does not touch main either
    main.ok("gateway", "stop")
    wait_gone(main_tree, 10)
    for kit in (main, rescue):
        kit.ok("gateway", "uninstall")
    assert not list((main.home.home / ".config/systemd/user").iterdir())
