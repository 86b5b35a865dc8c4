"""The models config through the real CLI and gateway: `config validate` names a bad provider with
upstream's message, and a gateway refuses to start on it (exit 78) instead of failing later."""

from __future__ import annotations

import json

from tests.harness import Home


def test_config_validate_names_bad_provider_and_gateway_refuses(home: Home) -> None:
    cfg = home.default_config()
    cfg["models"] = {"providers": {"fake": {"apiKey": "k", "models": [{"id": "m"}]}}}
    home.write_config(cfg)
    r = home.cli("config", "validate", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["valid"] is False
    paths = {i["path"]: i["message"] for i in out["issues"]}
    assert paths["models.providers.fake.baseUrl"].startswith("custom model providers must declare baseUrl")
    assert paths["models.providers.fake.models.0.name"] == "Invalid input: expected string, received undefined"
    r = home.cli("gateway", "run", "--port", "0", timeout=30)
    assert r.returncode == 78, (r.returncode, r.stderr[-500:])
    assert "models.providers.fake" in r.stderr

    cfg["models"]["providers"]["fake"] = {"baseUrl": "http://127.0.0.1:9/v1", "apiKey": "k",
                                          "models": [{"id": "m", "name": "M"}]}
    cfg["agents"] = {"defaults": {"model": {"primary": "fake/m", "fallbacks": ["openclaw-local/echo"]}}}
    home.write_config(cfg)
    assert home.cli("config", "validate").returncode == 0
