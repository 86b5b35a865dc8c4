from __future__ import annotations

from ..wsclient import open_client


def test_health_over_ws(gateway):
    c = open_client(gateway.url)
    res = c.call("health")
    assert res["ok"] and res["payload"]["ok"] is True
    c.close()
