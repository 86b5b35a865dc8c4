"""`openclaw pairing list | approve`: DM pairing requests of the chat channels, read and written
straight in the state database (`<state>/state/openclaw.sqlite`, ipc/channel_pairing.py) like
upstream's CLI: no gateway needed, and the two CLIs see the same requests.

`approve` admits the sender (allow entry of the request's account); when the config names no
command owner yet (`commands.ownerAllowFrom` empty) it also writes `["<channel>:<sender>"]` there,
as upstream does. `--notify` asks the running gateway to send the approval message to the sender
(`send` through that channel account); a failed notification is reported, not fatal.

Exit codes: 0 done; 1 no pending request with that code, the database or config cannot be
read/written; 2 bad usage (blank --account, conflicting channels, bad channel name).
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import uuid
from typing import Any

from openclaw.ipc import scopes
from openclaw.ipc.channel_pairing import ChannelPairingStore, PairingKeyError
from openclaw.ipc.config_edit import render, write_config
from openclaw.ipc.config_file import ConfigFileError, load_config
from openclaw.ipc.config_schema import validate
from openclaw.ipc.errors import ExitCode
from openclaw.ipc.paths import resolve_paths

from .client import GatewayClient, RpcError, TransportError
from .globals import OPTIONS
from .output import fail, print_json, style
from .target import CredentialsRequired, resolve_target

PAIRING_CHANNELS = ("telegram",)  # channels of this gateway whose workers issue pairing codes
ID_LABELS = {"telegram": "telegramUserId"}
APPROVED_MESSAGE = "✅ OpenClaw access approved. Send a message to start chatting."
NOTIFY_TIMEOUT_S = 20.0
_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_UPSTREAM_KEYS = ("id", "code", "createdAt", "lastSeenAt", "meta")


def parse_channel(raw: str | None) -> str:
    value = (raw or "").strip().lower()
    if not value:
        fail("Missing channel. Use `openclaw pairing list <channel>` (e.g. telegram).", ExitCode.USAGE)
    if not _CHANNEL_NAME.match(value):
        fail(f'Invalid channel "{value}". Use lowercase letters, numbers, "_" or "-", for example "telegram".', ExitCode.USAGE)
    return value


def parse_account(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not raw.strip():
        fail("--account must not be blank", ExitCode.USAGE)
    return raw.strip()


def _store() -> ChannelPairingStore:
    return ChannelPairingStore(resolve_paths(OPTIONS.effective_profile).state_dir)


def _db_fail(store: ChannelPairingStore, exc: Exception) -> None:
    fail(f"Cannot use the pairing database {store.path}: {exc}", ExitCode.FAILURE)


def list_cmd(channel_arg: str | None, channel_opt: str | None, account: str | None, as_json: bool) -> None:
    channel = parse_channel(channel_opt or channel_arg or PAIRING_CHANNELS[0])
    if channel_opt and channel_arg and parse_channel(channel_arg) != channel:
        fail(f'Conflicting pairing channels: "{channel}" and "{parse_channel(channel_arg)}". '
             "Pass the channel either positionally or with --channel.", ExitCode.USAGE)
    account_id = parse_account(account)
    store = _store()
    try:
        requests = store.list_requests(channel, account_id)
    except (sqlite3.Error, OSError, PairingKeyError) as exc:
        _db_fail(store, exc)
    rows = [{k: r[k] for k in _UPSTREAM_KEYS} for r in requests]
    if as_json:
        print_json({"channel": channel, "requests": rows})
        return
    if not rows:
        print(style(f"No pending {channel} pairing requests.", fg="dim"))
        return
    print(f"{style('Pairing requests', bold=True)} {style(f'({len(rows)})', fg='dim')}")
    print(render_table(
        ["Code", ID_LABELS.get(channel, "userId"), "Meta", "Requested"],
        [[r["code"], r["meta"].get("senderId", r["id"]), json.dumps(r["meta"], ensure_ascii=False, separators=(",", ":")),
          r["createdAt"]] for r in rows],
    ))


def approve_cmd(code_or_channel: str, code: str | None, channel_opt: str | None, account: str | None, notify: bool) -> None:
    if channel_opt and code is not None:
        fail("Too many arguments. Use: openclaw pairing approve --channel <channel> <code>", ExitCode.USAGE)
    if channel_opt:
        channel_raw, the_code = channel_opt, code_or_channel
    elif code is not None:
        channel_raw, the_code = code_or_channel, code
    else:
        channel_raw, the_code = PAIRING_CHANNELS[0], code_or_channel
    channel = parse_channel(channel_raw)
    account_id = parse_account(account)
    if not the_code.strip():
        fail("Usage: openclaw pairing approve <channel> <code>", ExitCode.USAGE)
    store = _store()
    try:
        approved = store.approve(channel, the_code, account_id)
    except (sqlite3.Error, OSError, PairingKeyError) as exc:
        _db_fail(store, exc)
    if approved is None:
        fail(f'No pending pairing request found for code "{the_code.strip()}". '
             f"Run `openclaw pairing list --channel {channel}` to list pending requests.", ExitCode.FAILURE)
    sender = approved["meta"].get("senderId") or approved["senderId"]
    print(f"{style('Approved', fg='green')} {channel} sender {sender}.")
    owner = bootstrap_command_owner(channel, approved["senderId"])
    if owner:
        print(f"{style('Command owner configured', fg='green')} {owner} (commands.ownerAllowFrom was empty).")
    if notify:
        problem = notify_sender(channel, approved["accountId"], approved["senderId"])
        if problem:
            print(style(f"Failed to notify requester: {problem}", fg="yellow"))


def owner_entry(channel: str, sender_id: str) -> str:
    head, sep, _ = sender_id.partition(":")
    return sender_id if sep and head.lower() == channel.lower() else f"{channel}:{sender_id}"


def has_command_owner(config: dict[str, Any]) -> bool:
    owners = (config.get("commands") or {}).get("ownerAllowFrom") if isinstance(config.get("commands"), dict) else None
    if not isinstance(owners, list):
        return False
    return any(str(o).strip() and str(o).strip() != "*" and not str(o).strip().endswith(":*") for o in owners if o is not None)


def bootstrap_command_owner(channel: str, sender_id: str) -> str | None:
    """Upstream's first-approval side effect: `commands.ownerAllowFrom = ["<channel>:<id>"]` when no owner
    is configured. Returns the entry written, None when an owner exists or the config cannot take it."""
    path = resolve_paths(OPTIONS.effective_profile).config_path
    try:
        loaded = load_config(path)
    except ConfigFileError as exc:
        sys.stderr.write(f"Not configuring a command owner: the config cannot be read ({exc}).\n")
        return None
    data = loaded.data if loaded.exists else {}
    if has_command_owner(data):
        return None
    entry = owner_entry(channel, sender_id)
    commands = data.get("commands") if isinstance(data.get("commands"), dict) else {}
    new = {**data, "commands": {**commands, "ownerAllowFrom": [entry]}}
    errors, _ = validate(new)
    if errors:
        sys.stderr.write(f"Not configuring a command owner: the config would be invalid ({errors[0]['path']}: {errors[0]['message']}).\n")
        return None
    try:
        write_config(path, render(new))
    except OSError as exc:
        sys.stderr.write(f"Not configuring a command owner: cannot write {path}: {exc.strerror or exc}.\n")
        return None
    return entry


def notify_sender(channel: str, account_id: str, sender_id: str) -> str | None:
    """Send the approval message through the running gateway; the reason when that failed."""
    try:
        target = resolve_target(None, None, None)
    except CredentialsRequired as exc:
        return str(exc)
    client = GatewayClient(target.url, token=target.token, password=target.password, tls_fingerprint=target.tls_fingerprint, timeout_s=NOTIFY_TIMEOUT_S,
                           scopes=scopes.least_privilege("send"))
    params = {"to": sender_id, "message": APPROVED_MESSAGE, "channel": channel, "accountId": account_id,
              "idempotencyKey": f"pairing-approved:{channel}:{account_id}:{sender_id}:{uuid.uuid4()}"}
    try:
        client.connect()
        client.call("send", params)
    except TransportError as exc:
        return f"{exc.message} (the gateway must be running to notify)"
    except RpcError as exc:
        return f"{exc.error.get('code')}: {exc.error.get('message')}"
    finally:
        client.close()
    return None


def render_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(values: list[str]) -> str:
        return "│ " + " │ ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " │"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    return "\n".join([rule("┌", "┬", "┐"), line(head), rule("├", "┼", "┤"), *(line(r) for r in rows), rule("└", "┴", "┘")])
