"""`openclaw dashboard`: the Control UI's address with the token in the URL fragment, checked against
the running gateway (the UI document must answer), and clear failures when it cannot."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.harness import TOKEN, Gateway, Home, free_port


def _config_port_gateway(home: Home, make_gateway, **ui: object) -> Gateway:
    port = free_port()
    cfg = home.default_config(port=port)
    if ui:
        cfg["gateway"]["controlUi"] = ui
    home.write_config(cfg)
    return make_gateway(args=[])


def test_dashboard_prints_the_url_with_the_token_and_the_page_answers(home: Home, make_gateway) -> None:
    gw = _config_port_gateway(home, make_gateway, basePath="/ops/ui/")
    res = home.cli("dashboard", "--no-open")
    assert res.returncode == 0, res.stdout + res.stderr
    base = f"http://127.0.0.1:{gw.port}/ops/ui/"
    assert f"Dashboard URL: {base}" in res.stdout
    assert f"{base}#token={urllib.parse.quote(TOKEN, safe='')}" in res.stdout
    assert "--no-open" in res.stdout
    out = json.loads(home.cli("dashboard", "--json").stdout)
    assert out["ok"] is True and out["httpUrl"] == base and out["wsUrl"] == f"ws://127.0.0.1:{gw.port}/ops/ui"
    assert out["url"].endswith("#token=" + urllib.parse.quote(TOKEN, safe="")) and out["tokenIncluded"] is True
    # without a display and without --no-open: nothing is launched, an SSH tunnel is suggested
    tunnel = home.cli("dashboard", env=home.env(DISPLAY="", WAYLAND_DISPLAY=""))
    assert tunnel.returncode == 0 and f"ssh -N -L {gw.port}:127.0.0.1:{gw.port}" in tunnel.stdout, tunnel.stdout


def test_dashboard_fails_clearly_when_the_ui_is_off_or_the_gateway_is_down(home: Home, make_gateway) -> None:
    gw = _config_port_gateway(home, make_gateway, enabled=False)
    off = home.cli("dashboard", "--no-open")
    assert off.returncode == 1 and "gateway.controlUi.enabled: false" in off.stderr, off.stderr
    as_json = home.cli("dashboard", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {"ok": False, "reason": "The Control UI is disabled (gateway.controlUi.enabled: false)."}
    gw.stop()
    cfg = json.loads(home.config_path.read_text())
    cfg["gateway"].pop("controlUi")
    home.write_config(cfg)
    down = home.cli("dashboard", "--no-open")
    assert down.returncode == 1 and "Gateway is not running." in down.stderr, down.stdout + down.stderr
    assert "Traceback" not in down.stderr and "gateway start" in down.stderr


@pytest.mark.parametrize("tls", [True, "on", ["enabled"]])
def test_dashboard_with_a_malformed_tls_section_is_a_clear_failure(home: Home, tls: object) -> None:
    """`gateway.tls` that is not an object (a hand edit): no traceback; TLS counts as off, as the
    gateway reads it, and the answer is the usual one for a gateway that is not there."""
    cfg = home.default_config(port=free_port(), tls=tls)
    home.write_config(cfg)
    res = home.cli("dashboard", "--no-open")
    assert res.returncode == 1 and "Traceback" not in res.stderr and "Gateway is not running." in res.stderr, res.stderr


def test_dashboard_in_password_mode_never_prints_a_leftover_token(home: Home, make_gateway) -> None:
    port = free_port()
    cfg = home.default_config(port=port)
    cfg["gateway"]["auth"] = {"mode": "password", "password": "a-long-enough-password-0123456789", "token": TOKEN}
    home.write_config(cfg)
    make_gateway(args=[])
    res = home.cli("dashboard", "--no-open")
    assert res.returncode == 0 and "#token=" not in res.stdout and TOKEN not in res.stdout, res.stdout
    assert "enter the token or password" in res.stdout
