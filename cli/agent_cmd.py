"""`openclaw agent --message TEXT`: one agent turn through the gateway (upstream's output and exit codes).

Sends `agent` {message, agentId|sessionKey, deliver:false, timeout, idempotencyKey}, skips the
`accepted` answer (keeping its runId/sessionKey for an abort), and waits for the final answer.
On a TTY (and not --json) the assistant text streams as it arrives (`agent` assistant deltas of
this run). Ctrl-C / SIGTERM send `chat.abort {sessionKey, runId}` and exit 130 / 143.

Exit codes: 0 status ok; 1 a run error, any other status, the gateway unreachable or the wait
ran out; 2 bad usage.
"""

from __future__ import annotations

import json
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

from openclaw.ipc.errors import ExitCode

from .client import GatewayClient, RpcError, TransportError
from .output import fail, print_json
from .target import CredentialsRequired, resolve_target

MAX_MESSAGE_FILE = 4 * 1024 * 1024
DEFAULT_TIMEOUT_S = 600
NO_LIMIT_WAIT_S = 7 * 24 * 3600
ABORT_WAIT_S = 5.0
SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _cli_error(message: str, as_json: bool, run_id: str | None = None, *, origin: str | None = None) -> None:
    if as_json:
        out: dict[str, Any] = {"ok": False}
        if run_id:
            out["runId"] = run_id
        if origin:
            out["origin"] = origin
        out["error"] = {"type": "cli_error", "message": message}
        print_json(out)
    sys.stderr.write(message + "\n" if not as_json else f"[openclaw] The CLI command failed.\n[openclaw] Reason: {message}\n")
    sys.stderr.flush()
    raise SystemExit(int(ExitCode.FAILURE))


def _read_message(message: str | None, message_file: str | None) -> str:
    if message is not None and message_file is not None:
        fail("Pass either --message or --message-file, not both.", ExitCode.USAGE)
    if message_file is not None:
        path = Path(message_file)
        try:
            if path.stat().st_size > MAX_MESSAGE_FILE:
                fail(f"--message-file {path} is larger than 4 MiB.", ExitCode.USAGE)
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"Cannot read --message-file {path}: {exc}", ExitCode.USAGE)
    if message is None or not message.strip():
        fail("Pass --message TEXT (or --message-file PATH).", ExitCode.USAGE)
    return message


def build_params(message: str, *, agent: str | None, session_key: str | None, session_id: str | None,
                 model: str | None, thinking: str | None, timeout_s: int, run_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {"message": message}
    if agent or not (session_key or session_id):
        params["agentId"] = agent or "main"
    if session_key:
        params["sessionKey"] = session_key
    if session_id:
        params["sessionId"] = session_id
    if model:
        params["model"] = model
    if thinking:
        params["thinking"] = thinking
    params.update(deliver=False, timeout=timeout_s, idempotencyKey=run_id)
    return params


def agent_cmd(
    message: str | None, message_file: str | None, agent: str | None, session_key: str | None, session_id: str | None,
    model: str | None, thinking: str | None, timeout_s: int | None, as_json: bool,
    url: str | None, token: str | None, password: str | None,
) -> None:
    text = _read_message(message, message_file)
    if text.strip().startswith("/compact"):
        _cli_error("/compact is not supported through `openclaw agent`; use `openclaw sessions compact`.", as_json)
    timeout = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
    if timeout < 0:
        fail("--timeout must be 0 (no limit) or a positive number of seconds", ExitCode.USAGE)
    wait_s = NO_LIMIT_WAIT_S if timeout == 0 else max(10, timeout + 30)
    try:
        target = resolve_target(url, token, password)
    except CredentialsRequired as exc:
        _cli_error(str(exc), as_json)
    run_id = str(uuid.uuid4())
    params = build_params(text, agent=agent, session_key=session_key, session_id=session_id, model=model,
                          thinking=thinking, timeout_s=timeout, run_id=run_id)
    admin = text.strip().startswith(("/new", "/reset"))
    scopes = ["operator.admin"] if admin else ["operator.read", "operator.write"]
    stream = sys.stdout.isatty() and not as_json
    client = GatewayClient(target.url, token=target.token, password=target.password, tls_fingerprint=target.tls_fingerprint, timeout_s=wait_s, scopes=scopes)
    accepted: dict[str, Any] = {}
    previous = {s: signal.getsignal(s) for s in SIGNAL_EXIT}

    def on_signal(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    for s in SIGNAL_EXIT:
        signal.signal(s, on_signal)
    streamed = False
    try:
        try:
            client.connect()
            final, streamed = _run(client, params, run_id, accepted, stream)
        except Interrupted as sig:
            _abort(client, run_id, accepted, as_json)
            raise SystemExit(SIGNAL_EXIT[signal.Signals(sig.signum)]) from None
        except TransportError as exc:
            msg = exc.message
            if accepted:
                what = "timed out" if exc.kind == "timeout" else "connection closed"
                msg = (f"Gateway agent call {what}; the Gateway may still be running this turn (accepted run {run_id}; "
                       f"use --timeout <seconds> to extend the CLI wait). Check `openclaw logs --follow`.")
            elif "not reachable" in msg:
                msg += "\nStart it with `openclaw gateway run` (or `openclaw gateway install`)."
            _cli_error(msg, as_json)
        except RpcError as exc:
            _cli_error(str(exc.error.get("message") or "agent run failed"), as_json, run_id if accepted or not exc.during_connect
                       else None, origin="gateway")
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        client.close()
    _print_final(final, as_json, streamed)


def _run(client: GatewayClient, params: dict[str, Any], run_id: str, accepted: dict[str, Any],
         stream: bool) -> tuple[dict[str, Any], bool]:
    req_id = client._next_id()
    client._send({"type": "req", "id": req_id, "method": "agent", "params": params})
    streamed = False
    while True:
        frame = client._recv_until(lambda f: (f.get("type") == "res" and f.get("id") == req_id) or
                                   (stream and f.get("type") == "event" and f.get("event") == "agent"))
        if frame.get("type") == "event":
            p = frame.get("payload") or {}
            if p.get("runId") == run_id and p.get("stream") == "assistant":
                data = p.get("data") or {}
                delta = data.get("delta")
                if isinstance(delta, str) and delta:
                    if streamed and delta == data.get("text"):
                        sys.stdout.write("\n\n")  # a new assistant message (after a tool call)
                    sys.stdout.write(delta)
                    sys.stdout.flush()
                    streamed = True
            continue
        payload = frame.get("payload")
        if frame.get("ok") and isinstance(payload, dict) and payload.get("status") == "accepted":
            accepted.update(payload)
            continue
        if not frame.get("ok"):
            raise RpcError(frame.get("error") or {"code": "UNAVAILABLE", "message": "agent run failed"})
        return payload if isinstance(payload, dict) else {}, streamed


def _abort(client: GatewayClient, run_id: str, accepted: dict[str, Any], as_json: bool) -> None:
    """Ask the gateway to stop this run (bounded); the exit code is the signal's either way."""
    if not accepted or client.ws is None:
        return
    params: dict[str, Any] = {"sessionKey": accepted.get("sessionKey"), "runId": run_id}
    if accepted.get("agentId"):
        params["agentId"] = accepted["agentId"]
    req_id = client._next_id()
    try:
        client.deadline = min(client.deadline, __import__("time").monotonic() + ABORT_WAIT_S)
        client._send({"type": "req", "id": req_id, "method": "chat.abort", "params": params})
        res = client._recv_until(lambda f: f.get("type") == "res" and f.get("id") == req_id)
        ok = bool(res.get("ok")) and (res.get("payload") or {}).get("aborted") is True
    except (TransportError, Interrupted):
        ok = False
    sys.stderr.write(("\nAborted run " if ok else "\nCould not confirm the abort of run ") + run_id + "\n")
    sys.stderr.flush()


def _print_final(payload: dict[str, Any], as_json: bool, streamed: bool) -> None:
    status = payload.get("status")
    if status == "in_flight":
        sys.stderr.write(f"Agent run {payload.get('runId')} is already in flight; not starting a duplicate run.\n")
    if as_json:
        result = payload.get("result")
        if isinstance(result, dict) and "deliveryStatus" in result:
            payload = {**payload, "deliveryStatus": result["deliveryStatus"]}
        sys.stdout.write(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    else:
        result = payload.get("result") if isinstance(payload.get("result"), dict) else {}
        payloads = [p for p in (result.get("payloads") or []) if isinstance(p, dict)]
        if streamed:
            sys.stdout.write("\n")
        else:
            for p in payloads:
                if isinstance(p.get("text"), str):
                    sys.stdout.write(p["text"].rstrip() + "\n")
                if p.get("mediaUrl"):
                    sys.stdout.write(f"Attachment: {p['mediaUrl']}\n")
            if not payloads and status not in ("ok", None) and status != "in_flight":
                sys.stdout.write(str(payload.get("summary") or "No reply from agent.") + "\n")
    sys.stdout.flush()
    if status in ("ok", "completed", None):
        return
    raise SystemExit(int(ExitCode.FAILURE))
