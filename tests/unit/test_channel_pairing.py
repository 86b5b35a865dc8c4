"""The channel pairing store (ipc/channel_pairing.py): upstream's tables and rules, shared by processes."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openclaw.ipc import channel_pairing as cp
from openclaw.ipc.channel_pairing import ChannelPairingStore

UPSTREAM_TABLES = {"channel_pairing_requests", "channel_pairing_allow_entries"}
UPSTREAM_INDEXES = {"idx_channel_pairing_requests_code", "idx_channel_pairing_requests_created", "idx_channel_pairing_allow_account"}


class Clock:
    def __init__(self, t: float = 1_795_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> ChannelPairingStore:
    return ChannelPairingStore(tmp_path, clock=clock)


def rows(tmp_path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(cp.db_path(tmp_path)) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()


def test_file_tables_and_modes(store: ChannelPairingStore, tmp_path: Path) -> None:
    store.request("telegram", "default", "555001", {"username": "alice"})
    path = tmp_path / "state" / "openclaw.sqlite"
    assert store.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name='channel_pairing_requests'").fetchone()[0]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert UPSTREAM_TABLES | UPSTREAM_INDEXES <= names
    assert sql.rstrip().endswith("STRICT")  # upstream's DDL, not a look-alike


def test_code_alphabet_length_and_row_shape(store: ChannelPairingStore, tmp_path: Path, clock: Clock) -> None:
    code, created = store.request("Telegram", "Default", "555001", {"username": "alice", "firstName": "Alice", "blank": " ", "n": 7})
    assert created is True
    assert re.fullmatch(r"[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}", code)
    (row,) = rows(tmp_path, "channel_pairing_requests")
    channel, account, sender, stored_code, created_at, last_seen, meta = row
    assert (channel, account, sender, stored_code) == ("telegram", "default", "555001", code)
    assert created_at == last_seen == cp.iso_now(int(clock.t * 1000))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created_at)
    assert json.loads(meta) == {"username": "alice", "firstName": "Alice", "n": "7", "accountId": "default"}


def test_codes_use_the_whole_alphabet_and_only_it() -> None:
    seen = set("".join(cp.new_code(set()) for _ in range(400)))
    assert seen == set(cp.CODE_ALPHABET)


def test_created_once_then_last_seen_bumped(store: ChannelPairingStore, clock: Clock) -> None:
    code, created = store.request("telegram", "default", "555001", {"username": "alice"})
    assert created is True
    clock.t += 120
    again, created_again = store.request("telegram", "default", "555001", {"username": "alice2"})
    assert (again, created_again) == (code, False)
    (req,) = store.list_requests("telegram")
    assert req["lastSeenAt"] == cp.iso_now(int(clock.t * 1000))
    assert req["createdAt"] != req["lastSeenAt"]
    assert req["meta"]["username"] == "alice2"


def test_at_most_three_pending_per_account(store: ChannelPairingStore) -> None:
    codes = [store.request("telegram", "default", f"55500{i}", {}) for i in range(3)]
    assert all(created for _, created in codes)
    assert len({c for c, _ in codes}) == 3
    assert store.request("telegram", "default", "555009", {}) == (None, False)
    # another account and another channel have their own three
    assert store.request("telegram", "work", "555009", {})[1] is True
    assert store.request("webhook", "default", "555009", {})[1] is True
    # a sender already pending still gets its code back
    assert store.request("telegram", "default", "555000", {}) == (codes[0][0], False)
    assert len(store.list_requests("telegram", "default")) == 3


def test_ttl_one_hour(store: ChannelPairingStore, clock: Clock, tmp_path: Path) -> None:
    code, _ = store.request("telegram", "default", "555001", {})
    clock.t += 3600  # exactly 1 h: still pending (upstream: expired when older than the TTL)
    assert [r["code"] for r in store.list_requests("telegram")] == [code]
    clock.t += 1
    assert store.list_requests("telegram") == []
    assert rows(tmp_path, "channel_pairing_requests") == []  # pruned, not just hidden
    assert store.approve("telegram", code) is None
    new, created = store.request("telegram", "default", "555001", {})
    assert created is True and new  # a fresh request after expiry


def test_expired_requests_free_the_pending_slots(store: ChannelPairingStore, clock: Clock) -> None:
    for i in range(3):
        store.request("telegram", "default", f"1{i}", {})
    assert store.request("telegram", "default", "99", {})[0] is None
    clock.t += 3601
    assert store.request("telegram", "default", "99", {})[1] is True


def test_approve_by_code_then_allowed(store: ChannelPairingStore, tmp_path: Path) -> None:
    code, _ = store.request("telegram", "default", "555001", {"username": "alice"})
    assert not store.is_allowed("telegram", "default", "555001")
    got = store.approve("telegram", code.lower())
    assert got is not None
    assert (got["senderId"], got["accountId"], got["meta"]["username"]) == ("555001", "default", "alice")
    assert store.is_allowed("telegram", "default", "555001")
    assert store.is_allowed("telegram", "default", "telegram:555001")
    assert not store.is_allowed("telegram", "work", "555001")
    assert not store.is_allowed("telegram", "default", "555002")
    assert store.allow_entries("telegram", "default") == ["555001"]
    assert store.list_requests("telegram") == []
    assert store.approve("telegram", code) is None  # used up
    (entry,) = rows(tmp_path, "channel_pairing_allow_entries")
    assert entry[:4] == ("telegram", "default", "555001", 0)


def test_approve_respects_account_and_channel(store: ChannelPairingStore) -> None:
    code, _ = store.request("telegram", "work", "42", {})
    assert store.approve("telegram", code, account_id="default") is None
    assert store.approve("webhook", code) is None
    assert store.approve("telegram", "") is None
    assert store.approve("telegram", code, account_id="WORK")["accountId"] == "work"
    assert store.is_allowed("telegram", "work", "42")


def test_allow_entries_keep_order_and_no_duplicates(store: ChannelPairingStore) -> None:
    for sender in ("3", "1", "2"):
        code, _ = store.request("telegram", "default", sender, {})
        store.approve("telegram", code)
    store.add_allow_entry("telegram", "default", "tg:1")
    assert store.allow_entries("telegram", "default") == ["3", "1", "2"]


def test_dismiss_by_request_id(store: ChannelPairingStore) -> None:
    store.request("telegram", "default", "555001", {})
    (req,) = store.list_requests("telegram")
    assert len(req["requestId"]) == 32
    assert store.dismiss("telegram", "default", "not-an-id") is None
    got = store.dismiss("telegram", "default", req["requestId"])
    assert got is not None and got["senderId"] == "555001"
    assert store.list_requests() == []
    assert not store.is_allowed("telegram", "default", "555001")
    assert store.request("telegram", "default", "555001", {})[1] is True  # may ask again


def test_request_id_matches_upstream_formula() -> None:
    # node: crypto.createHash("sha256").update(["telegram","default","555001",createdAt].join("\0")).digest("base64url").slice(0,32)
    assert cp.request_id_of("telegram", "default", "555001", "2026-11-22T00:06:50.534Z") == "450kM7y4vwFYTxoqELET-h_eT0Ly3DiS"


def test_list_all_channels_and_entry_keys(store: ChannelPairingStore, clock: Clock) -> None:
    store.request("webhook", "hooks", "u1", {})
    clock.t += 1
    store.request("telegram", "default", "555001", {"firstName": "Alice"})
    got = store.list_requests()
    assert [(r["channel"], r["id"]) for r in got] == [("telegram", "555001"), ("webhook", "u1")]
    assert set(got[0]) >= {"id", "code", "createdAt", "lastSeenAt", "meta", "requestId", "expiresAt", "accountId"}
    assert cp.parse_iso_ms(got[0]["expiresAt"]) - cp.parse_iso_ms(got[0]["createdAt"]) == cp.PENDING_TTL_MS


def test_bad_keys_are_refused(store: ChannelPairingStore) -> None:
    with pytest.raises(cp.PairingKeyError):
        store.request(" ", "default", "1", {})
    with pytest.raises(cp.PairingKeyError):
        store.request("telegram", "default", "  ", {})
    assert cp.channel_key("Te/le:gram") == "te_le_gram"
    assert cp.account_key(None) == cp.account_key("  ") == "default"


def test_survives_rows_written_by_others(store: ChannelPairingStore, tmp_path: Path, clock: Clock) -> None:
    """Rows upstream might leave: a bad date (dropped as expired), meta that is not JSON (ignored)."""
    store.request("telegram", "default", "1", {})
    now = cp.iso_now(int(clock.t * 1000))
    with sqlite3.connect(cp.db_path(tmp_path)) as db:
        db.execute("INSERT INTO channel_pairing_requests VALUES ('telegram','default','2','AAAAAAAA','yesterday',?,NULL)", (now,))
        db.execute("INSERT INTO channel_pairing_requests VALUES ('telegram','default','3','BBBBBBBB',?,?,'{oops')", (now, now))
    got = {r["id"]: r for r in store.list_requests("telegram")}
    assert set(got) == {"1", "3"}
    assert got["3"]["meta"] == {"accountId": "default"}


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from openclaw.ipc.channel_pairing import ChannelPairingStore
    state, tag, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    s = ChannelPairingStore(state)
    import time
    while time.time() < start:
        time.sleep(0.001)
    out = []
    for i in range(40):
        out.append(s.request("telegram", f"acct{i % 20}", f"shared{i % 20}", {"by": tag})[1])
        code, _ = s.request("telegram", f"own{tag}", f"{tag}-{i}", {})
        if code:
            s.approve("telegram", code)
    print(sum(out))
""")


def test_two_processes_writing_at_once(tmp_path: Path) -> None:
    """Two processes race on the same senders: each sender is created exactly once overall, no write
    is lost (every approval lands), the 3-pending cap holds."""
    start = time.time() + 0.5
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag, str(start)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=60)
        finally:
            p.kill()
        assert p.returncode == 0, err
        outs.append(int(out))
    assert sum(outs) == 20  # 20 shared senders, each created once by one of the two
    store = ChannelPairingStore(tmp_path)
    assert len(store.list_requests("telegram")) == 20
    for tag in ("a", "b"):
        assert sorted(store.allow_entries("telegram", f"own{tag}")) == sorted(f"{tag}-{i}" for i in range(40))
