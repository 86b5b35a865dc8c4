"""systemd's notify protocol, spoken to a fake NOTIFY_SOCKET (a unix datagram socket we bind):
READY once serving, RELOADING...READY around a reload, STOPPING on stop, WATCHDOG only while the
front-end heartbeats."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from ..harness import Home, wait_for


class FakeSystemd(threading.Thread):
    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def having(self, key: str) -> list[tuple[float, dict[str, str]]]:
        return [m for m in self.messages if key in m[1]]

    def close(self) -> None:
        self.stop.set()
        self.join(2)
        self.sock.close()


@pytest.fixture
def systemd(home: Home):
    fake = FakeSystemd(str(home.root / "notify.sock"))
    fake.start()
    yield fake
    fake.close()


def test_ready_reloading_stopping(make_gateway, home: Home, systemd: FakeSystemd) -> None:
    gw = make_gateway(env=home.env(NOTIFY_SOCKET=str(home.root / "notify.sock")))
    ready = wait_for(lambda: systemd.having("READY"), 5, what="READY=1")
    assert ready[0][1]["MAINPID"] == str(gw.pid) and ready[0][1]["STATUS"].startswith("running: port")
    cfg = home.default_config()
    cfg["models"] = {"mode": "merge"}  # a worker replacement (models.* is a closed section: no unknown keys)
    home.write_config(cfg)
    wait_for(lambda: systemd.having("RELOADING"), 10, what="RELOADING=1")
    t_reload = systemd.having("RELOADING")[0][0]
    wait_for(lambda: [m for m in systemd.having("READY") if m[0] > t_reload], 10, what="READY=1 after the reload")
    assert "MONOTONIC_USEC" in systemd.having("RELOADING")[0][1]
    gw.signal(signal.SIGTERM)
    assert gw.wait_exit(10) == 0
    assert systemd.having("STOPPING")
    # children never see NOTIFY_SOCKET: only the main process talks to systemd
    assert not any(m for m in systemd.messages if m[1].get("MAINPID") not in (None, str(gw.pid)))


def test_watchdog_pings_only_while_the_front_end_heartbeats(make_gateway, home: Home, systemd: FakeSystemd) -> None:
    gw = make_gateway(env=home.env(NOTIFY_SOCKET=str(home.root / "notify.sock"), WATCHDOG_USEC="400000"))
    wait_for(lambda: len(systemd.having("WATCHDOG")) >= 3, 5, what="watchdog pings")  # every 200 ms
    frontend = gw.children_by_title()["frontend"]
    os.kill(frontend, signal.SIGSTOP)  # a wedged front-end
    stopped_at = time.monotonic()
    # the supervisor notices (no heartbeat for 0.8 s), kills it and starts another
    wait_for(lambda: gw.children_by_title().get("frontend") not in (None, frontend), 10, what="front-end replaced")
    gw.wait_ready()
    back_at = time.monotonic()
    wait_for(lambda: [m for m in systemd.having("WATCHDOG") if m[0] > back_at], 5, what="pings resumed")
    wedged = [m for m in systemd.having("WATCHDOG") if stopped_at + 0.9 < m[0] < back_at - 0.3]
    assert back_at - stopped_at > 1.2  # a real gap was observed
    assert wedged == [], "WATCHDOG=1 sent while the front-end was wedged"
