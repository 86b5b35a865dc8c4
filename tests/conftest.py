from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Gateway, Home


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test's report carries the last lines of every gateway it started (its own log)."""
    report = yield
    if report.failed and call.when == "call":
        for i, gw in enumerate(getattr(item, "_openclaw_gateways", [])):
            try:
                tail = gw.output()[-6000:]
            except OSError:
                continue
            report.sections.append((f"gateway {i} output (tail)", tail))
    return report


@pytest.fixture
def make_gateway(home: Home, request: pytest.FixtureRequest) -> Iterator:
    started: list[Gateway] = []
    request.node._openclaw_gateways = started

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
