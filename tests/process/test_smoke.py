from __future__ import annotations

from ..wsclient import open_client


def test_health_over_ws(gateway):
    c = open_client(gateway.url)
    res = c.call("health")
    assert res["ok"] and res["payload"]["ok"] is True
    c.close()


def test_a_normal_start_does_not_wait_out_the_worker_timeout(gateway):
    assert "not every running worker registered in time; serving anyway" not in gateway.home.log_messages()
