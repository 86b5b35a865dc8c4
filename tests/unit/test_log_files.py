"""Log file names, rotation, the stream cursor (ipc/log_files.py, log_writer.py, log_tail.py), and
several writer processes rotating one file at once."""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from openclaw.ipc import log_files, logs
from openclaw.ipc.log_files import Rotation
from openclaw.ipc.log_tail import read_page
from openclaw.ipc.log_writer import SharedLogFile
from openclaw.ipc.paths import default_log_file, log_profile_segment


@pytest.fixture
def tmpdir_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile.gettempdir() (where the default log folder lives) pointed at the test's folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def sink() -> object:
    yield logs._sink
    logs.configure(None, "test")


def header(previous: str, base: int) -> bytes:
    return json.dumps({"message": f"log file continues from {previous}", "fields": {"logBase": base}}).encode() + b"\n"


def writer(path: Path, max_bytes: int, max_files: int = 5, rolling: bool = False) -> SharedLogFile:
    w = SharedLogFile(path, rolling, Rotation(max_bytes, max_files, 7), header)
    w.open()
    return w


def line(i: int, pad: int = 80) -> bytes:
    return json.dumps({"message": f"line {i}", "pad": "x" * pad}).encode() + b"\n"


def messages(lines: list[str]) -> list[str]:
    return [json.loads(ln)["message"] for ln in lines]


# --------------------------------------------------------------------------- names


def test_default_file_is_per_profile_and_dated(tmpdir_is: Path) -> None:
    day = _dt.datetime(2026, 11, 21, 23, 59)
    assert default_log_file(None, day) == tmpdir_is / "openclaw" / "openclaw-2026-11-21.log"
    assert default_log_file("default", day) == tmpdir_is / "openclaw" / "openclaw-2026-11-21.log"
    assert default_log_file("rescue", day) == tmpdir_is / "openclaw" / "openclaw-rescue-2026-11-21.log"
    assert default_log_file("dev", day).name == "openclaw-dev-2026-11-21.log"


@pytest.mark.parametrize(
    "profile, segment",
    [("rescue", "rescue"), ("a-b", "a--b"), ("a_b", "a-0b"), ("Main", "-1main"), ("x.y", "x-22e-y"), ("", None), ("default", None)],
)
def test_profile_segment_encoding_matches_upstream(profile: str, segment: str | None) -> None:
    assert log_profile_segment(profile) == segment


def test_two_profiles_never_share_a_stream(tmp_path: Path) -> None:
    (tmp_path / "openclaw-2026-11-21.log").write_text("default\n")
    (tmp_path / "openclaw-rescue-2026-11-21.log").write_text("rescue\n")
    (tmp_path / "openclaw-rescue-2026-11-21.1.log").write_text("rescue old\n")
    default = [f.path.name for f in log_files.stream_files(tmp_path / "openclaw-2026-11-21.log", True)]
    rescue = [f.path.name for f in log_files.stream_files(tmp_path / "openclaw-rescue-2026-11-21.log", True)]
    assert default == ["openclaw-2026-11-21.log"]
    assert rescue == ["openclaw-rescue-2026-11-21.1.log", "openclaw-rescue-2026-11-21.log"]


def test_rolling_names_and_rotated_names() -> None:
    day = _dt.date(2026, 1, 2)
    assert log_files.is_rolling("/x/openclaw-2026-11-21.log") and log_files.is_rolling("/x/openclaw-YYYY-MM-DD.log")
    assert not log_files.is_rolling("/x/gateway.log")
    assert log_files.for_date(Path("/x/openclaw-dev-2026-11-21.log"), day) == Path("/x/openclaw-dev-2026-01-02.log")
    assert log_files.for_date(Path("/x/openclaw-YYYY-MM-DD.log"), day) == Path("/x/openclaw-2026-01-02.log")
    assert log_files.for_date(Path("/x/gateway.log"), day) == Path("/x/gateway.log")
    assert log_files.rotated_name(Path("/x/openclaw-2026-11-21.log"), 2) == Path("/x/openclaw-2026-11-21.2.log")
    assert log_files.rotated_name(Path("/x/gateway"), 1) == Path("/x/gateway.1")
    assert log_files.configured_log_file("~/gw.log", None)[1] is False


def test_stream_order_and_retention(tmp_path: Path) -> None:
    today = _dt.date(2026, 11, 21)
    names = ["openclaw-2026-11-10.log", "openclaw-2026-11-19.1.log", "openclaw-2026-11-19.log",
             "openclaw-2026-11-21.2.log", "openclaw-2026-11-21.1.log", "openclaw-2026-11-21.log",
             "openclaw-2026-11-21.7.log", "openclaw-dev-2026-11-01.log"]
    for n in names:
        (tmp_path / n).write_text("x\n")
    active = tmp_path / "openclaw-2026-11-21.log"
    order = [f.path.name for f in log_files.stream_files(active, True)]
    assert order == ["openclaw-2026-11-10.log", "openclaw-2026-11-19.1.log", "openclaw-2026-11-19.log",
                     "openclaw-2026-11-21.7.log", "openclaw-2026-11-21.2.log", "openclaw-2026-11-21.1.log",
                     "openclaw-2026-11-21.log"]
    gone = log_files.prune(active, True, Rotation(1, max_files=5, retention_days=7), today)
    assert sorted(p.name for p in gone) == ["openclaw-2026-11-10.log", "openclaw-2026-11-21.7.log"]
    assert (tmp_path / "openclaw-dev-2026-11-01.log").exists()  # another profile's: not ours to prune


# --------------------------------------------------------------------------- one writer


def test_size_rotation_keeps_max_files_and_a_cursor_follows_it(tmp_path: Path) -> None:
    path = tmp_path / "gw.log"
    w = writer(path, max_bytes=1000, max_files=2)
    page = read_page(path, False, None)
    cursor, seen = page["cursor"], []
    for i in range(60):
        w.append(line(i))
        if i % 4 == 3:  # a reader polling now and then, across rotations
            page = read_page(path, False, cursor)
            seen += page["lines"]
            cursor = page["cursor"]
    w.close()
    seen += read_page(path, False, cursor)["lines"]
    assert [m for m in messages(seen) if m.startswith("line")] == [f"line {i}" for i in range(60)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gw.log.lock", "gw.1.log", "gw.2.log", "gw.log"]
    for p in tmp_path.glob("gw*.log"):
        assert p.stat().st_size <= 1000 + len(line(0)) + 200, p  # a header and one line over at most
    first = (tmp_path / "gw.log").read_text().splitlines()[0]
    assert json.loads(first)["message"] == "log file continues from gw.1.log"


def test_cursor_rules(tmp_path: Path) -> None:
    path = tmp_path / "gw.log"
    w = writer(path, max_bytes=500, max_files=1)
    w.append(line(0, 200))
    start = read_page(path, False, None)
    for i in (1, 2, 3):  # rotated twice meanwhile: the file with line 1 is deleted (max_files 1)
        w.append(line(i, 200))
    page = read_page(path, False, start["cursor"])
    assert page["reset"] and page["skippedBytes"] > 0
    assert "line 3" in messages(page["lines"]) and "line 1" not in messages(page["lines"])
    beyond = read_page(path, False, page["cursor"] + 10**6)  # another stream's cursor: the tail again
    assert beyond["reset"] and beyond["cursor"] == page["cursor"]
    assert read_page(path, False, page["cursor"])["lines"] == []
    limited = read_page(path, False, None, limit=1)
    assert len(limited["lines"]) == 1 and limited["truncated"]
    w.close()


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    page = read_page(tmp_path / "none.log", False, None)
    assert page == {"file": str(tmp_path / "none.log"), "cursor": 0, "size": 0, "lines": [], "truncated": False, "reset": False}


def test_midnight_switches_to_the_new_date_and_the_cursor_follows(tmp_path: Path) -> None:
    today = _dt.date.today()
    template = tmp_path / f"openclaw-{today.isoformat()}.log"
    yesterday = log_files.for_date(template, today - _dt.timedelta(days=1))
    w = SharedLogFile(template, True, Rotation(10**6, 5, 7), header)
    w.path = yesterday  # as if it had been opened yesterday
    w.open()
    w.append(line(1))
    cursor = read_page(yesterday, True, None)["cursor"]
    w.append(line(2))
    w.switch_at = 0.0  # midnight
    w.append(line(3))
    w.close()
    assert w.path == template and template.exists()
    page = read_page(template, True, cursor)
    assert messages(page["lines"]) == ["line 2", f"log file continues from {yesterday.name}", "line 3"]
    assert page["reset"]


def test_sink_levels_and_console_style(tmp_path: Path, sink: object, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gw.log"
    settings = logs.LogSettings(file=str(path), level="warn", console_level="error", console_style="json")
    logs._sink.configure(settings, "test")
    log = logs.get_logger("unit")
    log.info("not in the file")
    log.warn("in the file only")
    log.error("in both")
    logs._sink.console.drain()
    assert [json.loads(x)["message"] for x in path.read_text().splitlines()] == ["in the file only", "in both"]
    err = capsys.readouterr().err.strip().splitlines()
    assert [json.loads(x)["message"] for x in err] == ["in both"]


# --------------------------------------------------------------------------- several writer processes

WRITER = """
import sys
from openclaw.ipc import logs
from openclaw.ipc.log_files import Rotation
path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
logs._sink.configure(logs.LogSettings(file=path, rotation=Rotation(16384, 500, 7)), who)
log = logs.get_logger("race")
for i in range(n):
    log.info("seq", who=who, i=i, pad="x" * 60)
w = logs._sink.writer  # rotations put off, lines written without the lock: a lock holder was too slow (a loaded machine)
print(w.skipped_rotations, w.unlocked_writes)
"""


def test_writer_processes_racing_rotation_lose_and_repeat_nothing(tmp_path: Path) -> None:
    """4 processes write 1,500 lines each into one file rotated every ~16 KiB (~100 rotations)
    while a reader follows it by cursor: every line is in the files exactly once, whole, in each
    writer's order, and the reader saw every one of them exactly once."""
    path = tmp_path / "race.log"
    cursor = read_page(path, False, None)["cursor"]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{k}", "1500"], stdout=subprocess.PIPE, text=True)
             for k in range(4)]
    followed: list[str] = []
    fell_behind = False  # a page said it left lines out (the reader was more than a page behind)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            done = all(p.poll() is not None for p in procs)
            page = read_page(path, False, cursor, 5000, 1_000_000)
            followed += page["lines"]
            cursor = page["cursor"]
            fell_behind = fell_behind or page["truncated"] or bool(page.get("skippedBytes"))
            if done and not page["lines"]:  # the writers are gone and the reader has caught up
                break
            time.sleep(0.02)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    stats = [tuple(map(int, p.stdout.read().split())) for p in procs]
    put_off, unlocked = sum(s[0] for s in stats), sum(s[1] for s in stats)
    expected = {(f"w{k}", i) for k in range(4) for i in range(1500)}

    on_disk: list[tuple[str, int]] = []
    files = log_files.stream_files(path, False)
    for f in files:
        for raw in f.path.read_bytes().splitlines():
            rec = json.loads(raw)  # every line whole
            if rec["message"] == "seq":
                on_disk.append((rec["fields"]["who"], rec["fields"]["i"]))
    assert Counter(on_disk) == Counter(expected)
    for k in range(4):
        mine = [i for who, i in on_disk if who == f"w{k}"]
        assert mine == sorted(mine), f"w{k} out of order across the rotated files"
    assert len(files) > 50
    sizes = [f.path.stat().st_size for f in files]
    if put_off == 0:  # past the limit by at most a line per writer
        assert max(sizes) <= 16384 + 4 * 400, sizes
    else:  # a loaded machine: a writer preempted holding the lock put a rotation off (backoff); most still rotate on time
        assert sorted(sizes)[len(sizes) // 2] <= 16384 + 4 * 400, (put_off, sizes)

    seen = [(r["fields"]["who"], r["fields"]["i"]) for r in map(json.loads, followed) if r["message"] == "seq"]
    if unlocked:  # a line written without the lock may land in a file just rotated: on disk, not followed (README)
        return
    assert max(Counter(seen).values()) == 1 and set(seen) <= expected  # never a line twice, never one not written
    if not fell_behind:  # and every line, unless a page said it left some out (a starved reader, more than a page behind)
        assert Counter(seen) == Counter(expected)


def test_console_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    from openclaw.ipc.log_console import render

    class Terminal:
        def isatty(self) -> bool:
            return True

    when = _dt.datetime(2026, 11, 21, 9, 0, 16, 620000, tzinfo=_dt.UTC)
    kw = {"when": when, "process": "frontend", "subsystem": "gateway/ws", "message": "hello", "fields": {"conn": 7},
          "json_line": b'{"message":"hello"}\n'}
    monkeypatch.delenv("NO_COLOR", raising=False)
    pretty = render("pretty", Terminal(), level="warn", **kw)
    assert "\x1b[33mWARN \x1b[0m" in pretty and "\x1b[33mhello\x1b[0m conn=7" in pretty
    assert render("compact", Terminal(), level="info", **kw) == "2026-11-21T09:00:16.620Z INFO  [frontend] gateway/ws: hello conn=7"
    assert render("json", Terminal(), level="info", **kw) == '{"message":"hello"}'
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in render("pretty", Terminal(), level="error", **kw)


def test_default_console_level_is_warn_when_the_output_is_a_file(tmp_path: Path) -> None:
    code = "import sys; from openclaw.ipc.logs import default_console_level as d; sys.stderr.write(d())"
    piped = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    assert piped.stderr == "info"  # a terminal or a pipe (journald, `| tee`)
    with open(tmp_path / "nohup.out", "wb") as out:
        to_file = subprocess.run([sys.executable, "-c", code], stdout=out, stderr=subprocess.PIPE, text=True, check=True)
    assert to_file.stderr == "warn"  # a copy of every line that nothing rotates: warnings only


def test_current_log_file_is_todays(tmpdir_is: Path) -> None:
    today = _dt.date.today().isoformat()
    recorded = "/x/openclaw-rescue-2020-01-01.log"  # the record of a gateway started long ago
    assert log_files.current_log_file(recorded, None, "rescue") == (Path(f"/x/openclaw-rescue-{today}.log"), True)
    assert log_files.current_log_file(None, "/x/gw.log", None) == (Path("/x/gw.log"), False)
    assert log_files.current_log_file(None, "  ", "dev")[0] == tmpdir_is / "openclaw" / f"openclaw-dev-{today}.log"
