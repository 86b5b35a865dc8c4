"""`openclaw message send`: post a message (and/or one media file) through a chat channel of the
running gateway (`send` RPC: the gateway routes it to that channel account's worker).

One idempotency key (a UUID) per invocation: the gateway's send ledger posts it at most once. A file
given with --media travels inside the request (`buffer` base64, `filename`, `contentType`); files over
20 MiB, or over what the gateway's frame limit can carry, are refused before anything is sent.
No fallback path (seed 003): when the gateway cannot deliver, the command fails.

Exit codes: 0 sent (or --dry-run); 1 the gateway refused or could not deliver (INVALID_REQUEST,
NOT_LINKED, UNAVAILABLE, ...) or is not reachable; 2 bad usage (no target, nothing to send, bad file).
"""

from __future__ import annotations

import base64
import mimetypes
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from openclaw.ipc import scopes
from openclaw.ipc.channels_config import label
from openclaw.ipc.errors import ExitCode

from .client import GatewayClient, RpcError, TransportError
from .output import fail, print_json, style
from .target import CredentialsRequired, resolve_target

MAX_MEDIA_BYTES = 20 * 1024 * 1024
FRAME_OVERHEAD = 64 * 1024  # the rest of the request around the base64 media
SEND_TIMEOUT_S = 75.0  # the gateway gives a send up to 60 s (Telegram 429 retry_after)


@dataclass
class SendOptions:
    channel: str | None
    target: str | None
    message: str | None
    media: str | None
    account: str | None
    reply_to: str | None
    thread_id: str | None
    silent: bool
    as_json: bool
    dry_run: bool


@dataclass
class Media:
    path: Path
    data: bytes

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"


def read_media(raw: str) -> Media:
    path = Path(raw).expanduser()
    try:
        size = path.stat().st_size
        if not path.is_file():
            fail(f"--media {raw}: not a regular file", ExitCode.USAGE)
        if size > MAX_MEDIA_BYTES:
            fail(f"--media {raw} is {size} bytes; at most {MAX_MEDIA_BYTES} bytes (20 MiB) can be sent.", ExitCode.USAGE)
        with path.open("rb") as fh:
            data = fh.read(MAX_MEDIA_BYTES + 1)
    except OSError as exc:
        fail(f"--media {raw}: cannot read it ({exc.strerror or exc})", ExitCode.USAGE)
    if len(data) > MAX_MEDIA_BYTES:
        fail(f"--media {raw} grew past {MAX_MEDIA_BYTES} bytes while being read.", ExitCode.USAGE)
    return Media(path, data)


def build_params(opts: SendOptions, media: Media | None, idempotency_key: str) -> dict[str, Any]:
    params: dict[str, Any] = {"to": opts.target, "idempotencyKey": idempotency_key}
    if opts.message:
        params["message"] = opts.message
    if opts.channel:
        params["channel"] = opts.channel
    if opts.account:
        params["accountId"] = opts.account
    if opts.reply_to:
        params["replyToId"] = opts.reply_to
    if opts.thread_id:
        params["threadId"] = opts.thread_id
    if opts.silent:
        params["silent"] = True
    if media is not None:
        params.update(buffer=base64.b64encode(media.data).decode("ascii"), filename=media.path.name,
                      contentType=media.content_type)
    return params


def _check_usage(opts: SendOptions) -> None:
    if not opts.target or not opts.target.strip():
        fail("Pass --target <chat> (e.g. a Telegram chat id, @channelname or telegram:<id>).", ExitCode.USAGE)
    if not (opts.message and opts.message.strip()) and not opts.media:
        fail("Nothing to send: pass --message TEXT and/or --media PATH.", ExitCode.USAGE)
    if opts.account is not None and not opts.account.strip():
        fail("--account must not be blank", ExitCode.USAGE)
    if opts.channel is not None:
        opts.channel = opts.channel.strip().lower() or None


def _error(message: str, as_json: bool, error: dict[str, Any]) -> NoReturn:
    if as_json:
        print_json({"ok": False, "error": error})
    sys.stderr.write(style(message, fg="red", stream=sys.stderr) + "\n")
    sys.stderr.flush()
    raise SystemExit(int(ExitCode.FAILURE))


def send_cmd(opts: SendOptions) -> None:
    _check_usage(opts)
    media = read_media(opts.media) if opts.media else None
    key = str(uuid.uuid4())
    params = build_params(opts, media, key)
    if opts.dry_run:
        shown = {k: v for k, v in params.items() if k != "buffer"}
        if media is not None:
            shown["bytes"] = len(media.data)
        channel = opts.channel or "auto"
        if opts.as_json:
            print_json({"action": "send", "channel": opts.channel, "dryRun": True, "handledBy": "dry-run",
                        "payload": {"ok": True, "dryRun": True, "channel": opts.channel, "action": "send", "params": shown}})
        else:
            print(style(f"[dry-run] would run send via {channel}", fg="dim"))
        return
    try:
        target = resolve_target(None, None, None)
    except CredentialsRequired as exc:
        fail(str(exc), ExitCode.USAGE)
    client = GatewayClient(target.url, token=target.token, password=target.password, tls_fingerprint=target.tls_fingerprint, timeout_s=SEND_TIMEOUT_S,
                           scopes=scopes.least_privilege("send"))
    try:
        hello = client.connect()
        limit = ((hello or {}).get("policy") or {}).get("maxPayload")
        if media is not None and isinstance(limit, int) and len(params["buffer"]) + FRAME_OVERHEAD > limit:
            most = (limit - FRAME_OVERHEAD) * 3 // 4
            _error(f"--media {opts.media} is {len(media.data)} bytes; this gateway takes at most {most} bytes of media "
                   f"in one message (its {limit}-byte frame limit, base64).", opts.as_json,
                   {"type": "cli_error", "message": "media too large for the gateway frame limit"})
        result = client.call("send", params)
    except TransportError as exc:
        msg = exc.message
        if "not reachable" in msg:
            msg += "\nStart it with `openclaw gateway run` (or `openclaw gateway install`); nothing was sent."
        _error(msg, opts.as_json, exc.to_json())
    except RpcError as exc:
        err = exc.error
        hint = " (retryable: try again shortly)" if err.get("retryable") and "retry" not in str(err.get("message")) else ""
        _error(f"Send failed ({err.get('code')}): {err.get('message')}{hint}", opts.as_json, exc.to_json())
    finally:
        client.close()
    result = result if isinstance(result, dict) else {}
    channel = result.get("channel") or opts.channel
    message_id = result.get("messageId")
    if opts.as_json:
        out: dict[str, Any] = {"action": "send", "channel": channel, "dryRun": False, "handledBy": "core"}
        if message_id:
            out["messageId"] = message_id
        out["payload"] = result
        print_json(out)
        return
    name = label(channel)[0] if isinstance(channel, str) and channel else "gateway"
    print(style(f"✅ Sent via {name}." + (f" Message ID: {message_id}" if message_id else ""), fg="green"))
