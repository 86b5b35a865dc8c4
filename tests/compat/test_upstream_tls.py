"""The upstream CLI (unchanged) against our gateway with `gateway.tls` on (issue 10 §4).

Upstream's trust rules (dist/client-bootstrap, websocket-transport): for this machine's gateway
(gateway.tls.enabled, the port from the config) it pins the SHA-256 of the certificate file itself;
with `gateway.mode: remote` it pins `gateway.remote.tlsFingerprint` and refuses any other certificate
("gateway tls fingerprint mismatch"); a `--url wss://…` without a pin verifies against Node's CA store
(NODE_EXTRA_CA_CERTS).
"""

from __future__ import annotations

import pytest

from openclaw.ipc.tls_material import certificate_fingerprint, colon_fingerprint

from ..harness import TOKEN, Gateway, Home, free_port

pytestmark = pytest.mark.timeout(240, func_only=True)


@pytest.fixture
def tls_gateway(home: Home, make_gateway) -> Gateway:
    port = free_port()
    return make_gateway(args=[], config=home.default_config(port=port, tls={"enabled": True}))


def cert_of(home: Home) -> str:
    return str(home.state_dir / "gateway" / "tls" / "gateway-cert.pem")


def test_upstream_local_gateway_over_wss(cli, home: Home, tls_gateway: Gateway) -> None:
    res = cli("gateway", "health")
    assert res.returncode == 0 and "OK" in res.stdout, res.describe()
    res = cli("gateway", "status", "--json", "--require-rpc")
    payload = res.json()
    assert res.returncode == 0 and payload["rpc"]["ok"] is True, res.describe()
    assert payload["rpc"]["url"] == f"wss://127.0.0.1:{tls_gateway.port}", res.describe()


def test_upstream_remote_pin(cli, upstream_cli, home: Home, tls_gateway: Gateway, tmp_path) -> None:
    fp = certificate_fingerprint(open(cert_of(home), "rb").read())
    client = Home(tmp_path / "client")
    remote = {"url": tls_gateway.url, "token": TOKEN}
    client.write_config({"gateway": {"mode": "remote", "remote": {**remote, "tlsFingerprint": colon_fingerprint(fp)}}})
    ok = upstream_cli.run(client, "gateway", "call", "health", "--json")
    assert ok.returncode == 0 and ok.json().get("ok") is True, ok.describe()

    client.write_config({"gateway": {"mode": "remote", "remote": {**remote, "tlsFingerprint": "ab" * 32}}})
    wrong = upstream_cli.run(client, "gateway", "health")
    assert wrong.returncode != 0 and "gateway tls fingerprint mismatch" in wrong.stderr, wrong.describe()

    # --url with no pin: Node's CA store decides; the generated certificate names 127.0.0.1
    url_args = ("gateway", "health", "--url", tls_gateway.url, "--token", TOKEN)
    untrusted = upstream_cli.run(client, *url_args)
    assert untrusted.returncode != 0 and "self-signed certificate" in untrusted.stderr, untrusted.describe()
    trusted = upstream_cli.run(client, *url_args, env={"NODE_EXTRA_CA_CERTS": cert_of(home)})
    assert trusted.returncode == 0 and "OK" in trusted.stdout, trusted.describe()
