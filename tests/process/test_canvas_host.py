"""The canvas host (workers/canvas/) against a real gateway: files under <state>/workspace/canvas at
/__openclaw__/canvas/ on port + 4 with content types, security headers, ranges and HEAD; no way
out of the root; off with OPENCLAW_SKIP_CANVAS_HOST or canvasHost.enabled=false; a SIGKILLed
canvas process comes back while the gateway serves on, /readyz never failing for it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import psutil

from ..harness import Home, free_port, port_open, wait_for
from ..wsclient import open_client

PREFIX = "/__openclaw__/canvas/"
SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def canvas_env(home: Home, **extra: str) -> dict[str, str]:
    return home.env(OPENCLAW_SKIP_CANVAS_HOST="0", **extra)


def get(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None,
        host: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    """One request with the path sent as is (http.client does not normalise `..`)."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def canvas_info(gw) -> dict[str, Any]:
    """health.canvasHost once the canvas process has reported where it listens."""
    def look() -> dict[str, Any] | None:
        c = open_client(gw.url)
        try:
            info = c.call("health")["payload"].get("canvasHost")
        finally:
            c.close()
        return info if info and info.get("port") else None
    return wait_for(look, 15, interval=0.1, what="health.canvasHost")


def port_pair() -> int:
    """A gateway port P with P + 4 free too (the default canvas port)."""
    for _ in range(50):
        p = free_port()
        if p + 4 <= 65535 and not port_open(p + 4):
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p + 4))
                with socket.socket(socket.AF_INET6) as s6:
                    s6.bind(("::1", p + 4))
            except OSError:
                continue
            return p
    raise RuntimeError("no free port pair")


def fill_root(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "index.html": b"<!doctype html><title>canvas</title>",
        "app.js": b"console.log(1)",
        "style.css": b"body{}",
        "data.json": b'{"a":1}',
        "pic.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "font.woff2": b"wOF2....",
        "blob": os.urandom(3000),
        "docs/a/index.html": b"<p>nested</p>",
    }
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    (root / "empty").mkdir(exist_ok=True)
    (root / ".hidden").write_text("no")
    (root / "inside-link.js").symlink_to(root / "app.js")
    return files


def test_files_types_headers_ranges_head_on_port_plus_4(make_gateway, home: Home) -> None:
    port = port_pair()
    root = home.state_dir / "workspace" / "canvas"
    files = fill_root(root)
    gw = make_gateway(args=["--port", str(port)], env=canvas_env(home))
    info = canvas_info(gw)
    cport = port + 4
    assert info["port"] == cport and info["root"] == str(root)
    assert info["url"] == f"http://127.0.0.1:{cport}{PREFIX}"
    c = open_client(gw.url)
    try:
        assert c.call("status")["payload"]["supervision"]["canvasHost"]["port"] == cport
    finally:
        c.close()

    types = {
        "index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
        "style.css": "text/css; charset=utf-8", "data.json": "application/json; charset=utf-8",
        "pic.png": "image/png", "font.woff2": "font/woff2", "blob": "application/octet-stream",
        "inside-link.js": "text/javascript; charset=utf-8",
    }
    for name, ctype in types.items():
        status, h, body = get(cport, PREFIX + name)
        assert (status, h["content-type"]) == (200, ctype), name
        target = "app.js" if name == "inside-link.js" else name
        assert body == files[target] and h["content-length"] == str(len(body))
        assert h["accept-ranges"] == "bytes" and h["cache-control"] == "no-cache" and h["etag"]
        assert all(h[k] == v for k, v in SECURITY.items()) and "permissions-policy" in h
    # a directory: its index.html; without the slash, a redirect to it; the mount point too
    assert get(cport, PREFIX)[2] == files["index.html"]
    assert get(cport, PREFIX + "docs/a/")[2] == files["docs/a/index.html"]
    status, h, _ = get(cport, PREFIX + "docs/a?x=1")
    assert status == 301 and h["location"] == PREFIX + "docs/a/?x=1"
    assert get(cport, PREFIX.rstrip("/"))[1]["location"] == PREFIX
    # also on ::1, the gateway's other loopback host; nothing else of the canvas host listens anywhere
    assert get(cport, PREFIX + "app.js", host="::1")[0] == 200
    pid = gw.children_by_title()["canvas"]
    listening = {c.laddr for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", cport), ("::1", cport)}

    blob = files["blob"]
    status, h, body = get(cport, PREFIX + "blob", headers={"Range": "bytes=100-199"})
    assert (status, body, h["content-range"], h["content-length"]) == (206, blob[100:200], "bytes 100-199/3000", "100")
    assert get(cport, PREFIX + "blob", headers={"Range": "bytes=-10"})[2] == blob[-10:]
    assert get(cport, PREFIX + "blob", headers={"Range": "bytes=2990-"})[2] == blob[2990:]
    assert get(cport, PREFIX + "blob", headers={"Range": "bytes=2990-99999"})[1]["content-range"] == "bytes 2990-2999/3000"
    status, h, _ = get(cport, PREFIX + "blob", headers={"Range": "bytes=3000-"})
    assert (status, h["content-range"]) == (416, "bytes */3000") and h["x-content-type-options"] == "nosniff"
    assert get(cport, PREFIX + "blob", headers={"Range": "bytes=0-1,5-6"})[0] == 200  # several ranges: all of it
    assert get(cport, PREFIX + "blob", headers={"Range": "bytes=0-9", "If-Range": '"stale"'})[0] == 200
    status, h, body = get(cport, PREFIX + "blob", method="HEAD")
    assert (status, body, h["content-length"], h["content-type"]) == (200, b"", "3000", "application/octet-stream")
    status, h, body = get(cport, PREFIX + "blob", method="HEAD", headers={"Range": "bytes=0-9"})
    assert (status, body, h["content-length"]) == (206, b"", "10")
    etag = get(cport, PREFIX + "blob")[1]["etag"]
    assert get(cport, PREFIX + "blob", headers={"If-None-Match": etag})[0] == 304
    status, h, _ = get(cport, PREFIX + "blob", method="POST")
    assert (status, h["allow"]) == (405, "GET, HEAD")
    status, h, body = get(cport, PREFIX + "missing.js")
    assert (status, h["content-type"], body) == (404, "text/plain; charset=utf-8", b"Not Found\n")
    assert all(h[k] == v for k, v in SECURITY.items())


def test_no_way_out_of_the_root(make_gateway, home: Home, tmp_path: Path) -> None:
    root = home.state_dir / "workspace" / "canvas"
    fill_root(root)
    secret = home.state_dir / "workspace" / "secret.txt"
    secret.write_text("do not serve")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("outside")
    (root / "escape.txt").symlink_to(secret)
    (root / "escape-dir").symlink_to(outside)
    (root / "abs").symlink_to("/etc")
    os.mkfifo(root / "pipe.txt")  # opening it must neither block nor serve it
    gw = make_gateway(env=canvas_env(home))  # --port 0: an ephemeral canvas port, found in health
    cport = canvas_info(gw)["port"]
    refused = [
        "../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt", "..%5csecret.txt", "a/../../secret.txt",
        "%2E%2E/%2E%2E/openclaw.json", "escape.txt", "escape-dir/x.txt", "abs/passwd", ".hidden", "empty/",
        "pipe.txt", "index.html%00.js", "docs//a/index.html", "%ff.txt",
    ]
    for rel in refused:
        status, h, body = get(cport, PREFIX + rel)
        assert status == 404 and b"do not serve" not in body and b"outside" not in body, rel
        assert h["x-content-type-options"] == "nosniff", rel
    for path in ("/", "/etc/passwd", "/__openclaw__/canvas.txt", "/__openclaw__/canvasx/index.html"):
        assert get(cport, path)[0] == 404, path
    # an absolute-form or garbled request line gets an error, never a file from outside
    with socket.create_connection(("127.0.0.1", cport), timeout=5) as s:
        s.sendall(b"GET /__openclaw__/canvas/../../secret.txt HTTP/1.0\r\n\r\n")
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.") and b"do not serve" not in answer
    assert get(cport, PREFIX + "index.html")[0] == 200  # still serving


def test_off_by_env_or_config_and_switched_by_reload(make_gateway, home: Home) -> None:
    port = port_pair()
    gw = make_gateway(args=["--port", str(port)])  # the harness sets OPENCLAW_SKIP_CANVAS_HOST=1
    assert "canvas" not in gw.children_by_title() and not port_open(port + 4)
    c = open_client(gw.url)
    try:
        assert "canvas" not in c.call("health")["payload"]["workers"]
    finally:
        c.close()
    gw.stop()

    cfg = home.default_config()
    cfg["canvasHost"] = {"enabled": False}
    gw = make_gateway(args=["--port", str(port)], config=cfg, env=canvas_env(home))
    assert "canvas" not in gw.children_by_title() and not port_open(port + 4)
    cfg["canvasHost"] = {"enabled": True}
    home.write_config(cfg)
    wait_for(lambda: port_open(port + 4), 15, what="canvas host started by the reload")
    cfg["canvasHost"] = {"enabled": False}
    home.write_config(cfg)
    wait_for(lambda: not port_open(port + 4) and "canvas" not in gw.children_by_title(), 15, what="canvas host stopped")
    assert gw.http_status("/readyz") == 200


def test_root_and_port_change_in_place(make_gateway, home: Home, tmp_path: Path) -> None:
    first = home.state_dir / "workspace" / "canvas"
    fill_root(first)
    other = tmp_path / "other-canvas"
    other.mkdir()
    (other / "index.html").write_text("other root")
    cfg = home.default_config()
    gw = make_gateway(config=cfg, env=canvas_env(home))
    info = canvas_info(gw)
    pid = gw.children_by_title()["canvas"]
    new_port = free_port()
    cfg["canvasHost"] = {"root": str(other), "port": new_port}
    home.write_config(cfg)
    wait_for(lambda: port_open(new_port) and get(new_port, PREFIX)[2] == b"other root", 15, what="new root on the new port")
    wait_for(lambda: not port_open(info["port"]), 5, what="old canvas port closed")
    assert gw.children_by_title()["canvas"] == pid  # applied in place, no restart


def test_sigkilled_canvas_restarts_while_the_gateway_serves(make_gateway, home: Home) -> None:
    fill_root(home.state_dir / "workspace" / "canvas")
    port = port_pair()
    gw = make_gateway(args=["--port", str(port)], env=canvas_env(home))
    cport = port + 4
    assert get(cport, PREFIX + "app.js")[0] == 200
    kids = gw.children_by_title()
    c = open_client(gw.url)
    try:
        killed_at = time.monotonic()
        os.kill(kids["canvas"], signal.SIGKILL)
        readyz: list[int | None] = []

        def back() -> bool:
            readyz.append(gw.http_status("/readyz"))
            try:
                return get(cport, PREFIX + "app.js")[0] == 200
            except OSError:
                return False

        wait_for(back, 15, interval=0.02, what="canvas serving again")
        took = time.monotonic() - killed_at
        print(f"canvas back {took * 1000:.0f} ms after SIGKILL")
        assert set(readyz) == {200}  # optional: never fails readiness
        assert c.call("sessions.list")["ok"]  # the same WS connection serves on
        now = gw.children_by_title()
        assert now["canvas"] != kids["canvas"]
        assert {k: v for k, v in now.items() if k != "canvas"} == {k: v for k, v in kids.items() if k != "canvas"}
        row = wait_for(lambda: (w := c.call("health")["payload"]["workers"]["canvas"])["state"] == "running" and w, 5)
        assert row["restarts"] == 1 and row["lastExit"] == "signal SIGKILL"
    finally:
        c.close()


def test_busy_port_degrades_but_never_fails_readiness(make_gateway, home: Home) -> None:
    port = port_pair()
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port + 4))
        holder.listen(1)
        gw = make_gateway(args=["--port", str(port)], env=canvas_env(home))  # ready: /readyz 200
        c = open_client(gw.url)
        try:
            health = wait_for(lambda: (h := c.call("health")["payload"])["workers"]["canvas"]["restarts"] >= 1 and h, 15)
            reasons = " ".join(health["degradedReasons"])
            assert f"127.0.0.1:{port + 4} is in use" in reasons and "canvasHost.port" in reasons
            assert gw.http_status("/readyz") == 200 and c.call("sessions.list")["ok"]
        finally:
            c.close()


def _answer(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything until the peer closes (or `limit` s pass), and when it closed."""
    start = time.monotonic()
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data, time.monotonic() - start


def test_idle_and_slow_clients_are_bounded(make_gateway, home: Home) -> None:
    """Slowloris and idle sockets: a request head must be complete 10 s after its first byte (408),
    a silent connection is closed too, and past 512 open connections one more gets 503, so idle
    sockets cannot use up the canvas process's descriptors. Other clients are served throughout."""
    fill_root(home.state_dir / "workspace" / "canvas")
    gw = make_gateway(env=canvas_env(home))
    cport = canvas_info(gw)["port"]
    trickle = socket.create_connection(("127.0.0.1", cport), timeout=5)
    silent = socket.create_connection(("127.0.0.1", cport), timeout=5)
    crowd: list[socket.socket] = []
    try:
        trickle.sendall(b"GET " + PREFIX.encode() + b"app.js HTTP/1.1\r\nHost: x\r\n")
        for _ in range(520):
            crowd.append(socket.create_connection(("127.0.0.1", cport), timeout=5))
        refused, _ = _answer(crowd[-1], 5)
        assert refused.startswith(b"HTTP/1.1 503 ") and b"nosniff" in refused, refused
        for s in crowd:
            s.close()
        crowd.clear()
        assert wait_for(lambda: get(cport, PREFIX + "app.js")[0] == 200, 5, interval=0.1)
        trickle.sendall(b"X-Slow: 1\r\n")  # bytes keep coming, the deadline stays
        data, took = _answer(trickle, 15)
        assert data.startswith(b"HTTP/1.1 408 ") and b"nosniff" in data, data
        silent_data, _ = _answer(silent, 5)
        assert silent_data.startswith(b"HTTP/1.1 408 "), silent_data
        print(f"slow head closed {took:.1f} s after the trickle (10 s deadline from its first byte)")
    finally:
        for s in (trickle, silent, *crowd):
            s.close()


def test_odd_requests_get_plain_answers_with_the_security_headers(make_gateway, home: Home) -> None:
    """A file named with a trailing slash is not a directory (404); Ranges with non-ASCII digits or
    5000-digit numbers are ignored or 416, never a 500; bad HTTP gets aiohttp's 400 with nosniff."""
    files = fill_root(home.state_dir / "workspace" / "canvas")
    gw = make_gateway(env=canvas_env(home))
    cport = canvas_info(gw)["port"]
    assert get(cport, PREFIX + "app.js/")[0] == 404
    assert get(cport, PREFIX + "docs/a/index.html/")[0] == 404
    for rng, status in (("bytes=\u00b2-3", 200), ("bytes=0-" + "9" * 5000, 206), ("bytes=" + "9" * 5000 + "-", 416)):
        got, h, body = get(cport, PREFIX + "blob", headers={"Range": rng.encode().decode("latin-1")})
        assert got == status and h["x-content-type-options"] == "nosniff", (rng[:20], got, body[:80])
    assert get(cport, PREFIX + "blob", headers={"Range": "bytes=0-" + "9" * 5000})[2] == files["blob"]
    with socket.create_connection(("127.0.0.1", cport), timeout=5) as s:
        s.sendall(b"GET " + PREFIX.encode() + b"a\x00b HTTP/1.1\r\nHost: x\r\n\r\n")
        bad, _ = _answer(s, 5)
    assert bad.startswith(b"HTTP/1.") and b" 400 " in bad.split(b"\r\n")[0] and b"nosniff" in bad, bad
    # DNS rebinding: a page on evil.example re-pointed at 127.0.0.1 names its own host; loopback names pass
    for host, status in (("evil.example", 421), (f"evil.example:{cport}", 421), ("", 421),
                         (f"localhost:{cport}", 200), (f"[::1]:{cport}", 200), ("127.0.0.9", 200)):
        got, h, _ = get(cport, PREFIX + "app.js", headers={"Host": host})
        assert got == status and h["x-content-type-options"] == "nosniff", (host, got)
    assert "Traceback" not in gw.output()


def test_a_root_swapped_for_a_symlink_after_start_does_not_widen_the_jail(make_gateway, home: Home) -> None:
    """The root's real path is fixed when the canvas host starts (or canvasHost changes): whoever can
    write the workspace cannot later turn `canvas` into a link to / and have the host serve /etc."""
    root = home.state_dir / "workspace" / "canvas"
    fill_root(root)
    gw = make_gateway(env=canvas_env(home))
    cport = canvas_info(gw)["port"]
    assert get(cport, PREFIX + "app.js")[0] == 200
    root.rename(root.with_name("canvas.moved"))
    root.symlink_to("/")
    assert get(cport, PREFIX + "etc/passwd")[0] == 404
    assert get(cport, PREFIX + "etc/hostname")[0] == 404
    root.unlink()
    root.with_name("canvas.moved").rename(root)  # the same directory back: served again
    assert get(cport, PREFIX + "app.js")[0] == 200
