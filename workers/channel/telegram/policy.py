"""Who may talk to the bot: an inbound Telegram update -> admit (run it) | pairing (reply with a code) | drop.

Direct messages, by `dmPolicy` (spec §6.4):

    dmPolicy    sender in allowFrom   approved by pairing   ->  action    reason
    disabled    any                   any                       drop      dm-disabled
    open        any                   any                       admit     open
    allowlist   yes                   any                       admit     allow-from
    allowlist   no                    any                       drop      not-allowed
    pairing     yes                   any                       admit     allow-from
    pairing     no                    yes                       admit     paired
    pairing     no                    no                        pairing   pairing-required

Groups (`groupPolicy`, default allowlist; `groups` names the chats, "*" any; pairing approvals never count):

    groupPolicy disabled                                        -> drop   groups-disabled
    chat not in groups (nor "*"), or its entry enabled:false    -> drop   group-not-allowed
    allowlist and sender not in groupAllowFrom (else allowFrom) -> drop   sender-not-allowed
    requireMention (default true) and the bot is not mentioned  -> drop   no-mention
    otherwise                                                   -> admit  group  (with the 👀 ack reaction)

Before either: updates that are not a message, messages from bots, channel posts and messages without text
or caption are dropped (unsupported-update, from-bot, channel-post, no-text).

`allowFrom` entries: numeric ids (`555001`, `"telegram:555001"`, `"tg:555001"`), usernames (`"@alice"`,
`"alice"`, case-insensitive), or `"*"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Decision", "Inbound", "Policy", "parse_inbound"]

ADMIT, PAIRING, DROP = "admit", "pairing", "drop"
_PREFIX = re.compile(r"^(telegram|tg):", re.IGNORECASE)
_DM_POLICIES = ("pairing", "allowlist", "open", "disabled")
_GROUP_POLICIES = ("allowlist", "open", "disabled")


@dataclass(frozen=True)
class Inbound:
    """The parts of a Telegram message the channel acts on."""

    update_id: int
    chat_id: int
    chat_type: str  # private | group | supergroup | channel
    message_id: int
    sender_id: int | None
    sender_username: str | None
    sender_name: str | None
    sender_is_bot: bool
    text: str  # text or caption ("" when neither)
    date: int | None
    thread_id: int | None
    message: dict[str, Any]

    @property
    def is_direct(self) -> bool:
        return self.chat_type == "private"


def parse_inbound(update: Mapping[str, Any]) -> Inbound | None:
    """The `message` of an update, or None when it has none (edits, callbacks, joins … are not handled)."""
    msg = update.get("message")
    if not isinstance(msg, dict) or not isinstance(msg.get("chat"), dict):
        return None
    chat = msg["chat"]
    sender = msg.get("from") if isinstance(msg.get("from"), dict) else {}
    try:
        chat_id = int(chat.get("id"))
    except (TypeError, ValueError):
        return None
    text = msg.get("text") if isinstance(msg.get("text"), str) else msg.get("caption")
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if isinstance(sender.get(k), str)) or None
    sender_id = sender.get("id")
    return Inbound(
        update_id=int(update.get("update_id", 0)),
        chat_id=chat_id,
        chat_type=str(chat.get("type") or ""),
        message_id=int(msg.get("message_id") or 0),
        sender_id=int(sender_id) if isinstance(sender_id, int) and not isinstance(sender_id, bool) else None,
        sender_username=sender.get("username") if isinstance(sender.get("username"), str) else None,
        sender_name=name,
        sender_is_bot=sender.get("is_bot") is True,
        text=text if isinstance(text, str) else "",
        date=msg.get("date") if isinstance(msg.get("date"), int) else None,
        thread_id=msg.get("message_thread_id") if isinstance(msg.get("message_thread_id"), int) else None,
        message=msg,
    )


@dataclass(frozen=True)
class Decision:
    action: str  # admit | pairing | drop
    reason: str
    peer_kind: str = "direct"  # direct | group (the session key's kind)
    peer_id: str = ""  # the sender (direct) or the chat (group)
    ack_reaction: bool = False


@dataclass(frozen=True)
class _AllowList:
    any: bool
    ids: frozenset[str]
    usernames: frozenset[str]

    @classmethod
    def of(cls, entries: Iterable[Any] | None) -> _AllowList:
        ids: set[str] = set()
        names: set[str] = set()
        wildcard = False
        for raw in entries or ():
            entry = _PREFIX.sub("", str(raw).strip())
            if not entry:
                continue
            if entry == "*":
                wildcard = True
            elif entry.lstrip("-").isdigit():
                ids.add(str(int(entry)))
            else:
                names.add(entry.lstrip("@").lower())
        return cls(wildcard, frozenset(ids), frozenset(names))

    @property
    def empty(self) -> bool:
        return not (self.any or self.ids or self.usernames)

    def admits(self, sender_id: int | None, username: str | None) -> bool:
        if self.any:
            return True
        if sender_id is not None and str(sender_id) in self.ids:
            return True
        return bool(username) and username.lower() in self.usernames  # type: ignore[union-attr]


class Policy:
    """The decision table above for one account's effective section."""

    def __init__(self, section: Mapping[str, Any]) -> None:
        dm = section.get("dmPolicy") or "pairing"
        group = section.get("groupPolicy") or "allowlist"
        self.dm_policy = dm if dm in _DM_POLICIES else "pairing"
        self.group_policy = group if group in _GROUP_POLICIES else "allowlist"
        self.allow_from = _AllowList.of(section.get("allowFrom"))
        gaf = section.get("groupAllowFrom")
        self.group_allow_from = _AllowList.of(gaf) if gaf else self.allow_from
        groups = section.get("groups")
        self.groups: dict[str, Mapping[str, Any]] = (
            {str(k): (v if isinstance(v, Mapping) else {}) for k, v in groups.items()} if isinstance(groups, Mapping)
            else {})

    def decide(self, msg: Inbound | None, bot: Mapping[str, Any] | None, is_paired: Callable[[str], bool]) -> Decision:
        """`bot`: the getMe result (id, username) for mention checks; `is_paired(sender_id)` asks the pairing
        store (called only when it matters)."""
        if msg is None:
            return Decision(DROP, "unsupported-update")
        if msg.chat_type == "channel":
            return Decision(DROP, "channel-post")
        if msg.sender_id is None or msg.sender_is_bot:
            return Decision(DROP, "from-bot")
        if not msg.text.strip():
            return Decision(DROP, "no-text")
        if msg.is_direct:
            return self._direct(msg, is_paired)
        return self._group(msg, bot or {})

    def _direct(self, msg: Inbound, is_paired: Callable[[str], bool]) -> Decision:
        peer = str(msg.sender_id)
        if self.dm_policy == "disabled":
            return Decision(DROP, "dm-disabled", "direct", peer)
        if self.dm_policy == "open":
            return Decision(ADMIT, "open", "direct", peer)
        if self.allow_from.admits(msg.sender_id, msg.sender_username):
            return Decision(ADMIT, "allow-from", "direct", peer)
        if self.dm_policy == "allowlist":
            return Decision(DROP, "not-allowed", "direct", peer)
        if is_paired(peer):
            return Decision(ADMIT, "paired", "direct", peer)
        return Decision(PAIRING, "pairing-required", "direct", peer)

    def _group(self, msg: Inbound, bot: Mapping[str, Any]) -> Decision:
        peer = str(msg.chat_id)
        if self.group_policy == "disabled":
            return Decision(DROP, "groups-disabled", "group", peer)
        entry = self.groups.get(peer, self.groups.get("*"))
        if entry is None or entry.get("enabled") is False:
            return Decision(DROP, "group-not-allowed", "group", peer)
        own = entry.get("allowFrom")
        senders = _AllowList.of(own) if own else self.group_allow_from
        if self.group_policy == "allowlist" and not senders.admits(msg.sender_id, msg.sender_username):
            return Decision(DROP, "sender-not-allowed", "group", peer)
        if entry.get("requireMention", True) is not False and not mentions_bot(msg, bot):
            return Decision(DROP, "no-mention", "group", peer)
        return Decision(ADMIT, "group", "group", peer, ack_reaction=True)


def mentions_bot(msg: Inbound, bot: Mapping[str, Any]) -> bool:
    """@username in the text (or a mention / text_mention entity naming the bot), a /command@username, or
    a reply to one of the bot's messages."""
    username = str(bot.get("username") or "").lower()
    bot_id = bot.get("id")
    reply = msg.message.get("reply_to_message")
    if isinstance(reply, dict) and isinstance(reply.get("from"), dict) and bot_id is not None \
            and reply["from"].get("id") == bot_id:
        return True
    for ent in msg.message.get("entities") or msg.message.get("caption_entities") or []:
        if isinstance(ent, dict) and ent.get("type") == "text_mention" and isinstance(ent.get("user"), dict) \
                and ent["user"].get("id") == bot_id and bot_id is not None:
            return True
    return bool(username) and re.search(rf"@{re.escape(username)}(?![A-Za-z0-9_])", msg.text, re.IGNORECASE) is not None
