"""Markdown -> Telegram HTML and the chunker: every chunk is valid Telegram HTML on its own (checked with
the fake Bot API's parser, which words its errors as Telegram does), within the limit, and together the
chunks keep every character of the text."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openclaw.workers.channel.telegram.format import (
    Run,
    _fit,
    _Text,
    chunk_runs,
    html_to_runs,
    markdown_to_runs,
    render,
    to_chunks,
    utf16_len,
)

from ..fakes.telegram_api import _ApiError, parse_html


def html(md: str) -> str:
    return render(markdown_to_runs(md))


@pytest.mark.parametrize(("md", "expected"), [
    ("plain & <simple> text", "plain &amp; &lt;simple&gt; text"),
    ("**bold** and __bold__", "<b>bold</b> and <b>bold</b>"),
    ("*it* and _it_ but snake_case_name and 2 * 3 * 4", "<i>it</i> and <i>it</i> but snake_case_name and 2 * 3 * 4"),
    ("~~gone~~", "<s>gone</s>"),
    ("`a < b` and ``x ` y``", "<code>a &lt; b</code> and <code>x ` y</code>"),
    ("**bold *and italic***", "<b>bold <i>and italic</i></b>"),
    ("[site](https://e.org/?a=1&b=2)", '<a href="https://e.org/?a=1&amp;b=2">site</a>'),
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("**[bold link](https://e.org)**", '<b><a href="https://e.org">bold link</a></b>'),
    ("# Title\n## Sub ##", "<b>Title</b>\n<b>Sub</b>"),
    ("- one\n* two\n  + three", "• one\n• two\n  • three"),
    ("> quoted *x*\n> more", "<blockquote>quoted <i>x</i>\nmore</blockquote>"),
    ("```py\nif a < b:\n    pass\n```", '<pre><code class="language-py">if a &lt; b:\n    pass</code></pre>'),
    ("```\nunclosed <", "<pre><code>unclosed &lt;</code></pre>"),
    ("**unclosed", "**unclosed"),
    ("\\*not italic\\*", "*not italic*"),
    ("---", "———"),
])
def test_markdown_to_telegram_html(md: str, expected: str) -> None:
    out = html(md)
    assert out == expected
    parse_html(out)  # Telegram accepts it


def test_html_mode_keeps_telegram_tags_and_drops_the_rest() -> None:
    runs = html_to_runs('<b>bold <i>both</i></b> <div>div text</div> <a href="https://e.org">l</a> <b>unclosed &amp; x')
    out = render(runs)
    assert out == '<b>bold <i>both</i></b> div text <a href="https://e.org">l</a> <b>unclosed &amp; x</b>'
    parse_html(out)
    assert render(html_to_runs('<span class="tg-spoiler">s</span><code class="language-go">x</code>')) == \
        '<span class="tg-spoiler">s</span><code class="language-go">x</code>'


def visible(chunks: list) -> str:
    return "".join(parse_html(c.html) for c in chunks)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_chunks_prefer_paragraphs_then_lines_then_spaces() -> None:
    para = "word " * 150  # 750 characters
    chunks = to_chunks("\n\n".join([para.strip()] * 4), 1600)
    assert [c.text for c in chunks] == ["\n\n".join([para.strip()] * 2)] * 2
    lines = to_chunks("\n".join(["line of text"] * 300), 1000)
    assert all(c.text.startswith("line") and c.text.endswith("text") for c in lines)
    words = to_chunks("abc " * 1000, 500)
    assert all(len(c.html) <= 500 and not c.html.startswith(" ") for c in words)
    assert squash("".join(c.text for c in words)) == squash("abc " * 1000)
    hard = to_chunks("x" * 10_000, 4000)
    assert [len(c.html) for c in hard] == [4000, 4000, 2000]


def test_a_split_code_block_is_reopened_in_the_next_chunk() -> None:
    md = "```python\n" + "value = compute(a < b)\n" * 500 + "```"
    chunks = to_chunks(md, 4000)
    assert len(chunks) >= 3
    for c in chunks:
        assert c.html.startswith('<pre><code class="language-python">') and c.html.endswith("</code></pre>")
        assert utf16_len(c.html) <= 4000
        parse_html(c.html)
    assert visible(chunks).count("value = compute(a < b)") == 500


def test_entities_and_astral_characters_are_never_cut_and_counted_as_telegram_does() -> None:
    chunks = to_chunks("&" * 3000, 4000)  # each & renders as &amp; (5 units)
    assert [len(parse_html(c.html)) for c in chunks] == [800, 800, 800, 600]
    emoji = to_chunks("😀" * 3000, 4000)  # 2 UTF-16 units each
    assert [utf16_len(c.html) for c in emoji] == [4000, 2000]


def test_the_limit_is_clamped_and_huge_sources_are_cut() -> None:
    assert all(len(c.html) <= 4096 for c in to_chunks("a " * 10_000, 99_999))
    assert all(len(c.html) <= 64 for c in to_chunks("a " * 100, 1))
    chunks = to_chunks("b" * 500_000, 4096)
    assert chunks[-1].text.endswith("…[truncated]") and len(chunks) == 49


@pytest.mark.parametrize("source", ["*a " * 60_000, "_a " * 60_000, "`a " * 60_000, "[a](" * 40_000,
                                    "**" * 20_000 + "x", "Some **bold** and *it* `c` text. " * 6000])
def test_adversarial_markdown_is_formatted_in_bounded_time(source: str) -> None:
    started = time.monotonic()
    chunks = to_chunks(source, 4000)
    assert time.monotonic() - started < 5.0
    assert all(utf16_len(c.html) <= 4000 for c in chunks)


TOKENS = st.sampled_from(["**", "*", "_", "__", "~~", "`", "```", "\n", "\n\n", " ", "[", "](", ")", "https://e.org",
                          "&", "<", ">", "é", "😀", "word", "# ", "> ", "- ", "\\", "snake_case", "<b>", "&amp;"])


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=120), st.integers(min_value=64, max_value=400))
def test_any_markdown_gives_valid_chunks_within_the_limit_keeping_all_text(tokens: list[str], limit: int) -> None:
    source = "".join(tokens)
    runs = markdown_to_runs(source)
    chunks = chunk_runs(runs, limit)
    for c in chunks:
        assert utf16_len(c.html) <= limit
        try:
            parse_html(c.html)
        except _ApiError as exc:  # pragma: no cover - the failure message
            raise AssertionError(f"{c.html!r}: {exc.description}") from None
        assert parse_html(c.html) == c.text
    assert squash(visible(chunks)) == squash("".join(r.text for r in runs))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab &<>😀\n", min_size=1, max_size=12),
                          st.sampled_from([(), (("b", ""),), (("b", ""), ("i", "")), (("a", ' href="https://e.org"'),),
                                           (("pre", ""), ("code", ' class="language-py"'))])), min_size=1, max_size=40),
       st.integers(min_value=64, max_value=200), st.data())
def test_fit_is_the_longest_prefix_that_renders_within_the_limit(parts: list, limit: int, data: st.DataObject) -> None:
    text = _Text([Run(t, tags) for t, tags in parts])
    start = data.draw(st.integers(min_value=0, max_value=len(text.plain) - 1))
    end = _fit(text, start, limit, True)

    def size(b: int) -> int:
        return utf16_len(render(text.slice(start, b)))

    assert end > start
    assert size(end) <= limit or end == start + 1
    assert end == len(text.plain) or size(end + 1) > limit
