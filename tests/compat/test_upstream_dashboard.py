"""The upstream CLI's `openclaw dashboard --no-open` against our gateway (issue 10 §2): it probes the
gateway like `gateway status`, HEADs the Control UI document (200 text/html), then prints the URL."""

from __future__ import annotations

import pytest

from ..harness import Gateway

pytestmark = pytest.mark.timeout(300, func_only=True)


def test_upstream_dashboard_no_open(cli, config_port_gateway: Gateway) -> None:
    res = cli("dashboard", "--no-open")
    assert res.returncode == 0, res.describe()
    assert f"Dashboard URL: http://127.0.0.1:{config_port_gateway.port}/" in res.stdout, res.describe()
    assert "dashboard is unavailable" not in res.stdout + res.stderr and "TypeError" not in res.stderr, res.describe()
