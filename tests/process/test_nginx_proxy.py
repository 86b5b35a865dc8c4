"""The seed's nginx reverse-proxy recipe (seed 004) in front of a real gateway, on loopback only.

The client connects to nginx from 127.0.0.5, nginx (127.0.0.1) proxies to the gateway and overwrites
X-Forwarded-For with $remote_addr. `gateway.trustedProxies` decides whether that header counts:
listed → the client is 127.0.0.5 (forwarded); not listed → PROXY_ATTRIBUTION_REQUIRED.
nginx comes from tests/nginx.py (ops/nginx-cache.sh's unpacked Debian package, else /usr/sbin/nginx;
skipped, with the reason, when neither can be had).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from tests.harness import Home, free_port, port_open, running_gateway, wait_for
from tests.nginx import nginx_command
from tests.wsclient import Client, connect_params

CLIENT_IP = "127.0.0.5"

CONF = """
worker_processes 1;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def _start_nginx(root: Path, upstream: int, nginx: tuple[Path, dict[str, str]]) -> tuple[subprocess.Popen[bytes], int]:
    root.mkdir(parents=True, exist_ok=True)
    listen = free_port()
    conf = root / "nginx.conf"
    conf.write_text(CONF.format(root=root, listen=listen, upstream=upstream))
    binary, env = nginx
    proc = subprocess.Popen(
        [str(binary), "-p", str(root), "-c", str(conf), "-e", str(root / "error.log"), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        wait_for(lambda: proc.poll() is None and port_open(listen), 10, what="nginx listening")
    except TimeoutError:
        proc.kill()
        proc.wait(5)
        raise RuntimeError(f"nginx did not start: {(root / 'error.log').read_text(errors='replace')}") from None
    return proc, listen


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # master stops its worker, then exits
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _client_via(listen: int, headers: dict[str, str] | None = None) -> Client:
    sock = socket.create_connection(("127.0.0.1", listen), timeout=5, source_address=(CLIENT_IP, 0))
    return Client(f"ws://127.0.0.1:{listen}/", headers=headers, sock=sock)


def test_ws_and_http_through_nginx_and_trusted_proxies(tmp_path: Path) -> None:
    nginx_cmd = nginx_command()  # before any gateway: skips when there is no nginx
    home = Home(tmp_path)

    def config(**gateway: object) -> dict:
        cfg = home.default_config(**gateway)
        cfg["logging"]["level"] = "debug"  # "connect accepted" (peer, forwarded) is a debug line
        return cfg

    home.write_config(config(trustedProxies=["127.0.0.1/32"]))
    with running_gateway(home) as gw:
        nginx, listen = _start_nginx(tmp_path / "nginx", gw.port, nginx_cmd)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{listen}/healthz", timeout=5) as r:
                assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"

            # a spoofed X-Forwarded-For is overwritten by the recipe: the gateway sees the real client
            c = _client_via(listen, headers={"X-Forwarded-For": "203.0.113.9"})
            try:
                res = c.call("connect", connect_params(scopes=[]))
                assert res["ok"] is True, res
                assert c.call("health")["ok"] is True
            finally:
                c.close()
            accepted = wait_for(
                lambda: [r["fields"] for r in home.log_records() if r.get("message") == "connect accepted"
                         and r.get("fields", {}).get("forwarded") is True], 5, what="connect accepted (forwarded) logged",
            )
            assert accepted[-1]["peer"] == CLIENT_IP, accepted[-1]

            # nginx is not a trusted proxy any more (a hot key): its forwarded header is refused
            home.write_config(config())
            gw.wait_applied()
            c = _client_via(listen)
            try:
                res = c.call("connect", connect_params(scopes=[]))
                assert res["ok"] is False and res["error"]["details"]["code"] == "PROXY_ATTRIBUTION_REQUIRED", res
            finally:
                c.close()
        finally:
            _stop(nginx)
