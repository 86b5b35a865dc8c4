from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Gateway, Home


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


@pytest.fixture
def make_gateway(home: Home) -> Iterator:
    started: list[Gateway] = []

    def make(args: list[str] | None = None, config: dict | None = None, env: dict | None = None,
             ready: bool = True, h: Home | None = None) -> Gateway:
        hh = h or home
        if config is not None or not hh.config_path.exists():
            hh.write_config(config if config is not None else hh.default_config())
        gw = Gateway(hh, args if args is not None else ["--port", "0"], env=env or hh.env())
        started.append(gw)
        gw.start()
        if ready:
            gw.wait_ready()
        return gw

    yield make
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(make_gateway) -> Gateway:
    return make_gateway()
