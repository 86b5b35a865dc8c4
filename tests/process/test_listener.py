"""The public port: held by the front-end alone (the supervisor parks its copy out of sight),
never by a worker; `--force` stops a gateway of ours through its supervisor, cleanly."""

from __future__ import annotations

import psutil

from ..harness import Gateway, Home, free_port, wait_for


def listeners(port: int) -> set[int]:
    return {c.pid for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def test_only_the_front_end_holds_the_port(gateway: Gateway) -> None:
    kids = gateway.children_by_title()
    assert listeners(gateway.port) == {kids["frontend"]}
    for name, pid in kids.items():  # and no worker even has the socket open
        if name != "frontend":
            fds = psutil.Process(pid).net_connections(kind="tcp")
            assert not [c for c in fds if c.status == psutil.CONN_LISTEN], name


def test_force_stops_our_running_gateway_cleanly(make_gateway, home: Home, tmp_path) -> None:
    port = free_port()
    first = make_gateway(args=["--port", str(port)])
    first_kids = [k.pid for k in first.track()]
    other = Home(tmp_path / "second")
    second = make_gateway(args=["--port", str(port), "--force"], h=other)
    assert first.wait_exit(15) == 0  # its supervisor was asked to stop, not a worker killed
    wait_for(lambda: not [p for p in first_kids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE],
             5, what="the first gateway's children gone")
    assert listeners(port) == {second.children_by_title()["frontend"]}
    assert "--force: stopping listener on port" in "\n".join(other.log_messages())
