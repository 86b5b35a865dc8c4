"""The Telegram admission table (workers/channel/telegram/policy.py), row by row."""

from __future__ import annotations

from typing import Any

import pytest
from openclaw.workers.channel.telegram.policy import Policy, parse_inbound

BOT = {"id": 7000001, "username": "fake_oc_bot"}
ALICE, BOB = 555001, 555002


def dm(user_id: int = ALICE, text: str | None = "hi", username: str | None = "alice", **msg: Any) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "A"}
    if username:
        sender["username"] = username
    body: dict[str, Any] = {"message_id": 3, "date": 1, "chat": {"id": user_id, "type": "private"}, "from": sender}
    if text is not None:
        body["text"] = text
    body.update(msg)
    return {"update_id": 10, "message": body}


def group(chat_id: int = -100777, user_id: int = ALICE, text: str = "@fake_oc_bot hi", **msg: Any) -> dict[str, Any]:
    u = dm(user_id, text)
    u["message"]["chat"] = {"id": chat_id, "type": "supergroup", "title": "G"}
    u["message"].update(msg)
    return u


def decide(section: dict[str, Any], update: dict[str, Any], paired: bool = False) -> tuple[str, str]:
    asked: list[str] = []

    def is_paired(sender: str) -> bool:
        asked.append(sender)
        return paired

    d = Policy(section).decide(parse_inbound(update), BOT, is_paired)
    if asked:
        assert asked == [str(update["message"]["from"]["id"])]
    return d.action, d.reason


@pytest.mark.parametrize(("section", "update", "paired", "expected"), [
    ({}, dm(), False, ("pairing", "pairing-required")),
    ({}, dm(), True, ("admit", "paired")),
    ({"allowFrom": [ALICE]}, dm(), False, ("admit", "allow-from")),
    ({"allowFrom": ["telegram:555001"]}, dm(), False, ("admit", "allow-from")),
    ({"allowFrom": ["tg:555001"]}, dm(), False, ("admit", "allow-from")),
    ({"allowFrom": ["@ALICE"]}, dm(), False, ("admit", "allow-from")),
    ({"allowFrom": ["alice"]}, dm(username=None), False, ("pairing", "pairing-required")),
    ({"dmPolicy": "allowlist", "allowFrom": [BOB]}, dm(), True, ("drop", "not-allowed")),
    ({"dmPolicy": "allowlist", "allowFrom": [ALICE]}, dm(), False, ("admit", "allow-from")),
    ({"dmPolicy": "open", "allowFrom": ["*"]}, dm(), False, ("admit", "open")),
    ({"dmPolicy": "disabled", "allowFrom": ["*"]}, dm(), True, ("drop", "dm-disabled")),
    ({"allowFrom": ["*"]}, dm(), False, ("admit", "allow-from")),
    ({}, dm(text=None), False, ("drop", "no-text")),
    ({}, dm(text=None, caption="a photo caption"), False, ("pairing", "pairing-required")),
    ({}, dm(text="   "), False, ("drop", "no-text")),
    ({"dmPolicy": "open"}, {"update_id": 1, "edited_message": dm()["message"]}, False, ("drop", "unsupported-update")),
    ({"dmPolicy": "open"}, {"update_id": 1, "callback_query": {"id": "1"}}, False, ("drop", "unsupported-update")),
    ({"dmPolicy": "open"}, dm(**{"from": {"id": 9, "is_bot": True, "first_name": "B"}}), False, ("drop", "from-bot")),
])
def test_direct_messages(section: dict[str, Any], update: dict[str, Any], paired: bool, expected: tuple[str, str]) -> None:
    assert decide(section, update, paired) == expected


GROUPS = {"-100777": {"requireMention": True}}


@pytest.mark.parametrize(("section", "update", "expected"), [
    ({"allowFrom": [ALICE]}, group(), ("drop", "group-not-allowed")),
    ({"allowFrom": [ALICE], "groups": GROUPS}, group(), ("admit", "group")),
    ({"allowFrom": [ALICE], "groups": GROUPS}, group(user_id=BOB), ("drop", "sender-not-allowed")),
    ({"allowFrom": [ALICE], "groups": GROUPS}, group(text="no mention"), ("drop", "no-mention")),
    ({"allowFrom": [ALICE], "groups": GROUPS}, group(text="@fake_oc_bot2 other bot"), ("drop", "no-mention")),
    ({"allowFrom": [ALICE], "groups": GROUPS}, group(text="HEY @Fake_Oc_Bot"), ("admit", "group")),
    ({"allowFrom": [ALICE], "groups": GROUPS},
     group(text="reply", reply_to_message={"message_id": 1, "from": {"id": 7000001, "is_bot": True}}), ("admit", "group")),
    ({"allowFrom": [ALICE], "groups": {"-100777": {"requireMention": False}}}, group(text="x"), ("admit", "group")),
    ({"allowFrom": [ALICE], "groups": {"*": {}}}, group(chat_id=-100999), ("admit", "group")),
    ({"allowFrom": [ALICE], "groups": {"-100777": {"enabled": False}}}, group(), ("drop", "group-not-allowed")),
    ({"allowFrom": [BOB], "groupAllowFrom": [ALICE], "groups": GROUPS}, group(), ("admit", "group")),
    ({"allowFrom": [ALICE], "groupAllowFrom": [BOB], "groups": GROUPS}, group(), ("drop", "sender-not-allowed")),
    ({"groups": {"-100777": {"allowFrom": [ALICE]}}}, group(), ("admit", "group")),
    ({"groupPolicy": "open", "groups": GROUPS}, group(user_id=BOB), ("admit", "group")),
    ({"groupPolicy": "disabled", "allowFrom": [ALICE], "groups": GROUPS}, group(), ("drop", "groups-disabled")),
    ({"allowFrom": ["*"], "groups": GROUPS}, {"update_id": 1, "message": {**group()["message"], "chat": {
        "id": -100777, "type": "channel"}}}, ("drop", "channel-post")),
])
def test_groups(section: dict[str, Any], update: dict[str, Any], expected: tuple[str, str]) -> None:
    assert decide(section, update, paired=True) == expected  # pairing approvals never admit in groups


def test_a_group_decision_names_the_chat_and_asks_for_the_ack_reaction() -> None:
    d = Policy({"allowFrom": [ALICE], "groups": GROUPS}).decide(parse_inbound(group()), BOT, lambda s: False)
    assert (d.peer_kind, d.peer_id, d.ack_reaction) == ("group", "-100777", True)
    d = Policy({"dmPolicy": "open"}).decide(parse_inbound(dm()), BOT, lambda s: False)
    assert (d.peer_kind, d.peer_id, d.ack_reaction) == ("direct", str(ALICE), False)


def test_parse_inbound_reads_what_the_channel_needs() -> None:
    msg = parse_inbound(dm(text=None, caption="cap", message_thread_id=4, **{"from": {
        "id": ALICE, "is_bot": False, "first_name": "Al", "last_name": "Ice", "username": "alice"}}))
    assert msg is not None
    assert (msg.chat_id, msg.sender_id, msg.sender_name, msg.text, msg.thread_id, msg.is_direct) == \
        (ALICE, ALICE, "Al Ice", "cap", 4, True)
    assert parse_inbound({"update_id": 1, "message": {"chat": {"id": "x"}}}) is None
    assert parse_inbound({"update_id": 1}) is None
