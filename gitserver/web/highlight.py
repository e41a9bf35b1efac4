"""Syntax highlighting: Pygments tokens as one safe HTML fragment per source line.

The file view, blame and the diff rows all show a file line by line, so a fragment is one
line: `<span class="k">def</span> f` with Pygments' short CSS classes (the ones
`HtmlFormatter` uses) and no line-number markup. A token that spans lines (a docstring, a
block comment) is cut at each newline and every piece gets its own span, so each
fragment's tags are balanced and a row can be shown, moved or emphasized on its own.
The whole file is lexed, never a window of it: a line inside a docstring is only known
to be one from the lines above.

Lines are git's: split on "\\n" only (what `filePosition` and `git diff` count), a CR
before the newline is not shown, and a missing final newline adds no empty line. Python's
`str.splitlines` would also split on form feeds, U+2028 and a lone CR, and misnumber the
lines after them.

Decoding is the caller's: this takes `str`. A blob that is not UTF-8 is best decoded with
`errors="replace"` (one U+FFFD per bad byte keeps every newline where it was), and a
binary blob (a NUL in its first 8,000 bytes, git's test) is not text to highlight at all;
`gitserver.web.diffstat.decode` does both.
"""

from __future__ import annotations

import functools
import posixpath
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

from markupsafe import Markup, escape
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_by_name, find_lexer_class_for_filename
from pygments.style import Style
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Token, _TokenType
from pygments.util import ClassNotFound

__all__ = [
    "MAX_HIGHLIGHT_CHARS",
    "MAX_HIGHLIGHT_LINES",
    "MAX_LINE_CHARS",
    "HighlightCache",
    "Line",
    "MarkTag",
    "Segment",
    "highlight_lines",
    "line_segments",
    "render",
    "split_lines",
    "stylesheet",
]

# Past these a file is shown as plain escaped text. Pygments' regex lexers cost about
# 50 us a line of Python on this machine (a 2,000-line file: ~100 ms), so 10,000 lines or
# 256 KiB keep a highlighted page under about half a second; a line over 2,000 characters
# is minified or generated code, slow to lex (backtracking regexes) and unreadable anyway.
MAX_HIGHLIGHT_CHARS = 256 * 1024
MAX_HIGHLIGHT_LINES = 10_000
MAX_LINE_CHARS = 2_000

# Light from the system's default, dark under `prefers-color-scheme: dark`.
LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"

Segment = tuple[str, str]  # (Pygments short CSS class, "" for none; the text)
Line = tuple[Segment, ...]
MarkTag = Literal["mark", "del", "ins"]  # the elements `render` may wrap marked text in

_BOM = "\ufeff"


def split_lines(text: str) -> list[str]:
    """`text`'s lines as git counts them, without their "\\n" or "\\r\\n"."""
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()  # the newline ended the last line; it did not start another
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def highlight_lines(path: str, text: str) -> list[Markup]:
    """One escaped HTML fragment per line of `text`, highlighted for `path`'s language."""
    return [render(line) for line in line_segments(path, text)]


def line_segments(path: str, text: str) -> list[Line]:
    """The tokens of each line as (class, text) segments: plain (one unclassed segment a
    line) past the limits above or when no lexer fits `path`."""
    lines = split_lines(text)
    lexer = _lexer(path, text)
    if lexer is None or _too_big(text, lines):
        return _plain(lines)
    normalized = text.replace("\r\n", "\n")
    if "\r" in normalized:
        # Pygments turns a lone CR into a newline: its lines would not be git's.
        return _plain(lines)
    bom = normalized.startswith(_BOM)
    if not normalized.endswith("\n"):
        normalized += "\n"
    highlighted = _tokenize(lexer, normalized[1:] if bom else normalized)
    if len(highlighted) != len(lines):
        return _plain(lines)  # a lexer that dropped or added text: numbering comes first
    if bom:
        highlighted[0] = (("", _BOM), *highlighted[0])
    return highlighted


def render(line: Line, marks: Sequence[tuple[int, int]] = (), tag: MarkTag = "mark") -> Markup:
    """A line's HTML; the character ranges in `marks` (sorted, disjoint, [start, end))
    wrapped in `<tag>`, token spans cut at their edges so every tag stays balanced."""
    if not marks:
        # Safe: every text went through `escape` in `_span`; classes are Pygments' own.
        return Markup("".join(_span(cls, text) for cls, text in line))  # noqa: S704
    starts = [start for start, _ in marks]
    edges = sorted({edge for mark in marks for edge in mark})
    out: list[str] = []
    inside = False
    at = next_edge = 0  # where the segment starts in the line; the first edge not passed
    for cls, text in line:
        end = at + len(text)
        pos = at
        while pos < end:  # one walk over segments and edges together: linear in both
            while next_edge < len(edges) and edges[next_edge] <= pos:
                next_edge += 1
            stop = min(end, edges[next_edge]) if next_edge < len(edges) else end
            index = bisect_right(starts, pos) - 1
            wanted = index >= 0 and pos < marks[index][1]
            if wanted != inside:
                out.append(f"<{tag}>" if wanted else f"</{tag}>")
                inside = wanted
            out.append(_span(cls, text[pos - at : stop - at]))
            pos = stop
        at = end
    if inside:
        out.append(f"</{tag}>")
    return Markup("".join(out))  # noqa: S704 - escaped in `_span`; `tag` is a Literal


def _span(cls: str, text: str) -> str:
    return f'<span class="{cls}">{escape(text)}</span>' if cls else str(escape(text))


def _plain(lines: list[str]) -> list[Line]:
    return [(("", line),) if line else () for line in lines]


def _too_big(text: str, lines: list[str]) -> bool:
    return (
        len(text) > MAX_HIGHLIGHT_CHARS
        or len(lines) > MAX_HIGHLIGHT_LINES
        or any(len(line) > MAX_LINE_CHARS for line in lines)
    )


def _tokenize(lexer: Lexer, text: str) -> list[Line]:
    """Lines of (class, text) segments; `text` has no CR and ends with a newline."""
    lines: list[Line] = []
    current: list[Segment] = []
    classes = _CLASSES
    # get_tokens() would redo the newline and BOM handling done above, through two more
    # generators: this loop runs once per token, ~20 per line of code.
    for _, ttype, value in lexer.get_tokens_unprocessed(text):
        cls = classes.get(ttype)
        if cls is None:
            cls = classes[ttype] = _css_class(ttype)
        if "\n" not in value:
            if current and current[-1][0] == cls:
                current[-1] = (cls, current[-1][1] + value)  # fewer spans, same look
            else:
                current.append((cls, value))
            continue
        first, *rest = value.split("\n")
        if first:
            current.append((cls, first))
        for piece in rest:
            lines.append(tuple(current))
            current = [(cls, piece)] if piece else []
    # The text ends with a newline, so `current` holds nothing left to show.
    return lines


_CLASSES: dict[_TokenType, str] = {}


def _css_class(ttype: _TokenType) -> str:
    """The short class of the nearest standard token type (`Name.Foo` -> `n`); none for
    text and whitespace, which the stylesheet leaves alone."""
    if ttype in (Token.Text, Token.Text.Whitespace, Token):
        return ""
    found: _TokenType | None = ttype
    while found is not None and found not in STANDARD_TYPES:
        found = found.parent
    return STANDARD_TYPES[found] if found is not None else ""


def _lexer(path: str, text: str) -> Lexer | None:
    name = posixpath.basename(path)
    found = _lexer_for_name(name)
    if found is None and "." not in name and text.startswith("#!"):
        found = _lexer_for_shebang(text[: text.find("\n")])
    return found


@functools.lru_cache(maxsize=1024)
def _lexer_for_name(name: str) -> Lexer | None:
    # Pygments matches file-name globs against every lexer: ~0.5 ms a call, once per name.
    try:
        found = find_lexer_class_for_filename(name)
    except ClassNotFound:  # pragma: no cover - it returns None, but older versions raised
        return None
    return _instance(found) if found is not None else None


@functools.lru_cache(maxsize=64)
def _lexer_for_shebang(line: str) -> Lexer | None:
    """The interpreter `#!/usr/bin/env python3 -u` names, by Pygments alias: a cheap
    guess, unlike `guess_lexer`, which runs every lexer's analyser over the text."""
    words = line[2:].split()
    if words and posixpath.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None
    program = posixpath.basename(words[0])
    for alias in (program, program.rstrip("0123456789."), _ALIASES.get(program, "")):
        if not alias:
            continue
        try:
            return _instance(find_lexer_class_by_name(alias))
        except ClassNotFound:
            continue
    return None


_ALIASES = {"node": "javascript", "nodejs": "javascript", "deno": "typescript"}


def _instance(cls: type[Lexer]) -> Lexer:
    # stripnl would drop leading blank lines and shift every line number after them;
    # ensurenl makes the last line end like the others.
    return cls(stripnl=False, ensurenl=True)


class HighlightCache:
    """Highlighted files kept by their text, least recently used out past `max_chars`:
    reviewers open the same file diff again (expand context, a second reviewer), and
    lexing is most of its cost. One per application, passed where it is used; safe to
    call from the worker threads diffs are built in (lexing happens outside the lock)."""

    def __init__(self, max_chars: int = 16 * 1024 * 1024) -> None:
        self.max_chars = max_chars
        self._held = 0
        self._lines: OrderedDict[tuple[str, str], list[Line]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, path: str, text: str) -> list[Line]:
        """`line_segments(path, text)`, from the cache when it holds it."""
        lexer = _lexer(path, text)
        key = (type(lexer).__name__ if lexer is not None else "", text)
        with self._lock:
            found = self._lines.get(key)
            if found is not None:
                self._lines.move_to_end(key)
                return found
        found = line_segments(path, text)
        if len(text) > self.max_chars:
            return found
        with self._lock:
            if key not in self._lines:
                self._lines[key] = found
                self._held += len(text)
            while self._held > self.max_chars:
                (_, old_text), _ = self._lines.popitem(last=False)
                self._held -= len(old_text)
        return found


@functools.cache
def stylesheet() -> str:
    """CSS for the classes above, under `.hl`: light, and dark when the system asks."""
    light, dark = get_style_by_name(LIGHT_STYLE), get_style_by_name(DARK_STYLE)
    light_rules = {cls: _legible(style) for cls, style in _rules(LIGHT_STYLE).items()}
    dark_rules = _rules(DARK_STYLE)
    # A class styled in light but not (or differently) in dark must not keep its light
    # colour on a dark background: every dark rule starts from a reset.
    reset = "color: inherit; background-color: transparent; font-weight: inherit; "
    reset += "font-style: inherit; border: 0; "
    out = [
        f".hl {{ color: {_fg(light, '#1f2328')}; background-color: {light.background_color} }}",
        *(f".hl .{cls} {{ {style} }}" for cls, style in sorted(light_rules.items())),
        *_MARKS["light"],
        "@media (prefers-color-scheme: dark) {",
        f"  .hl {{ color: {_fg(dark, '#e6edf3')}; background-color: {dark.background_color} }}",
    ]
    for cls in sorted(light_rules.keys() | dark_rules.keys()):
        style = dark_rules.get(cls, "")
        out.append(f"  .hl .{cls} {{ {reset}{style} }}")
    out.extend(f"  {rule}" for rule in _MARKS["dark"])
    out.append("}")
    return "\n".join(out) + "\n"


# What `render` wraps marked text in: a tint that shows through a diff row's own colour
# (GitHub's word-diff colours), no strike-through or underline over code.
_MARKS = {
    "light": [
        ".hl mark, .hl del, .hl ins { color: inherit; text-decoration: none; border-radius: 2px }",
        ".hl del { background-color: rgba(255, 129, 130, 0.4) }",
        ".hl ins { background-color: rgba(74, 194, 107, 0.4) }",
        ".hl mark { background-color: rgba(255, 223, 93, 0.5) }",
    ],
    "dark": [
        ".hl del { background-color: rgba(248, 81, 73, 0.4) }",
        ".hl ins { background-color: rgba(46, 160, 67, 0.4) }",
        ".hl mark { background-color: rgba(187, 128, 9, 0.4) }",
    ],
}


_RULE = re.compile(r"^\.hl \.([\w-]+) \{ (.*) \}")


def _rules(style: str) -> dict[str, str]:
    """Each class's declarations in a Pygments style, as `HtmlFormatter` writes them."""
    found = {}
    formatter = HtmlFormatter(style=style)
    for line in formatter.get_token_style_defs(".hl"):  # type: ignore[no-untyped-call]
        match = _RULE.match(line)
        if match:
            found[match[1]] = match[2]
    return found


# What a light-scheme token sits on (style.css): the page, --subtle, and a diff's added
# and deleted rows. The default style's colours are about 4.5:1 on white only; on the
# tinted rows some fall to 4.2:1 (axe's colour-contrast, serious), so those are darkened.
_LIGHT_GROUNDS = ("#ffffff", "#f6f8fa", "#dafbe1", "#ffebe9")
_MIN_CONTRAST = 4.5  # WCAG AA for text
_COLOR = re.compile(r"(?<![-\w])color: (#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b")


def _legible(declarations: str) -> str:
    """`declarations` with its text colour darkened until it reads on every light ground."""

    def darken(match: re.Match[str]) -> str:
        rgb = _rgb(match[1])
        while min(_contrast(rgb, _rgb(g)) for g in _LIGHT_GROUNDS) < _MIN_CONTRAST:
            rgb = tuple(int(c * 0.95) for c in rgb)
        return "color: #" + "".join(f"{c:02x}" for c in rgb)

    return _COLOR.sub(darken, declarations)


def _rgb(colour: str) -> tuple[int, ...]:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, ...]) -> float:
        def channel(c: int) -> float:
            v = c / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _fg(style: type[Style], fallback: str) -> str:
    """The colour a style gives plain text (`Token`), if it names one."""
    colour = next((w for w in style.styles.get(Token, "").split() if w.startswith("#")), "")
    return colour or fallback
