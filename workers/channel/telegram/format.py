"""Reply text -> Telegram HTML messages: Markdown (or Telegram HTML) rendered and cut into chunks.

Text is first parsed into *runs* (a piece of text and the tags around it), then cut into chunks of at most
`limit` UTF-16 units of rendered HTML, preferring a paragraph break, then a line break, then a space, and
only then a hard cut; each chunk is rendered on its own, so tags are closed at the end of a chunk and
reopened at the start of the next: every chunk is valid Telegram HTML, no entity (`&amp;`) is ever cut.

Markdown understood (what chat models write): fenced code blocks (```lang), `inline code`, **bold** /
__bold__, *italic* / _italic_ (not inside words: snake_case stays), ~~strike~~, [text](url) for http(s),
tg and mailto links, `# headings` (bold), `> quotes` (blockquote), `- item` / `* item` (•). Everything else
is text, escaped (& < >).
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["Chunk", "Run", "chunk_runs", "html_to_runs", "markdown_to_runs", "render", "to_chunks", "utf16_len"]

TELEGRAM_TEXT_LIMIT = 4096
DEFAULT_CHUNK_LIMIT = 4000
MIN_CHUNK_LIMIT = 64
MAX_SOURCE_CHARS = 200_000  # longer replies are cut (and say so) before formatting
MAX_NESTING = 8

Tag = tuple[str, str]  # (name, rendered attributes incl. the leading space, or "")
BOLD: Tag = ("b", "")
ITALIC: Tag = ("i", "")
STRIKE: Tag = ("s", "")
CODE: Tag = ("code", "")
PRE: Tag = ("pre", "")
QUOTE: Tag = ("blockquote", "")


@dataclass(frozen=True)
class Run:
    text: str
    tags: tuple[Tag, ...] = ()  # outermost first


@dataclass(frozen=True)
class Chunk:
    html: str  # what goes in sendMessage `text` with parse_mode HTML
    text: str  # the same chunk as plain text (the retry when Telegram cannot parse the HTML)


def utf16_len(text: str) -> int:
    """Length as Telegram (and JavaScript) count it."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


# ---------------------------------------------------------------------------------------------- inline Markdown

_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)")
_SAFE_URL = re.compile(r"^(https?://|tg://|mailto:)", re.IGNORECASE)
_PUNCT = set("\\`*_{}[]()#+-.!~|>")


class _Inline:
    """One pass over a span of text; emphasis delimiters are matched left to right, nesting recursively."""

    def __init__(self, text: str, tags: tuple[Tag, ...], depth: int) -> None:
        self.text = text
        self.tags = tags
        self.depth = depth
        self.out: list[Run] = []
        self.buf: list[str] = []
        self.no_closer: dict[str, int] = {}  # delimiter -> position from which no closer exists

    def flush(self) -> None:
        if self.buf:
            self.out.append(Run("".join(self.buf), self.tags))
            self.buf.clear()

    def closer(self, delim: str, start: int) -> int:
        """Index of the closing `delim` at/after `start`: not preceded by a space; for `_`, not followed by
        a word character; a single `*`/`_` is not half of a double one. -1 when there is none."""
        if start >= self.no_closer.get(delim, len(self.text) + 1):
            return -1
        text = self.text
        j = text.find(delim, start)
        while j != -1:
            after = j + len(delim)
            ok = j > 0 and not text[j - 1].isspace()
            if ok and delim in ("_", "__") and after < len(text) and (text[after].isalnum() or text[after] == "_"):
                ok = False
            if ok and len(delim) == 1 and (text[after:after + 1] == delim or text[j - 1] == delim):
                ok = False
            if ok:
                while len(delim) == 2 and text[j + 2:j + 3] == delim[0]:  # "***": the last two close
                    j += 1
                return j
            j = text.find(delim, j + 1)
        self.no_closer[delim] = start
        return -1

    def parse(self) -> list[Run]:
        text = self.text
        n = len(text)
        i = 0
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n and text[i + 1] in _PUNCT:
                self.buf.append(text[i + 1])
                i += 2
                continue
            if ch == "`":
                j = i
                while j < n and text[j] == "`":
                    j += 1
                ticks = text[i:j]
                end = text.find(ticks, i + len(ticks))
                if end != -1 and text[i + len(ticks):end].strip():
                    self.flush()
                    code = text[i + len(ticks):end]
                    if len(ticks) > 1:
                        code = code.strip()
                    self.out.append(Run(code, (*self.tags, CODE)))
                    i = end + len(ticks)
                    continue
                self.buf.append(ticks)
                i += len(ticks)
                continue
            if ch == "[":
                m = _LINK.match(text, i)
                if m and _SAFE_URL.match(m.group(2)) and self.depth < MAX_NESTING:
                    self.flush()
                    tag: Tag = ("a", f' href="{_attr(m.group(2))}"')
                    label = m.group(1) or m.group(2)
                    self.out.extend(_Inline(label, (*self.tags, tag), self.depth + 1).parse())
                    i = m.end()
                    continue
            if ch in "*_~" and self.depth < MAX_NESTING:
                two = text[i:i + 2]
                if two in ("**", "__", "~~"):
                    delim, tag = two, (BOLD if two != "~~" else STRIKE)
                elif ch != "~":
                    delim, tag = ch, ITALIC
                else:
                    delim = ""
                opens = bool(delim) and i + len(delim) < n and not text[i + len(delim)].isspace()
                if opens and delim in ("_", "__") and i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
                    opens = False
                if opens:
                    end = self.closer(delim, i + len(delim) + 1)
                    if end != -1:
                        self.flush()
                        inner = text[i + len(delim):end]
                        self.out.extend(_Inline(inner, (*self.tags, tag), self.depth + 1).parse())
                        i = end + len(delim)
                        continue
                if delim:
                    self.buf.append(delim)
                    i += len(delim)
                    continue
            self.buf.append(ch)
            i += 1
        self.flush()
        return self.out


def _inline(text: str, tags: tuple[Tag, ...] = ()) -> list[Run]:
    return _Inline(text, tags, 0).parse()


# ---------------------------------------------------------------------------------------------- block Markdown

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^`]*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


def markdown_to_runs(markdown: str) -> list[Run]:
    """Markdown -> runs. Line structure is kept (chat text: a newline is a newline)."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[Run] = []
    i = 0

    def newline() -> None:
        out.append(Run("\n"))

    first = True
    while i < len(lines):
        line = lines[i]
        if not first:
            newline()
        first = False
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            lang = fence.group(2)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker[0] * len(marker)):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end)
            code: Tag = ("code", f' class="language-{_attr(lang)}"') if lang else CODE
            out.append(Run("\n".join(body) or " ", (PRE, code)))
            continue
        quote = _QUOTE.match(line)
        if quote:
            quoted: list[str] = []
            while i < len(lines) and (m := _QUOTE.match(lines[i])):
                quoted.append(m.group(1))
                i += 1
            out.extend(_inline("\n".join(quoted), (QUOTE,)) or [Run(" ", (QUOTE,))])
            continue
        if (h := _HEADING.match(line)) is not None:
            out.extend(_inline(h.group(1), (BOLD,)))
        elif _RULE.match(line):
            out.append(Run("———"))
        elif (b := _BULLET.match(line)) is not None:
            out.append(Run(b.group(1) + "• "))
            out.extend(_inline(b.group(2)))
        else:
            out.extend(_inline(line))
        i += 1
    return [r for r in out if r.text]


# ---------------------------------------------------------------------------------------------- Telegram HTML in

_KEEP_TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s",
              "del": "s", "tg-spoiler": "tg-spoiler", "code": "code", "pre": "pre", "blockquote": "blockquote",
              "a": "a", "span": "span"}


class _HtmlRuns(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, Tag | None]] = []  # (source tag, kept tag or None)
        self.runs: list[Run] = []

    def _tags(self) -> tuple[Tag, ...]:
        return tuple(t for _, t in self.stack if t is not None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_data("\n")
            return
        name = _KEEP_TAGS.get(tag)
        a = {k: v or "" for k, v in attrs}
        kept: Tag | None = None
        if name == "a":
            href = a.get("href", "")
            kept = ("a", f' href="{_attr(href)}"') if href else None
        elif name == "span":
            kept = ("span", ' class="tg-spoiler"') if "tg-spoiler" in a.get("class", "") else None
        elif name == "code" and a.get("class", "").startswith("language-"):
            kept = ("code", f' class="{_attr(a["class"])}"')
        elif name == "blockquote" and "expandable" in a:
            kept = ("blockquote", " expandable")
        elif name is not None:
            kept = (name, "")
        self.stack.append((tag, kept))

    def handle_endtag(self, tag: str) -> None:
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                return

    def handle_data(self, data: str) -> None:
        if data:
            self.runs.append(Run(data, self._tags()))


def html_to_runs(source: str) -> list[Run]:
    """Telegram-flavoured HTML (as a caller may send with parseMode HTML) -> runs; unknown tags are dropped
    (their text kept), unclosed ones closed, so re-rendering always gives valid Telegram HTML."""
    parser = _HtmlRuns()
    parser.feed(source)
    parser.close()
    return parser.runs


# ---------------------------------------------------------------------------------------------- render / chunk

def render(runs: list[Run], escape: bool = True) -> str:
    out: list[str] = []
    stack: tuple[Tag, ...] = ()
    for run in runs:
        if not run.text:
            continue
        k = 0
        while k < len(stack) and k < len(run.tags) and stack[k] == run.tags[k]:
            k += 1
        out.extend(f"</{t[0]}>" for t in reversed(stack[k:]))
        out.extend(f"<{t[0]}{t[1]}>" for t in run.tags[k:])
        stack = run.tags
        out.append(_escape(run.text) if escape else run.text)
    out.extend(f"</{t[0]}>" for t in reversed(stack))
    return "".join(out)


class _Text:
    """The plain text of a run list, with run offsets, to slice runs by text position."""

    def __init__(self, runs: list[Run]) -> None:
        self.runs = [r for r in runs if r.text]
        self.starts: list[int] = []
        pos = 0
        for r in self.runs:
            self.starts.append(pos)
            pos += len(r.text)
        self.plain = "".join(r.text for r in self.runs)

    def slice(self, a: int, b: int) -> list[Run]:
        out: list[Run] = []
        k = max(0, bisect.bisect_right(self.starts, a) - 1)
        while k < len(self.runs) and self.starts[k] < b:
            r, s = self.runs[k], self.starts[k]
            e = s + len(r.text)
            if e > a:
                out.append(Run(r.text[max(a, s) - s:min(b, e) - s], r.tags))
            k += 1
        return out


def _boundary(plain: str, start: int, end: int) -> tuple[int, int]:
    """Where to cut plain[start:end] (the longest part that fits): (cut, resume). A paragraph break in the
    second half of the window, else a line break, else a space, else `end` (hard)."""
    floor = start + (end - start) // 2
    for sep in ("\n\n", "\n", " "):
        j = plain.rfind(sep, floor, end)
        if j > start:
            return j, j + len(sep)
    return end, end


def _tag_cost(tag: Tag, closing: bool) -> int:
    return utf16_len(f"</{tag[0]}>") if closing else utf16_len(f"<{tag[0]}{tag[1]}>")


def _char_cost(ch: str, escape: bool) -> int:
    if escape and ch in "&<>":
        return 5 if ch == "&" else 4
    return 2 if ord(ch) > 0xFFFF else 1


def _fit(text: _Text, start: int, limit: int, escape: bool) -> int:
    """The largest end such that render(slice(start, end)) is at most `limit` UTF-16 units (at least start+1).
    One pass: the rendered size of a prefix is the tags opened and closed between its runs, its characters
    (escaped), and the closing tags at its end, all additive."""
    k = max(0, bisect.bisect_right(text.starts, start) - 1)
    stack: tuple[Tag, ...] = ()
    used = 0
    end = start
    while k < len(text.runs):
        run, run_start = text.runs[k], text.starts[k]
        common = 0
        while common < len(stack) and common < len(run.tags) and stack[common] == run.tags[common]:
            common += 1
        opening = sum(_tag_cost(t, True) for t in stack[common:]) + sum(_tag_cost(t, False) for t in run.tags[common:])
        closing = sum(_tag_cost(t, True) for t in run.tags)
        budget = limit - used - opening - closing
        piece = run.text[start - run_start:] if run_start < start else run.text
        taken = 0
        for ch in piece:
            cost = _char_cost(ch, escape)
            if cost > budget:
                return max(end + taken, start + 1)
            budget -= cost
            taken += 1
        used = limit - budget - closing
        end += taken
        stack = run.tags
        k += 1
    return end


def chunk_runs(runs: list[Run], limit: int = DEFAULT_CHUNK_LIMIT, escape: bool = True) -> list[Chunk]:
    """Cut runs into chunks whose rendering is at most `limit` UTF-16 units (clamped to 64..4096)."""
    limit = max(MIN_CHUNK_LIMIT, min(int(limit), TELEGRAM_TEXT_LIMIT))
    text = _Text(runs)
    plain = text.plain
    chunks: list[Chunk] = []
    start = 0
    while start < len(plain):
        while start < len(plain) and plain[start] == "\n":
            start += 1
        if start >= len(plain):
            break
        fit = _fit(text, start, limit, escape)
        cut, resume = (fit, fit) if fit >= len(plain) else _boundary(plain, start, fit)
        if plain[start:cut].strip():
            chunks.append(Chunk(render(text.slice(start, cut), escape), plain[start:cut]))
        start = resume
    return chunks


def to_chunks(source: str, limit: int = DEFAULT_CHUNK_LIMIT, mode: str = "markdown") -> list[Chunk]:
    """`mode`: "markdown" (model replies, the default), "html" (Telegram HTML as given by a sender), or
    "plain" (no parse mode: chunk.html is the raw text)."""
    if len(source) > MAX_SOURCE_CHARS:
        source = source[:MAX_SOURCE_CHARS] + "\n…[truncated]"
    if mode == "plain":
        return chunk_runs([Run(source)], limit, escape=False)
    runs = html_to_runs(source) if mode == "html" else markdown_to_runs(source)
    return chunk_runs(runs, limit)
