"""Reading, checking and editing the config file; the fault-injection spec."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from openclaw.ipc.config_edit import carry_paths, changed_paths, merge_patch, parse_cli_value, set_path, unset_path, write_config
from openclaw.ipc.config_file import MAX_CONFIG_BYTES, ConfigFileError, load_config, parse_config_text
from openclaw.ipc.config_schema import validate
from openclaw.ipc.faults import FaultSpecError, parse


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("{\n  gateway: {\n    port: 12x\n  }\n}", 3, 13, "expected ',' or '}', found 'x'"),
        ("{a: 1, oops }", 1, 13, "expected ':', found '}'"),
        ('{a: "x', 1, 5, "the string opened here is never closed"),
    ],
)
def test_parse_errors_point_at_the_spot(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConfigFileError) as e:
        parse_config_text(text, "cfg")
    assert (e.value.line, e.value.column) == (line, column) and words in e.value.problem


@pytest.mark.parametrize("depth", [65, 200, 100_000])
def test_nesting_is_capped(depth: int) -> None:
    with pytest.raises(ConfigFileError, match="nested deeper than 64 levels"):
        parse_config_text('{"a":' * depth + "1" + "}" * depth, "cfg")
    parse_config_text('{"a":' * 60 + "1" + "}" * 60, "cfg")  # deep but fine


def test_size_top_level_and_encoding(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_bytes(b"{" + b" " * MAX_CONFIG_BYTES + b"}")
    with pytest.raises(ConfigFileError, match="larger than"):
        load_config(f)
    f.write_text("[1, 2]")
    with pytest.raises(ConfigFileError, match="top level must be an object"):
        load_config(f)
    f.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        load_config(f)
    with pytest.raises(ConfigFileError, match="is a directory"):
        load_config(tmp_path)
    assert load_config(tmp_path / "missing.json").exists is False
    f.write_text("\ufeff{a: 1, // comment\n b: [1,2,],}")
    assert load_config(f).data == {"a": 1, "b": [1, 2]}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"gateway": {"port": "x"}}, "gateway.port: expected int, got str"),
        ({"gateway": {"port": 70000}}, "gateway.port: expected int <= 65535"),
        ({"gateway": {"bind": "wide"}}, "gateway.bind: invalid value 'wide' (allowed: loopback, lan, tailnet, auto, custom)"),
        ({"gateway": {"auth": {"tokn": "x"}}}, "gateway.auth.tokn: unknown key"),
        ({"gateway": {"reload": {"debounceMs": 5}}}, "gateway.reload.debounceMs: unknown key"),
        ({"channels": {"telegram": {"enabled": "yes"}}}, "channels.telegram.enabled: expected bool, got str"),
        ({"channels": {"Tele Gram": {}}}, "channels.Tele Gram: channel ids are lowercase"),
        ({"gateway": {"bind": "custom"}}, 'gateway.customBindHost: required when gateway.bind is "custom"'),
        ({"commands": {"restart": "no"}}, "commands.restart: expected bool, got str"),
    ],
)
def test_schema_messages_name_the_key(data: dict, message: str) -> None:
    errors, _ = validate(data)
    assert errors and f"{errors[0]['path']}: {errors[0]['message']}".startswith(message)


def test_unknown_sections_warn_but_pass() -> None:
    errors, warnings = validate({"someFutureSection": {}, "plugins": {}, "gateway": {"mode": "local"}})
    assert errors == [] and warnings == [{"path": "someFutureSection", "message": "unknown section (ignored by this gateway)"}]


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3], "n": {"x": 1}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3], "n": {"x": 1}}
    assert target["c"] == {"d": "e", "f": "g"}  # never modified in place


def test_paths_set_unset_carry_and_diff() -> None:
    data = {"gateway": {"port": 1}}
    assert set_path(data, "channels.telegram.enabled", True) == {"gateway": {"port": 1}, "channels": {"telegram": {"enabled": True}}}
    assert unset_path(data, "gateway.port") == ({"gateway": {}}, True)
    assert unset_path(data, "nope.x") == (data, False)
    assert changed_paths({"a": {"b": 1}}, {"a": {"b": 1, "c": {"d": 2}}}) == ["a.c.d"]  # added objects count by leaf
    assert changed_paths({"l": [1, 2]}, {"l": [1, 3]}) == ["l"]  # lists compare whole
    assert changed_paths({"x": 1}, {"x": True}) == ["x"]  # 1 == True in Python, not in the config
    assert carry_paths({"a": 1, "b": 1}, {"a": 2, "b": 2}, ["a"]) == {"a": 2, "b": 1}
    assert [parse_cli_value(v) for v in ("true", "18789", "{a: 1}", "hello world", '"x"')] == [True, 18789, {"a": 1}, "hello world", "x"]


def test_write_config_keeps_mode_and_backup(tmp_path: Path) -> None:
    f = tmp_path / "openclaw.json"
    f.write_text("old")
    os.chmod(f, 0o640)
    write_config(f, "new\n")
    assert f.read_text() == "new\n" and (tmp_path / "openclaw.json.bak").read_text() == "old"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # no temp file left


def test_fault_specs() -> None:
    f = parse("agent=exit-after:3,ignore-term; channel:demo=hang-after:1;frontend=slow-ready:2000")
    assert f["agent"].exit_after == 3 and f["agent"].ignore_term and f["channel:demo"].hang_after == 1
    assert f["frontend"].slow_ready_ms == 2000 and not f["frontend"].exit_on_start
    for bad in ("agent", "agent=explode", "agent=exit-after:0", "agent=exit-after:x", "=exit-on-start"):
        with pytest.raises(FaultSpecError):
            parse(bad)
