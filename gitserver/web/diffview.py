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
`gitserver.web.diffstat`, intraline emphasis in `gitserver.web.emphasis`; this module
builds the body of one file on demand. A body is CPU work (up to ~0.5 s cold for a large
highlighted file): front ends build it in a thread (`asyncio.to_thread`), and pass a
`highlight.HighlightCache` so a reopened diff is not lexed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal

from markupsafe import Markup

from gitserver.web import emphasis
from gitserver.web.diffstat import (
    Change,
    Omitted,
    SideText,
    bounded,
    changes,
    ignoring_whitespace,
    line_keys,
    tally,
    too_large,
)
from gitserver.web.emphasis import Budget
from gitserver.web.highlight import Line, MarkTag, line_segments, render, split_lines

__all__ = [
    "CONTEXT_LINES",
    "EXPAND_LINES",
    "MAX_HIGHLIGHTED_DIFF_LINES",
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
# Lexing costs ~50 us a line of Python (both files of a 2,000-line file: ~200 ms of a
# ~220 ms body). Past this many lines in the two files together a body is plain text,
# which keeps a cold body under about half a second; a HighlightCache makes a reopened
# one ~15x cheaper.
MAX_HIGHLIGHTED_DIFF_LINES = 10_000

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
    section: str  # git's function context: the line git prints after the header

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

    def rows_by_anchor(self) -> dict[Anchor, tuple[int, int]]:
        """(hunk, row) of the unified row that shows each line, for placing comments: an
        unchanged line is there under both its BEFORE and its AFTER number (a comment
        made on either side of the split view)."""
        found: dict[Anchor, tuple[int, int]] = {}
        for h, hunk in enumerate(self.hunks):
            for r, row in enumerate(hunk.rows):
                found[row.anchor] = (h, r)
                if row.kind == "context" and row.old_line is not None:
                    found[Anchor("BEFORE", row.old_line)] = (h, r)
        return found


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
    ignore_whitespace: bool = False,
    highlighter: Highlighter = line_segments,
) -> FileDiff:
    """The diff of `path` from `before` to `after` (None: no file on that side).

    `found` is the changes when the caller has them (`diffstat.changes_from_patch` of
    `git diff --unified=0`, for git's own pairing); otherwise difflib computes them,
    comparing lines as `git diff -w` does with `ignore_whitespace` ("hide whitespace":
    a line that only changed its spacing is then context, shown as it is now).

    Raises:
        ValueError: `found` does not fit the two texts.
    """
    before, after = bounded(before), bounded(after)
    if isinstance(before, Omitted) or isinstance(after, Omitted):
        return _omitted(path, before, after)
    old, new = line_keys(before), line_keys(after)
    if found is None:
        found = changes(*_compared(old, new, ignore_whitespace))
    else:
        found = _checked(found, len(old), len(new))
    stat = tally(path, old, new, found)
    added, deleted = stat.added, stat.deleted
    if not found:
        return FileDiff(path, "unchanged", 0, 0, (), None, _unchanged(old, new))
    if reason := too_large(stat):
        return FileDiff(path, "too_large", added, deleted, (), None, reason)
    if len(old) + len(new) > MAX_HIGHLIGHTED_DIFF_LINES:
        highlighter = _plain
    sides = _Sides(
        old,
        new,
        highlighter(path, before) if before and deleted else (),
        highlighter(path, after) if after else (),
    )
    hunks, below = _hunks(sides, found, max(0, context))
    return FileDiff(path, "shown", added, deleted, tuple(hunks), below, "")


def expand_context(
    path: str,
    before: str,
    after: str,
    gap: Gap,
    *,
    ignore_whitespace: bool = False,
    highlighter: Highlighter = line_segments,
) -> Expansion:
    """The rows of unchanged lines `gap` names, for an "expand context" request.

    Raises:
        ValueError: the gap is out of range or not unchanged lines (a tampered request,
            or files that moved on since the page was drawn).
    """
    old, new = line_keys(before), line_keys(after)
    o, n, count = gap.old_start - 1, gap.new_start - 1, gap.count
    fits = min(o, n) >= 0 and count > 0 and o + count <= len(old) and n + count <= len(new)
    old_keys, new_keys = _compared(old[o : o + count], new[n : n + count], ignore_whitespace)
    if not fits or old_keys != new_keys:
        raise ValueError("the lines asked for are not unchanged context of this diff")
    sides = _Sides(old, new, (), highlighter(path, after))
    rows: list[Row] = []
    split: list[SplitRow] = []
    _context(sides, o, n, gap.count, rows, split)
    return Expansion(tuple(rows), tuple(split))


def _compared(
    old: list[str], new: list[str], ignore_whitespace: bool
) -> tuple[list[str], list[str]]:
    if ignore_whitespace:
        return ignoring_whitespace(old), ignoring_whitespace(new)
    return old, new


def _unchanged(old: list[str], new: list[str]) -> str:
    if old != new:
        return "Only whitespace changed."
    return "The content did not change." if old else "The file is empty."


def _plain(path: str, text: str) -> list[Line]:
    return [(("", line),) for line in split_lines(text)]


def _omitted(path: str, before: SideText, after: SideText) -> FileDiff:
    if Omitted.BINARY in (before, after):
        return FileDiff(path, "binary", 0, 0, (), None, "Binary file not shown.")
    return FileDiff(path, "too_large", 0, 0, (), None, "Too large to show here.")


def _checked(found: Sequence[Change], old_lines: int, new_lines: int) -> list[Change]:
    """`found`, if it is an ordered list of changes between files of these lengths whose
    unchanged stretches match up."""
    o = n = 0
    for b1, b2, a1, a2 in found:
        ordered = o <= b1 <= b2 <= old_lines and n <= a1 <= a2 <= new_lines
        if not ordered or b1 - o != a1 - n or (b1 == b2 and a1 == a2):
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
    budget: Budget = field(default_factory=lambda: Budget(emphasis.INTRALINE_BUDGET))


def _hunks(sides: _Sides, found: list[Change], context: int) -> tuple[list[Hunk], Gap | None]:
    hunks: list[Hunk] = []
    old_end = new_end = 0  # where the previous hunk ended
    section, searched = "", -1
    for group in _groups(found, context):
        (b1, _, a1, _), (_, b2, _, a2) = group[0], group[-1]
        old_lo = max(old_end, b1 - context)
        new_lo = a1 - (b1 - old_lo)
        old_hi = min(len(sides.old), b2 + context)
        new_hi = a2 + (old_hi - b2)
        gap = _gap(old_end, new_end, old_lo - old_end, "middle" if hunks else "start")
        rows, split = _rows(sides, group, (old_lo, new_lo), old_hi)
        section = _section(sides.old, old_lo - 1, searched) or section
        searched = old_lo - 1
        hunks.append(
            Hunk(
                old_lo + 1,
                old_hi - old_lo,
                new_lo + 1,
                new_hi - new_lo,
                gap,
                tuple(rows),
                tuple(split),
                section,
            )
        )
        old_end, new_end = old_hi, new_hi
    return hunks, _gap(old_end, new_end, len(sides.old) - old_end, "end")


def _rows(
    sides: _Sides, group: list[Change], start: tuple[int, int], old_hi: int
) -> tuple[list[Row], list[SplitRow]]:
    """A hunk's rows from before/after line indexes `start` to before index `old_hi`."""
    rows: list[Row] = []
    split: list[SplitRow] = []
    o, n = start
    for b1, b2, a1, a2 in group:
        _context(sides, o, n, b1 - o, rows, split)
        _changed(sides, (b1, b2, a1, a2), rows, split)
        o, n = b2, a2
    _context(sides, o, n, old_hi - o, rows, split)
    return rows, split


def _section(old: list[str], start: int, stop: int) -> str:
    """The nearest line above before-line index `start` (down to `stop`, excluded) that
    starts with a letter, "_" or "$", cut to 80 characters: git's default function
    context (xdiff's def_ff); a hunk that finds none keeps the previous hunk's."""
    for index in range(start, stop, -1):
        line = old[index]
        first = line[:1]
        if first in ("_", "$") or (first.isascii() and first.isalpha()):
            return line[:80].rstrip(" \t\r\n\v\f")
    return ""


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
        # Only the key of a last line without a newline holds one (diffstat.line_keys).
        no_newline = sides.new[n + k].endswith("\n")
        after = Anchor("AFTER", n + k + 1)
        rows.append(Row("context", o + k + 1, n + k + 1, html, after, no_newline))
        split.append(
            SplitRow(
                Cell("context", o + k + 1, html, Anchor("BEFORE", o + k + 1), no_newline),
                Cell("context", n + k + 1, html, after, no_newline),
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
        old_marks[k], new_marks[k] = emphasis.marks(_text(old_line), _text(new_line), sides.budget)
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
