"""The ingress spool (workers/channel/telegram/spool.py): transitions as a table, bounds, and crash safety:
the intake and processing steps are replayed with a simulated crash after each step in turn; after the
restart no update is lost, none is run twice, and none is answered twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from openclaw.workers.channel.telegram.spool import (
    DONE,
    PENDING,
    REPLYING,
    RUNNING,
    TRANSITIONS,
    IngressSpool,
    TransitionError,
    chat_key,
    spool_path,
)


def update(uid: int, chat: int = 1) -> dict[str, Any]:
    return {"update_id": uid, "message": {"message_id": uid, "chat": {"id": chat, "type": "private"}, "text": f"t{uid}"}}


def test_store_is_idempotent_and_persists_the_offset(tmp_path: Path) -> None:
    spool = IngressSpool(tmp_path / "s.sqlite")
    assert spool.offset is None
    assert spool.store([update(5), update(6)]) == [5, 6]
    assert spool.store([update(6), update(7)]) == [7]
    assert spool.offset == 8
    assert spool.store([update(3)]) == [3] and spool.offset == 8  # never goes back
    assert spool.store([update(9)], advance_offset=False) == [9] and spool.offset == 8  # webhook: no offset
    assert spool.store([{"update_id": "x"}, {"update_id": True}, "junk"]) == []  # type: ignore[list-item]
    spool.close()
    again = IngressSpool(tmp_path / "s.sqlite")
    assert again.offset == 8 and again.counts()[PENDING] == 5


def test_transitions_follow_the_table(tmp_path: Path) -> None:
    spool = IngressSpool(tmp_path / "s.sqlite")
    spool.store([update(1)])
    states = (PENDING, RUNNING, REPLYING, DONE)
    for a in states:
        for b in states:
            if a == b:
                continue
            spool.db.execute("UPDATE updates SET state=? WHERE update_id=1", (a,))
            if (a, b) in TRANSITIONS:
                assert spool.advance(1, b) == a
            else:
                with pytest.raises(TransitionError):
                    spool.advance(1, b)
    with pytest.raises(TransitionError):
        spool.advance(99, DONE)


def test_recover_closes_interrupted_replies_and_keeps_running_rows(tmp_path: Path) -> None:
    spool = IngressSpool(tmp_path / "s.sqlite")
    spool.store([update(1), update(2), update(3)])
    spool.advance(1, RUNNING)
    spool.advance(2, RUNNING)
    spool.advance(2, REPLYING)
    assert spool.recover() == 1
    assert [spool.get(i).state for i in (1, 2, 3)] == [RUNNING, DONE, PENDING]  # type: ignore[union-attr]
    assert "not re-sent" in (spool.get(2).note or "")  # type: ignore[union-attr]


def test_per_chat_order_and_the_oldest_chat_first(tmp_path: Path) -> None:
    spool = IngressSpool(tmp_path / "s.sqlite")
    spool.store([update(1, chat=7), update(2, chat=8), update(3, chat=7), update(4, chat=9)])
    assert spool.open_chats() == ["chat:7", "chat:8", "chat:9"]
    assert spool.next_for_chat("chat:7").update_id == 1  # type: ignore[union-attr]
    spool.advance(1, DONE)
    assert spool.next_for_chat("chat:7").update_id == 3  # type: ignore[union-attr]
    assert spool.open_chats() == ["chat:8", "chat:7", "chat:9"]
    assert chat_key({"update_id": 1, "callback_query": {"message": {"chat": {"id": 5}}}}) == "chat:5"
    assert chat_key({"update_id": 1, "inline_query": {}}) == "other"


def test_bounded_open_rows_and_pruned_done_rows(tmp_path: Path) -> None:
    spool = IngressSpool(tmp_path / "s.sqlite", max_open=10, keep_done=20)
    spool.store([update(i) for i in range(10)])
    assert not spool.has_room()
    for i in range(10):
        spool.advance(i, DONE)
    assert spool.has_room()
    for base in range(10, 400, 10):
        spool.store([update(i) for i in range(base, base + 10)])
        for i in range(base, base + 10):
            spool.advance(i, DONE)
    spool.prune()
    assert spool.counts()[DONE] == 20
    assert spool.get(399) is not None and spool.get(379) is None


def test_spool_path_is_per_account_and_safe(tmp_path: Path) -> None:
    assert spool_path(tmp_path, "default") == tmp_path / "telegram" / "default.sqlite"
    odd = spool_path(tmp_path, "../x y")
    assert odd.parent == tmp_path / "telegram" and "/" not in odd.name[:-7] and odd != spool_path(tmp_path, "__x_y")


# ---------------------------------------------------------------------------------------------- crash replay

class Crash(Exception):
    pass


class Telegram:
    """Telegram's side of getUpdates: updates are kept until an offset above them confirms them."""

    def __init__(self, n: int) -> None:
        self.queue = [update(100 + i, chat=1 + i % 3) for i in range(n)]

    def get_updates(self, offset: int | None, limit: int = 3) -> list[dict[str, Any]]:
        if offset is not None:
            self.queue = [u for u in self.queue if u["update_id"] >= offset]
        return [dict(u) for u in self.queue[:limit]]


class World:
    def __init__(self, n: int) -> None:
        self.telegram = Telegram(n)
        self.runs: Counter[str] = Counter()  # idempotency key -> executions (the agent dedupes by key)
        self.run_calls: Counter[str] = Counter()
        self.replies: Counter[int] = Counter()
        self.steps = 0
        self.crash_at: int | None = None
        self.lost_reply: int | None = None  # a crash between `replying` and the send (at most once)

    def step(self, what: str, uid: int | None = None) -> None:
        self.steps += 1
        if self.steps == self.crash_at:
            if what == "replying":
                self.lost_reply = uid
            raise Crash(what)


def run_channel(spool: IngressSpool, w: World) -> None:
    """The channel's pipeline in the order channel.py performs it, with a crash point after each step."""
    spool.recover()
    while True:
        batch = w.telegram.get_updates(spool.offset)
        w.step("fetched")
        if batch:
            spool.store(batch)
            w.step("stored")
        for key in spool.open_chats():
            while (row := spool.next_for_chat(key)) is not None:
                if row.state == PENDING:
                    spool.advance(row.update_id, RUNNING)
                    w.step("running")
                run_key = f"telegram:default:{row.update_id}"
                w.run_calls[run_key] += 1
                if run_key not in w.runs:
                    w.runs[run_key] += 1
                w.step("ran")
                spool.advance(row.update_id, REPLYING)
                w.step("replying", row.update_id)
                w.replies[row.update_id] += 1
                w.step("sent")
                spool.advance(row.update_id, DONE)
                w.step("done")
        if not batch and not spool.open_chats():
            return


def test_a_crash_after_any_step_loses_and_repeats_nothing(tmp_path: Path) -> None:
    n = 7
    clean = World(n)
    run_channel(IngressSpool(tmp_path / "clean.sqlite"), clean)
    total = clean.steps
    assert total > 40 and len(clean.runs) == n
    for crash_at in range(1, total + 1):
        w = World(n)
        w.crash_at = crash_at
        path = tmp_path / f"crash-{crash_at}.sqlite"
        spool = IngressSpool(path)
        with pytest.raises(Crash):
            run_channel(spool, w)
        spool.close()  # the process is gone; only what was committed survives
        w.crash_at = None
        spool = IngressSpool(path)
        run_channel(spool, w)
        ids = [100 + i for i in range(n)]
        assert w.telegram.queue == [], crash_at  # every update confirmed
        assert sorted(w.runs) == sorted(f"telegram:default:{i}" for i in ids), crash_at  # none lost
        assert set(w.runs.values()) == {1}, crash_at  # none run twice
        assert all(w.replies[i] == (0 if i == w.lost_reply else 1) for i in ids), (crash_at, w.replies)
        assert spool.counts()[DONE] == n and spool.open_count() == 0
        spool.close()


def test_a_new_bot_starts_from_its_own_offset(tmp_path) -> None:  # noqa: ANN001
    from openclaw.workers.channel.telegram.spool import IngressSpool

    spool = IngressSpool(tmp_path / "s.sqlite")
    assert spool.bind_bot(7000001) is None  # first bind: nothing to drop
    spool.store([{"update_id": 100000005, "message": {"chat": {"id": 1}}}])
    assert spool.offset == 100000006
    assert spool.bind_bot(7000001) is None  # same bot: kept
    assert spool.offset == 100000006
    assert spool.bind_bot(7000002) == 1  # the token changed: the other bot's offset and rows are gone
    assert spool.offset is None
    assert spool.store([{"update_id": 5, "message": {"chat": {"id": 1}}}]) == [5]
    assert spool.store([{"update_id": 2**70}, {"update_id": True}]) == []  # not ids SQLite (or Telegram) has
    spool.close()
