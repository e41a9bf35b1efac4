"""Highlighting: one balanced, escaped fragment per git line, plain text where it must."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitserver.web import highlight
from gitserver.web.highlight import (
    HighlightCache,
    highlight_lines,
    line_segments,
    render,
    split_lines,
    stylesheet,
)


class _Balance(HTMLParser):
    """Fails on a closing tag that closes nothing open; leaves what is still open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing"

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(fragment: str) -> _Balance:
    parser = _Balance()
    parser.feed(str(fragment))  # Markup + str would escape the rest
    parser.close()
    assert parser.open == [], f"unclosed {parser.open} in {fragment!r}"
    return parser


def _text(fragment: str) -> str:
    return _parse(fragment).text


def test_code_that_looks_like_html_stays_text() -> None:
    code = '<script>alert("x")</script>\nx = "<img src=x onerror=alert(1)>"\n'
    for path in ("page.html", "evil.py", "no-lexer.zzz"):
        lines = highlight_lines(path, code)
        assert "<script" not in "".join(lines)
        assert "<img" not in "".join(lines)
        assert [_text(line) for line in lines] == code.splitlines()


def test_a_docstring_over_lines_is_balanced_on_each_line() -> None:
    code = 'def f():\n    """One\n\n    <two>\n    """\n    return 1\n'
    lines = highlight_lines("m.py", code)
    assert len(lines) == 6
    for line, source in zip(lines, code.split("\n"), strict=False):
        assert _text(line) == source
    # Every line inside the docstring is styled as one: a span per line, none across.
    assert all('class="sd"' in lines[n] for n in (1, 3, 4))
    assert lines[2] == ""


def test_an_unknown_extension_is_plain_escaped_text() -> None:
    lines = highlight_lines("notes.unknown-ext", "a < b\nc & d\n")
    assert lines == ["a &lt; b", "c &amp; d"]


def test_a_file_past_the_limits_falls_back_to_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "x = 1\n" * (highlight.MAX_HIGHLIGHT_LINES + 1)
    lines = highlight_lines("big.py", code)
    assert len(lines) == highlight.MAX_HIGHLIGHT_LINES + 1
    assert "<span" not in lines[0]
    big = "y = 2\n" + "#" * (highlight.MAX_HIGHLIGHT_CHARS) + "\n"
    assert "<span" not in highlight_lines("big.py", big)[0]
    minified = "var a=1;" * (highlight.MAX_LINE_CHARS // 8 + 1) + "\n"
    assert "<span" not in highlight_lines("app.js", minified)[0]


def test_crlf_and_a_missing_final_newline_keep_git_numbering() -> None:
    code = "a = 1\r\nb = 2\r\n\r\nc = 3"
    assert split_lines(code) == ["a = 1", "b = 2", "", "c = 3"]
    lines = highlight_lines("x.py", code)
    assert [_text(line) for line in lines] == ["a = 1", "b = 2", "", "c = 3"]
    assert "\r" not in "".join(lines)


def test_leading_blank_lines_and_a_lone_cr_keep_numbering() -> None:
    # Pygments strips leading newlines by default and reads a lone CR as a newline.
    assert [_text(line) for line in highlight_lines("x.py", "\n\nx = 1\n")] == ["", "", "x = 1"]
    lone = "a = 1\rb = 2\nc = 3\n"
    assert len(highlight_lines("x.py", lone)) == 2


def test_only_newline_splits_lines() -> None:
    # A form feed, U+2028 or a vertical tab is inside a line for git.
    code = "a\x0cb\nc\u2028d\ne\x0bf\n"
    assert len(split_lines(code)) == 3
    assert len(highlight_lines("x.c", code)) == 3


def test_a_byte_order_mark_is_kept_on_the_first_line() -> None:
    lines = line_segments("x.py", "\ufeffimport os\n")
    assert "".join(text for _, text in lines[0]) == "\ufeffimport os"


def test_a_shebang_picks_the_lexer_only_without_an_extension() -> None:
    assert 'class="kn"' in highlight_lines("tool", "#!/usr/bin/env python3\nimport os\n")[1]
    assert 'class="nb"' in highlight_lines("run", "#!/bin/sh -e\necho hi\n")[1]
    assert "<span" not in highlight_lines("notes.txt", "#!/usr/bin/env python3\nimport os\n")[1]
    assert "<span" not in highlight_lines("tool", "#!/usr/bin/env nosuchlang\nimport os\n")[1]


def test_file_names_without_extension_still_find_their_lexer() -> None:
    assert "<span" in highlight_lines("Makefile", "all:\n\techo hi\n")[0]
    assert "<span" in highlight_lines("src/Dockerfile", "FROM debian\n")[0]


def test_marks_wrap_ranges_across_token_edges_and_stay_balanced() -> None:
    line = line_segments("x.py", 'return foo_bar + "baz"\n')[0]
    html = render(line, [(4, 9), (12, 18)], "ins")
    assert _text(html) == 'return foo_bar + "baz"'
    marked = re.findall(r"<ins>(.*?)</ins>", html)
    assert [_text(part) for part in marked] == ["rn fo", 'ar + "']
    assert render(line, [(0, 22)], "del").startswith("<del>")
    assert render((), [(0, 0)], "del") == ""


def test_the_cache_returns_the_same_lines_and_stays_bounded() -> None:
    cache = HighlightCache(max_chars=100)
    first = cache("a.py", "x = 1\n")
    assert cache("a.py", "x = 1\n") is first
    cache("b.py", "y = 2\n" * 20)  # 120 characters: never kept
    assert cache("b.py", "y = 2\n" * 20) is not cache("b.py", "y = 2\n" * 20)
    for n in range(30):
        cache("c.py", f"z = {n}\n")
    assert cache._held <= 100


def test_the_stylesheet_has_light_and_dark_scoped_under_hl() -> None:
    css = stylesheet()
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    assert ".hl .k {" in light and ".hl .k {" in dark
    rules = [line.strip() for line in css.splitlines() if "{" in line and "@media" not in line]
    assert all(rule.startswith(".hl") for rule in rules)
    # A class only the light style colours is reset in dark, never left dark-on-dark.
    assert re.search(r"\.hl \.c \{ color: inherit;", dark)
    # The marks render() wraps, in both schemes.
    assert ".hl del {" in light and ".hl ins {" in dark


def test_light_token_colours_read_on_the_diff_rows_too() -> None:
    """WCAG AA (4.5:1) for every light-scheme token colour on the page and on a diff's
    added and deleted rows (axe's colour-contrast found 4.2:1 there before)."""
    light = stylesheet().partition("@media")[0]
    colours = re.findall(r"\.hl \.[\w-]+ \{[^}]*?(?<![-\w])color: (#[0-9a-fA-F]{3,6})", light)
    assert len(colours) > 20
    for colour in colours:
        for ground in ("#ffffff", "#f6f8fa", "#dafbe1", "#ffebe9"):
            ratio = highlight._contrast(highlight._rgb(colour), highlight._rgb(ground))
            assert ratio >= 4.5, (colour, ground, ratio)


_segments = st.lists(
    st.tuples(st.sampled_from(["", "k", "s2", "n"]), st.text('ab<&" ', min_size=1, max_size=6)),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(_segments, st.lists(st.integers(0, 50), max_size=8))
def test_render_marks_any_ranges_balanced_and_exact(
    segments: list[tuple[str, str]], cuts: list[int]
) -> None:
    text = "".join(piece for _, piece in segments)
    points = sorted({min(cut, len(text)) for cut in cuts})
    marks = [(a, b) for a, b in zip(points[::2], points[1::2], strict=False) if a < b]
    html = render(tuple(segments), marks, "ins")
    assert _text(html) == text
    inside = re.findall(r"<ins>(.*?)</ins>", str(html))
    assert "".join(_text(part) for part in inside) == "".join(text[a:b] for a, b in marks)
