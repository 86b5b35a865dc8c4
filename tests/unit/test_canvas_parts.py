"""The canvas host's pure parts: the path jail, Range parsing, content types, its settings, the
schema of canvasHost, and how a canvasHost change is planned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from openclaw.ipc import canvas_config
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_schema import validate
from openclaw.ipc.errors import ConfigRefusal
from openclaw.supervisor.reload_plan import plan_reload
from openclaw.supervisor.specs import derive_specs
from openclaw.workers.canvas import files

P = files.PREFIX


@pytest.mark.parametrize(
    ("raw", "segments", "directory"),
    [
        (P, (), True),
        (P + "a/b.js", ("a", "b.js"), False),
        (P + "a/b/?x=1#f", ("a", "b"), True),
        (P + "space%20name.html", ("space name.html",), False),
        (P + "%E2%9C%93.txt", ("\u2713.txt",), False),
    ],
)
def test_parse_path_accepts_plain_names(raw: str, segments: tuple[str, ...], directory: bool) -> None:
    assert files.parse_path(raw) == files.Target(segments, directory)


@pytest.mark.parametrize(
    "raw",
    [
        "/", "/__openclaw__/canvas", "/__openclaw__/canvasx/a", P + "../x", P + "a/../../x", P + "%2e%2e/x",
        P + "..%2fx", P + "a%2fb", P + "a%5cb", P + "a%00b", P + ".git/config", P + "a//b", P + "%ff", P + "./x",
        P + "a" * 256,
    ],
)
def test_parse_path_refuses_anything_that_is_not_a_plain_name(raw: str) -> None:
    assert files.parse_path(raw) is None


def test_locate_and_open_keep_to_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("in")
    (tmp_path / "secret").write_text("out")
    (root / "out").symlink_to(tmp_path / "secret")
    (root / "in").symlink_to(root / "d" / "f.txt")
    real_root = os.path.realpath(root)
    assert files.locate(real_root, files.Target(("out",), False)) is None
    inside = files.locate(real_root, files.Target(("in",), False))
    opened = files.open_file(real_root, inside or "")
    assert opened is not None and os.pread(opened.fd, 10, 0) == b"in"
    opened.close()
    assert files.open_file(real_root, str(root / "d")) is None  # a directory is not a file
    assert files.open_file(real_root, str(tmp_path / "secret")) is None  # opened, then seen to be outside
    assert not files.under(str(tmp_path / "rootx"), real_root)


@pytest.mark.parametrize(
    ("header", "size", "span"),
    [
        (None, 10, None), ("bytes=0-4", 10, (0, 4)), ("bytes=5-", 10, (5, 9)), ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)), ("bytes=8-100", 10, (8, 9)), ("Bytes = 1-2", 10, (1, 2)),
        ("items=0-1", 10, None), ("bytes=0-1,4-5", 10, None), ("bytes=5-1", 10, None), ("bytes=x-1", 10, None),
        ("bytes=-", 10, None), ("bytes", 10, None),
        # only ASCII digits are digits (int() takes "\u0661" and chokes on "\u00b2": that was a 500)
        ("bytes=\u00b2-3", 10, None), ("bytes=\u0661-\u0663", 10, None), ("bytes=0-\u00b9", 10, None),
        # numbers longer than int() converts (4300 digits) or any file could be: clamped, never a 500
        ("bytes=0-" + "9" * 5000, 10, (0, 9)), ("bytes=-" + "9" * 5000, 10, (0, 9)),
        ("bytes=" + "0" * 5000 + "2-3", 10, (2, 3)),
    ],
)
def test_parse_range(header: str | None, size: int, span: tuple[int, int] | None) -> None:
    assert files.parse_range(header, size) == span


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=-5", 0), ("bytes=" + "9" * 5000 + "-", 10)])
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(files.Unsatisfiable):
        files.parse_range(header, size)


def test_content_types() -> None:
    assert files.content_type("a.HTML") == "text/html; charset=utf-8"
    assert files.content_type("a.mjs") == "text/javascript; charset=utf-8"
    assert files.content_type("a.wasm") == "application/wasm"
    assert files.content_type("a.csv") == "text/csv; charset=utf-8"  # from mimetypes, text gets a charset
    assert files.content_type("noext") == "application/octet-stream"


def test_settings_precedence_and_refusals() -> None:
    on: dict = {}
    assert canvas_config.resolve_port(on, {}, 18789) == 18793
    assert canvas_config.resolve_port(on, {}, 0) == 0  # ephemeral gateway, ephemeral canvas
    assert canvas_config.resolve_port(on, {}, 65533) == 0
    assert canvas_config.resolve_port({"canvasHost": {"port": 9000}}, {}, 18789) == 9000
    assert canvas_config.resolve_port({"gateway": {"canvasHost": {"port": 9001}}}, {}, 18789) == 9001
    both = {"canvasHost": {"port": 9000}, "gateway": {"canvasHost": {"port": 9001, "enabled": False}}}
    assert canvas_config.resolve_port(both, {}, 18789) is None  # key by key: enabled from gateway.canvasHost
    assert canvas_config.resolve_port({"canvasHost": {"port": 9000}}, {"OPENCLAW_CANVAS_HOST_PORT": "9100"}, 1) == 9100
    assert canvas_config.resolve_port(on, {"OPENCLAW_SKIP_CANVAS_HOST": "1"}, 18789) is None
    assert canvas_config.resolve_port(on, {"OPENCLAW_SKIP_CANVAS_HOST": "0"}, 18789) == 18793
    assert canvas_config.resolve_port({"canvasHost": {"enabled": False}}, {}, 18789) is None
    with pytest.raises(ConfigRefusal, match="OPENCLAW_CANVAS_HOST_PORT"):
        canvas_config.resolve_port(on, {"OPENCLAW_CANVAS_HOST_PORT": "70000"}, 18789)
    with pytest.raises(ConfigRefusal, match="the gateway's own port"):
        canvas_config.resolve_port({"canvasHost": {"port": 18789}}, {}, 18789)
    assert canvas_config.root({}, "/s") == Path("/s/workspace/canvas")
    assert canvas_config.root({"canvasHost": {"root": "pages"}}, "/s") == Path("/s/pages")
    assert canvas_config.root({"canvasHost": {"root": "/srv/c"}}, "/s") == Path("/srv/c")


def test_schema_types_canvas_host() -> None:
    assert validate({"canvasHost": {"enabled": True, "port": 18793, "root": "/x", "liveReload": False}}) == ([], [])
    errors, _ = validate({"canvasHost": {"port": "18793"}})
    assert errors[0]["path"] == "canvasHost.port"
    errors, _ = validate({"canvasHost": {"prot": 1}})
    assert errors == [{"path": "canvasHost.prot", "message": "unknown key"}]
    errors, _ = validate({"gateway": {"canvasHost": {"port": 70000}}})
    assert errors[0]["path"] == "gateway.canvasHost.port"


def _gw(**kw) -> ResolvedGateway:
    base = {
        "profile": None, "state_dir": "/s", "config_path": "/s/c.json", "config_exists": True, "config_hash": "h", "port": 18789,
        "port_source": "config", "bind_mode": "loopback", "bind_hosts": ["127.0.0.1"], "auth_mode": "token", "token": "t" * 32,
        "log_file": "/l", "canvas_port": 18793,
    }
    base.update(kw)
    return ResolvedGateway(**base)


def _plan(old: dict, new: dict, mode: str = "hybrid", old_gw: ResolvedGateway | None = None,
          new_gw: ResolvedGateway | None = None):
    return plan_reload(old, new, derive_specs(old, {}), derive_specs(new, {}), old_gw or _gw(), new_gw or _gw(), mode)


def test_plan_canvas_changes_apply_in_place_or_start_stop() -> None:
    p = _plan({}, {"canvasHost": {"root": "/x"}})
    assert p.hot == {"canvas": ["canvasHost.root"]} and not p.replace and not p.restart_frontend
    p = _plan({}, {"canvasHost": {"root": "/x"}}, mode="restart")  # still in place: no blue/green on one port
    assert p.hot == {"canvas": ["canvasHost.root"]} and not p.replace
    p = _plan({}, {"gateway": {"canvasHost": {"port": 1}}})
    assert p.hot == {"canvas": ["gateway.canvasHost.port"]} and not p.restart_frontend
    p = _plan({}, {"canvasHost": {"enabled": False}})
    assert p.stop == {"canvas": ["canvasHost.enabled"]} and not p.hot
    p = _plan({"canvasHost": {"enabled": False}}, {})
    assert p.start == {"canvas": ["canvasHost.enabled"]}
    p = _plan({}, {"canvasHost": {"root": "/x"}}, mode="hot")
    assert p.hot == {"canvas": ["canvasHost.root"]}
    assert "canvas" not in derive_specs({}, {"OPENCLAW_SKIP_CANVAS_HOST": "1"})


def test_plan_gateway_rebind_moves_the_canvas_host_too() -> None:
    old, new = {"gateway": {"port": 18789}}, {"gateway": {"port": 19000}}
    p = _plan(old, new, old_gw=_gw(), new_gw=_gw(port=19000, canvas_port=19004))
    assert p.rebind and p.hot.get("canvas") == ["gateway.port"]
    p = _plan(old, new, old_gw=_gw(), new_gw=_gw(port=19000, canvas_port=18793))  # an explicit canvas port stays
    assert p.rebind and "canvas" not in p.hot


def test_host_guard_names() -> None:
    from openclaw.workers.canvas import host_guard as g

    extra = g.allowed_hosts({"allowedHosts": ["Canvas.Example.com", "proxy.lan:8443", 5]})
    assert extra == frozenset({"canvas.example.com", "proxy.lan"})
    assert g.admits("canvas.example.com:443", extra) and g.admits("LOCALHOST", extra) and g.admits("[::1]:1", extra)
    assert not g.admits("evil.example", extra) and not g.admits(None, extra) and not g.admits("[::1", extra)
    assert not g.admits("localhost:abc", extra) and not g.admits("127.0.0.1.evil.example", extra)
    assert g.loopback_only(["127.0.0.1", "::1"]) and not g.loopback_only(["0.0.0.0"]) and not g.loopback_only([])
