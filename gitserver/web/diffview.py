"""One file's diff as a view model a template renders without logic: hunks of rows with
both line numbers, highlighted HTML, intraline emphasis, a unified and a split layout,
and the collapsed context between hunks with what "expand" fetches.

Line numbers are the files' own, counted from 1: a row's `anchor` is the CodeCommit
comment location it stands for (`relativeFileVersion` BEFORE with the line in the
before file for a deleted line, AFTER with the line in the after file otherwise; the
console anchors unchanged lines on AFTER too). They do not depend on how the diff pairs
lines, so a comment lands on the same line whichever diff drew the page.

Both files are highlighted whole (a line inside a docstring is only known to be one from
the lines above), then only the rows shown are rendered. Context rows use the AFTER
file's highlighting on both sides of the split view: the text is the same, and the before
file is then lexed only when lines were deleted. Limits and counts live in
`gitserver.web.diffstat`; this module builds the body of one file on demand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Literal

from markupsafe import Markup

from gitserver.web.diffstat import (
    MAX_FILE_CHANGED_CHARS,
    MAX_FILE_CHANGED_LINES,
    Change,
    Omitted,
    SideText,
    changes,
    line_keys,
)
from gitserver.web.highlight import Line, MarkTag, line_segments, render

__all__ = [
    "CONTEXT_LINES",
    "EXPAND_LINES",
    "INTRALINE_MAX_CHARS",
    "INTRALINE_MIN_RATIO",
    "Anchor",
    "Cell",
    "Expansion",
    "FileDiff",
    "Gap",
    "Highlighter",
    "Hunk",
    "Row",
    "SplitRow",
    "expand_context",
    "file_diff",
]

CONTEXT_LINES = 3  # git's default around each change
EXPAND_LINES = 20  # one "expand context" click
# Intraline emphasis compares words; past this a line is not compared (minified code),
# and below this share of unchanged words the pair is a rewrite, not an edit: marking
# nearly everything would only add noise.
INTRALINE_MAX_CHARS = 1_000
INTRALINE_MIN_RATIO = 0.5

Kind = Literal["context", "add", "delete"]
Side = Literal["BEFORE", "AFTER"]  # CodeCommit's relativeFileVersion
GapEdge = Literal["start", "middle", "end"]
FileDiffState = Literal["shown", "unchanged", "too_large", "binary"]
Highlighter = Callable[[str, str], Sequence[Line]]  # highlight.line_segments, or a cache


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where an inline comment on a row goes: CodeCommit's `filePosition` on a side."""

    side: Side
    line: int


@dataclass(frozen=True, slots=True)
class Row:
    """A unified-view row; `no_newline` is git's "\\ No newline at end of file"."""

    kind: Kind
    old_line: int | None
    new_line: int | None
    html: Markup
    anchor: Anchor
    no_newline: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """One side of a split-view row."""

    kind: Kind
    line: int
    html: Markup
    anchor: Anchor
    no_newline: bool = False


@dataclass(frozen=True, slots=True)
class SplitRow:
    left: Cell | None  # None: filler across from a longer run of added lines
    right: Cell | None


@dataclass(frozen=True, slots=True)
class Gap:
    """Unchanged lines not shown: before line `old_start` and after line `new_start`
    (from 1) on, `count` lines. A `start` gap opens upwards only, an `end` one downwards."""

    old_start: int
    new_start: int
    count: int
    edge: GapEdge

    def above(self, lines: int = EXPAND_LINES) -> tuple[Gap, Gap | None]:
        """The last `lines` of the gap (next to the hunk below it), and what stays hidden."""
        shown = min(lines, self.count)
        kept = self.count - shown
        revealed = Gap(self.old_start + kept, self.new_start + kept, shown, self.edge)
        rest = Gap(self.old_start, self.new_start, kept, self.edge) if kept else None
        return revealed, rest

    def below(self, lines: int = EXPAND_LINES) -> tuple[Gap, Gap | None]:
        """The first `lines` of the gap (next to the hunk above it), and what stays hidden."""
        shown = min(lines, self.count)
        kept = self.count - shown
        revealed = Gap(self.old_start, self.new_start, shown, self.edge)
        rest = Gap(self.old_start + shown, self.new_start + shown, kept, self.edge)
        return revealed, rest if kept else None

    @property
    def up(self) -> Gap:
        """What one "expand up" click fetches."""
        return self.above()[0]

    @property
    def down(self) -> Gap:
        """What one "expand down" click fetches."""
        return self.below()[0]


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int  # first before line shown, from 1
    old_count: int
    new_start: int
    new_count: int
    gap_above: Gap | None
    rows: tuple[Row, ...]
    split_rows: tuple[SplitRow, ...]

    @property
    def header(self) -> str:
        """`@@ -l,s +l,s @@` as git writes it."""
        old = _range(self.old_start, self.old_count)
        return f"@@ -{old} +{_range(self.new_start, self.new_count)} @@"


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    state: FileDiffState
    added: int
    deleted: int
    hunks: tuple[Hunk, ...]
    gap_below: Gap | None
    reason: str  # why nothing is shown; "" when shown


@dataclass(frozen=True, slots=True)
class Expansion:
    """Context rows an "expand" fetched, in both layouts."""

    rows: tuple[Row, ...]
    split_rows: tuple[SplitRow, ...]


def _range(start: int, count: int) -> str:
    # git names the line before an empty range, and leaves out a count of one.
    if count == 0:
        return f"{start - 1},0"
    return str(start) if count == 1 else f"{start},{count}"


def file_diff(
    path: str,
    before: SideText,
    after: SideText,
    *,
    context: int = CONTEXT_LINES,
    found: Sequence[Change] | None = None,
    highlighter: Highlighter = line_segments,
) -> FileDiff:
    """The diff of `path` from `before` to `after` (None: no file on that side).

    `found` is the changes when the caller has them (`diffstat.changes_from_patch` of
    `git diff --unified=0`, for git's own pairing); otherwise difflib computes them.

    Raises:
        ValueError: `found` does not fit the two texts.
    """
    if isinstance(before, Omitted) or isinstance(after, Omitted):
        return _omitted(path, before, after)
    old, new = line_keys(before), line_keys(after)
    found = changes(old, new) if found is None else _checked(found, len(old), len(new))
    deleted = sum(b2 - b1 for b1, b2, _, _ in found)
    added = sum(a2 - a1 for _, _, a1, a2 in found)
    if not found:
        reason = "The content did not change." if before is not None else "The file is empty."
        return FileDiff(path, "unchanged", 0, 0, (), None, reason)
    chars = sum(sum(map(len, old[b1:b2])) + sum(map(len, new[a1:a2])) for b1, b2, a1, a2 in found)
    if added + deleted > MAX_FILE_CHANGED_LINES or chars > MAX_FILE_CHANGED_CHARS:
        reason = (
            f"Too large to show here ({added + deleted:,} changed lines; the limits are "
            f"{MAX_FILE_CHANGED_LINES:,} lines and {MAX_FILE_CHANGED_CHARS // 1000} KB)."
        )
        return FileDiff(path, "too_large", added, deleted, (), None, reason)
    sides = _Sides(
        old,
        new,
        highlighter(path, before) if before and deleted else (),
        highlighter(path, after) if after else (),
    )
    hunks, below = _hunks(sides, found, max(0, context))
    return FileDiff(path, "shown", added, deleted, tuple(hunks), below, "")


def expand_context(
    path: str, before: str, after: str, gap: Gap, *, highlighter: Highlighter = line_segments
) -> Expansion:
    """The rows of unchanged lines `gap` names, for an "expand context" request.

    Raises:
        ValueError: the gap is out of range or not unchanged lines (a tampered request,
            or files that moved on since the page was drawn).
    """
    old, new = line_keys(before), line_keys(after)
    o, n = gap.old_start - 1, gap.new_start - 1
    fits = min(o, n) >= 0 and gap.count > 0 and o + gap.count <= len(old)
    if not fits or n + gap.count > len(new) or old[o : o + gap.count] != new[n : n + gap.count]:
        raise ValueError("the lines asked for are not unchanged context of this diff")
    sides = _Sides(old, new, (), highlighter(path, after))
    rows: list[Row] = []
    split: list[SplitRow] = []
    _context(sides, o, n, gap.count, rows, split)
    return Expansion(tuple(rows), tuple(split))


def _omitted(path: str, before: SideText, after: SideText) -> FileDiff:
    if Omitted.BINARY in (before, after):
        return FileDiff(path, "binary", 0, 0, (), None, "Binary file not shown.")
    return FileDiff(path, "too_large", 0, 0, (), None, "Too large to show here.")


def _checked(found: Sequence[Change], old_lines: int, new_lines: int) -> list[Change]:
    """`found`, if it is an ordered list of changes between files of these lengths whose
    unchanged stretches match up."""
    o = n = 0
    for b1, b2, a1, a2 in found:
        if not (o <= b1 <= b2 <= old_lines and n <= a1 <= a2 <= new_lines) or b1 - o != a1 - n:
            raise ValueError("the changes do not fit the two files")
        o, n = b2, a2
    if old_lines - o != new_lines - n:
        raise ValueError("the changes do not fit the two files")
    return list(found)


@dataclass(frozen=True, slots=True)
class _Sides:
    """Both files' keys (`diffstat.line_keys`) and highlighted lines."""

    old: list[str]
    new: list[str]
    old_lines: Sequence[Line]  # empty when no line was deleted: nothing reads it
    new_lines: Sequence[Line]


def _hunks(sides: _Sides, found: list[Change], context: int) -> tuple[list[Hunk], Gap | None]:
    hunks: list[Hunk] = []
    old_end = new_end = 0  # where the previous hunk ended
    for group in _groups(found, context):
        (b1, _, a1, _), (_, b2, _, a2) = group[0], group[-1]
        old_lo = max(old_end, b1 - context)
        new_lo = a1 - (b1 - old_lo)
        old_hi = min(len(sides.old), b2 + context)
        new_hi = a2 + (old_hi - b2)
        gap = _gap(old_end, new_end, old_lo - old_end, "middle" if hunks else "start")
        rows: list[Row] = []
        split: list[SplitRow] = []
        o, n = old_lo, new_lo
        for c1, c2, d1, d2 in group:
            _context(sides, o, n, c1 - o, rows, split)
            _changed(sides, (c1, c2, d1, d2), rows, split)
            o, n = c2, d2
        _context(sides, o, n, old_hi - o, rows, split)
        hunks.append(
            Hunk(
                old_lo + 1,
                old_hi - old_lo,
                new_lo + 1,
                new_hi - new_lo,
                gap,
                tuple(rows),
                tuple(split),
            )
        )
        old_end, new_end = old_hi, new_hi
    return hunks, _gap(old_end, new_end, len(sides.old) - old_end, "end")


def _groups(found: list[Change], context: int) -> list[list[Change]]:
    """Changes that share a hunk: git joins two when at most 2 x context unchanged lines
    lie between them (xdiff's xdl_get_hunk), so their context would meet or overlap."""
    groups: list[list[Change]] = []
    for change in found:
        if groups and change[0] - groups[-1][-1][1] <= 2 * context:
            groups[-1].append(change)
        else:
            groups.append([change])
    return groups


def _gap(old_end: int, new_end: int, count: int, edge: GapEdge) -> Gap | None:
    return Gap(old_end + 1, new_end + 1, count, edge) if count > 0 else None


def _context(
    sides: _Sides, o: int, n: int, count: int, rows: list[Row], split: list[SplitRow]
) -> None:
    for k in range(count):
        html = render(sides.new_lines[n + k])
        eol = sides.new[n + k].endswith("\n")  # only a last line without one holds "\n"
        after = Anchor("AFTER", n + k + 1)
        rows.append(Row("context", o + k + 1, n + k + 1, html, after, eol))
        split.append(
            SplitRow(
                Cell("context", o + k + 1, html, Anchor("BEFORE", o + k + 1), eol),
                Cell("context", n + k + 1, html, after, eol),
            )
        )


def _changed(sides: _Sides, change: Change, rows: list[Row], split: list[SplitRow]) -> None:
    """Deleted then added rows (git's order); side by side, the i-th deleted line faces
    the i-th added one, and each such pair gets its intraline emphasis."""
    b1, b2, a1, a2 = change
    old_marks: list[list[tuple[int, int]]] = [[] for _ in range(b2 - b1)]
    new_marks: list[list[tuple[int, int]]] = [[] for _ in range(a2 - a1)]
    for k in range(min(b2 - b1, a2 - a1)):
        old_line, new_line = sides.old_lines[b1 + k], sides.new_lines[a1 + k]
        old_marks[k], new_marks[k] = _emphasis(_text(old_line), _text(new_line))
    deleted = [
        _cell("delete", sides.old_lines[i], old_marks[i - b1], "del", i, sides.old[i], "BEFORE")
        for i in range(b1, b2)
    ]
    added = [
        _cell("add", sides.new_lines[i], new_marks[i - a1], "ins", i, sides.new[i], "AFTER")
        for i in range(a1, a2)
    ]
    rows.extend(Row("delete", c.line, None, c.html, c.anchor, c.no_newline) for c in deleted)
    rows.extend(Row("add", None, c.line, c.html, c.anchor, c.no_newline) for c in added)
    split.extend(SplitRow(left, right) for left, right in zip_longest(deleted, added))


def _cell(
    kind: Kind,
    line: Line,
    marks: list[tuple[int, int]],
    tag: MarkTag,
    index: int,
    key: str,
    side: Side,
) -> Cell:
    html = render(line, marks, tag)
    return Cell(kind, index + 1, html, Anchor(side, index + 1), key.endswith("\n"))


def _text(line: Line) -> str:
    return "".join(text for _, text in line)


_WORD = re.compile(r"\w+|\s+|[^\w\s]")


def _emphasis(old: str, new: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character ranges of each line that the other does not have, word by word."""
    if old == new or len(old) > INTRALINE_MAX_CHARS or len(new) > INTRALINE_MAX_CHARS:
        return [], []
    a, b = _WORD.findall(old), _WORD.findall(new)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < INTRALINE_MIN_RATIO:
        return [], []
    a_at, b_at = _offsets(a), _offsets(b)
    old_marks: list[tuple[int, int]] = []
    new_marks: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        _add_range(old_marks, a_at[i1], a_at[i2])
        _add_range(new_marks, b_at[j1], b_at[j2])
    return old_marks, new_marks


def _offsets(words: list[str]) -> list[int]:
    at = [0]
    for word in words:
        at.append(at[-1] + len(word))
    return at


def _add_range(marks: list[tuple[int, int]], start: int, end: int) -> None:
    if start == end:
        return
    if marks and marks[-1][1] == start:
        marks[-1] = (marks[-1][0], end)
    else:
        marks.append((start, end))
