"""`openclaw logs`: the gateway's log through `logs.tail`, or its file when the gateway is down.

Without `--url` (or OPENCLAW_GATEWAY_URL) the gateway is this machine's: if it cannot be reached,
the command reads the same log stream from its file (the running gateway's instance record says
which, else `logging.file`, else the profile's default file) and says so on stderr. The cursor
means the same in both (ipc/log_tail.py), so `--follow` goes on from the file when the gateway
stops, and keeps its place when the file rotates.

The "truncated" notice is printed only when the truncation came from a default the user did not
set: upstream prints it after every truncated page, even for an explicit `--limit 3`, where it is
only noise (the user asked for three lines).
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from openclaw.ipc import log_files, scopes
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import ExitCode
from openclaw.ipc.instance_registry import read_record
from openclaw.ipc.log_tail import MAX_BYTES, MAX_LIMIT, read_page

from . import logs_render as render
from .client import GatewayClient, RpcError, TransportError
from .output import use_color
from .rpc import target_or_exit
from .target import Target

DEFAULT_LIMIT = 200
DEFAULT_MAX_BYTES = 250_000
FOLLOW_LIMIT = MAX_LIMIT  # later pages of --follow: everything new, up to the server's bound
RECONNECTS = 8
LOCAL_SOURCES = ("cli --url", "env OPENCLAW_GATEWAY_URL")


@dataclass
class LogsOptions:
    url: str | None = None
    token: str | None = None
    password: str | None = None
    port: int | None = None
    timeout_ms: int = 30000
    as_json: bool = False
    limit: int | None = None  # None: not given (the default applies)
    max_bytes: int | None = None
    follow: bool = False
    interval_ms: int = 1000
    plain: bool = False
    no_color: bool = False
    utc: bool = False


def _usage(message: str) -> NoReturn:
    sys.stderr.write(f"openclaw logs: {message}\n")
    raise SystemExit(int(ExitCode.USAGE))


def _check(opts: LogsOptions) -> None:
    if opts.limit is not None and not 1 <= opts.limit <= MAX_LIMIT:
        _usage(f"--limit must be between 1 and {MAX_LIMIT}, got {opts.limit}")
    if opts.max_bytes is not None and not 1 <= opts.max_bytes <= MAX_BYTES:
        _usage(f"--max-bytes must be between 1 and {MAX_BYTES}, got {opts.max_bytes}")
    if opts.interval_ms <= 0:
        _usage(f"--interval must be a positive number of milliseconds, got {opts.interval_ms}")
    if opts.timeout_ms <= 0:
        _usage(f"--timeout must be a positive number of milliseconds, got {opts.timeout_ms}")
    if opts.port is not None and not 1 <= opts.port <= 65535:
        _usage(f"--port must be between 1 and 65535, got {opts.port}")


# --------------------------------------------------------------------------- sources


class GatewaySource:
    """Pages from `logs.tail` over one connection (reconnected when it drops)."""

    local_fallback = False

    def __init__(self, target: Target, timeout_ms: int) -> None:
        self.target = target
        self.timeout_ms = timeout_ms
        self.client: GatewayClient | None = None

    def page(self, cursor: int | None, limit: int, max_bytes: int) -> dict[str, Any]:
        if self.client is None:
            client = GatewayClient(
                self.target.url, token=self.target.token, password=self.target.password,
                timeout_s=self.timeout_ms / 1000, client_id="gateway-client", mode="backend",
                scopes=[scopes.READ], display_name="gateway:logs.tail", tls_fingerprint=self.target.tls_fingerprint,
            )
            try:
                client.connect()
            except BaseException:
                client.close()
                raise
            self.client = client
        self.client.deadline = time.monotonic() + self.timeout_ms / 1000
        params: dict[str, Any] = {"limit": limit, "maxBytes": max_bytes}
        if cursor is not None:
            params = {"cursor": cursor, **params}
        try:
            res = self.client.call("logs.tail", params)
        except TransportError:
            self.close()
            raise
        if not isinstance(res, dict):
            raise RpcError({"code": "UNEXPECTED", "message": "Unexpected logs.tail response"})
        return res

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class FileSource:
    """Pages read from the log stream's files directly."""

    local_fallback = True

    def __init__(self, path: Path, rolling: bool) -> None:
        self.path, self.rolling = path, rolling

    def page(self, cursor: int | None, limit: int, max_bytes: int) -> dict[str, Any]:
        path = log_files.active_file(self.path, self.rolling)
        try:
            return read_page(path, self.rolling, cursor, limit, max_bytes)
        except OSError as exc:
            sys.stderr.write(f"openclaw logs: cannot read the log file {path}: {exc.strerror or exc}\n")
            raise SystemExit(int(ExitCode.FAILURE)) from None

    def close(self) -> None:
        pass


def local_log_file(target: Target) -> tuple[Path, bool]:
    """The log this machine's gateway writes: its instance record's (also left by a gateway that
    was killed), else `logging.file`, else the profile's default file. (path, rolling)"""
    rec = read_record(target.paths.instance_file)
    recorded = rec.log_file if rec is not None else None
    return log_files.current_log_file(recorded, config_value(target.config, "logging.file"), target.paths.profile)


# --------------------------------------------------------------------------- output


class Printer:
    def __init__(self, opts: LogsOptions) -> None:
        self.opts = opts
        self.pretty = not opts.as_json and _isatty(sys.stdout) and not opts.plain
        self.colour = not opts.plain and not opts.no_color and use_color(sys.stdout)
        self.err_colour = not opts.plain and not opts.no_color and use_color(sys.stderr)
        self.source_id: tuple[Any, bool] | None = None

    def out(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def notice(self, message: str, colour: str | None = None) -> None:
        """Always on stderr (a JSON line there with --json), never in the JSON stream."""
        if self.opts.as_json:
            text = render.dumps({"type": "notice", "message": message})
        elif colour and self.err_colour:
            text = f"\x1b[{colour}m{message}\x1b[0m"
        else:
            text = message
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def page(self, page: dict[str, Any], fallback: bool, limit: int, limit_given: bool, max_bytes_given: bool) -> None:
        ident = (page.get("file"), fallback)
        new_source = ident != self.source_id
        self.source_id = ident
        if new_source and fallback:
            self.notice(render.FALLBACK_NOTICE, "33")
        lines = page.get("lines") or []
        if self.opts.as_json:
            if new_source:
                self.out(render.dumps(render.meta_record(page, fallback)))
            for line in lines:
                self.out(render.dumps(render.json_entry(line)))
        else:
            if new_source and page.get("file"):
                label = "\x1b[2mLog file:\x1b[0m" if self.pretty and self.colour else "Log file:"
                self.out(f"{label} {page['file']}")
            for line in lines:
                self.out(render.human_line(line, pretty=self.pretty, colour=self.colour, utc=self.opts.utc))
        if page.get("truncated"):
            by_limit = len(lines) >= limit
            if not ((by_limit and limit_given) or (not by_limit and max_bytes_given)):
                if self.opts.as_json:
                    self.out(render.dumps({"type": "notice", "message": render.TRUNCATED_NOTICE}))
                else:
                    self.notice(render.TRUNCATED_NOTICE)
        if page.get("reset"):
            if self.opts.as_json:
                self.out(render.dumps({"type": "notice", "message": render.reset_notice(page)}))
            else:
                self.notice(render.reset_notice(page))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _error(printer: Printer, exc: TransportError | RpcError, target: Target) -> NoReturn:
    if isinstance(exc, TransportError):
        message = exc.message
        details: dict[str, Any] = {"url": target.url, "urlSource": target.url_source,
                                   "message": f"Gateway target: {target.url}\nSource: {target.url_source}"}
    else:
        err = exc.error
        code = err.get("details", {}).get("code") if isinstance(err.get("details"), dict) else None
        message = f"Gateway error {err.get('code')}{f' [{code}]' if code else ''}: {err.get('message')}"
        details = {"url": target.url, "urlSource": target.url_source, "error": exc.to_json()}
    hint = "Hint: run `openclaw doctor`."
    if printer.opts.as_json:
        sys.stderr.write(render.dumps({"type": "error", "message": message, "error": message, "details": details, "hint": hint}) + "\n")
    else:
        paint = (lambda t: f"\x1b[31m{t}\x1b[0m") if printer.err_colour else (lambda t: t)
        sys.stderr.write(f"{paint(message)}\n{details.get('message', '')}\n{hint}\n".replace("\n\n", "\n"))
    sys.stderr.flush()
    raise SystemExit(int(ExitCode.FAILURE))


# --------------------------------------------------------------------------- the command


def logs_cmd(opts: LogsOptions) -> None:
    _check(opts)
    target = target_or_exit(opts.url, opts.token, opts.password, opts.as_json)
    if opts.port is not None and not opts.url:
        target.url, target.url_source = f"ws://127.0.0.1:{opts.port}", "cli --port"
    printer = Printer(opts)
    try:
        _run(opts, target, printer)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        try:
            sys.stderr.write("openclaw logs: output stdout closed (EPIPE). Stopping tail.\n")
        except OSError:
            pass
        raise SystemExit(0) from None


def _run(opts: LogsOptions, target: Target, printer: Printer) -> None:
    limit = opts.limit or DEFAULT_LIMIT
    max_bytes = opts.max_bytes or DEFAULT_MAX_BYTES
    local = target.url_source not in LOCAL_SOURCES
    source: GatewaySource | FileSource = GatewaySource(target, opts.timeout_ms)
    cursor: int | None = None
    first = True
    failures = 0
    try:
        while True:
            try:
                page = source.page(cursor, limit if first else max(limit, FOLLOW_LIMIT), max_bytes)
            except TransportError as exc:
                if local and isinstance(source, GatewaySource):
                    path, rolling = local_log_file(target)
                    source.close()
                    source = FileSource(path, rolling)
                    continue
                if not opts.follow or failures >= RECONNECTS:
                    _error(printer, exc, target)
                failures += 1
                delay = min(30.0, 2.0 ** (failures - 1)) * random.uniform(0.8, 1.2)
                printer.notice(f"[logs] gateway disconnected, reconnecting in {round(delay)}s...", "33")
                time.sleep(delay)
                continue
            except RpcError as exc:
                _error(printer, exc, target)
            if failures:
                printer.notice("[logs] gateway reconnected", "2")
                failures = 0
            printer.page(page, source.local_fallback, limit if first else FOLLOW_LIMIT,
                         opts.limit is not None, opts.max_bytes is not None)
            if first and source.local_fallback and not page.get("size") and not page.get("lines"):
                printer.notice(f"No log file yet at {page.get('file')}.")
            first = False
            if isinstance(page.get("cursor"), int):
                cursor = page["cursor"]
            if not opts.follow:
                return
            time.sleep(opts.interval_ms / 1000)
    finally:
        source.close()
