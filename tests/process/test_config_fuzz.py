"""R12: hundreds of random edits to a running gateway's config (truncations, invalid JSON5, wrong
types, unknown keys, partial writes, renames) never take it down, never make it rewrite the file,
and the last valid file wins."""

from __future__ import annotations

import json
import os
import random

from ..harness import Home, wait_for
from ..wsclient import open_client


def mutations(good: str, rng: random.Random) -> list[str]:
    bad_values = ['"x"', "-1", "70000", "true", "[]", "{}", "null", "1e999", '"' + "y" * 100 + '"']
    out = []
    for _ in range(300):
        kind = rng.randrange(6)
        if kind == 0:
            out.append(good[: rng.randrange(len(good))])  # a truncated (partial) write
        elif kind == 1:
            i = rng.randrange(len(good))
            out.append(good[:i] + rng.choice("{}[],:\"'x\\") + good[i:])  # a stray character
        elif kind == 2:
            out.append(good.replace('"local"', rng.choice(bad_values), 1))
        elif kind == 3:
            cfg = json.loads(good)
            cfg["gateway"][rng.choice(["port", "bind", "reload", "auth", "tls", "nosuchkey"])] = json.loads(
                rng.choice(['"x"', "-1", "70000", "[]", '{"mode": 5}'])  # not {}: `tls: {}` is valid and restarts the front door
            )
            out.append(json.dumps(cfg))
        elif kind == 4:
            out.append("")  # an editor that truncates first
        else:
            cfg = json.loads(good)
            cfg["logging"]["level"] = rng.choice(["info", "debug", "warn"])  # valid, hot
            out.append(json.dumps(cfg))
    return out


def test_random_edits_never_take_the_gateway_down(make_gateway, home: Home) -> None:
    gw = make_gateway()
    pids = gw.children_by_title()
    good = json.dumps(home.default_config())
    rng = random.Random(5)
    for i, text in enumerate(mutations(good, rng)):
        home.write_config(text, by_rename=bool(i % 2))
    final = home.default_config()
    final["logging"]["level"] = "warn"
    home.write_config(final, by_rename=True)
    final_bytes = home.config_path.read_bytes()
    reload = gw.wait_applied(timeout=20)
    assert reload["status"] == "ok"
    assert gw.proc.poll() is None and gw.children_by_title() == pids  # alive; nothing restarted for it
    c = open_client(gw.url)
    assert c.call("sessions.list")["ok"]
    c.close()
    assert home.config_path.read_bytes() == final_bytes  # the gateway never wrote the file
    assert not [p for p in os.listdir(home.state_dir) if p.endswith(".tmp")]
