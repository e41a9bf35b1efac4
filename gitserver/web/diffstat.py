"""What a diff costs before it is shown: line changes, per-file counts, and the limits.

The file list of a pull request with 1,000 files must render fast, so it is built from
counts alone (`stats_from_numstat` of one `git diff --numstat -z`, ~2 ms for 1,000
files; or `summarize`, ~0.1 ms a file, when the blobs are in hand), and `plan` decides
with GitLab's diff limits which file bodies load by themselves, which wait for a click
and which are not shown at all, with the reason on the page each time: never silent.

GitLab's defaults (doc/administration/diff_limits.md): a patch of 200 KB, 1,000 files
and 50,000 lines per diff; a file past 10% of a limit is collapsed, past the limit it is
"too large". Its "safe" limits, past which every later file is collapsed, are 10% too
(100 files, 5,000 lines). GitLab counts patch bytes; this counts the characters of the
changed lines, which needs no encoding and is the same for ASCII.

A diff here is the lines unique to both sides matched first (the anchors of git's
`--patience`), then difflib between them, within a budget of work (`MATCH_BUDGET`).
Where every common line is unique that is exactly what `git diff` shows (the tests hold
it to that); on ambiguous edits git's Myers with its indent heuristic may pair lines
otherwise (same files, other rows). A caller that wants git's exact hunks passes
`changes_from_patch` of `git diff --unified=0` to `diffview.file_diff`.
"""

from __future__ import annotations

import enum
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import pairwise
from typing import Literal

__all__ = [
    "BINARY_PROBE_BYTES",
    "COLLAPSE_DIVISOR",
    "MATCH_BUDGET",
    "MAX_DIFF_FILES",
    "MAX_DIFF_INPUT_CHARS",
    "MAX_DIFF_LINES",
    "MAX_EXPANDED_FILES",
    "MAX_EXPANDED_LINES",
    "MAX_FILE_CHANGED_CHARS",
    "MAX_FILE_CHANGED_LINES",
    "Change",
    "DiffPlan",
    "FileStat",
    "Omitted",
    "PlannedFile",
    "SideText",
    "bounded",
    "changes",
    "changes_from_patch",
    "decode",
    "ignoring_whitespace",
    "line_keys",
    "plan",
    "stats_from_numstat",
    "summarize",
    "tally",
    "too_large",
]

MAX_FILE_CHANGED_LINES = 5_000  # added + deleted; past it a file is "too large to show"
MAX_FILE_CHANGED_CHARS = 200_000  # GitLab's 200 KB patch
COLLAPSE_DIVISOR = 10  # past 1/10 of a file limit the file starts collapsed
MAX_DIFF_FILES = 1_000  # files listed; the rest are counted and named as left out
MAX_DIFF_LINES = 50_000  # changed lines; files past it list but do not load
MAX_EXPANDED_FILES = MAX_DIFF_FILES // COLLAPSE_DIVISOR  # later files start collapsed
MAX_EXPANDED_LINES = MAX_DIFF_LINES // COLLAPSE_DIVISOR
# difflib's matcher is quadratic on repetitive input: a side this long is not diffed.
MAX_DIFF_INPUT_CHARS = 2 * 1024 * 1024
# Pairs of equal lines difflib may try in one file (~0.3 us each): see _matched.
MATCH_BUDGET = 500_000
BINARY_PROBE_BYTES = 8_000  # git's buffer_is_binary() looks this far for a NUL


class Omitted(enum.Enum):
    """A side that exists but is not text to diff."""

    BINARY = "binary"
    TOO_LARGE = "too_large"  # over the blob read limit or MAX_DIFF_INPUT_CHARS


SideText = str | Omitted | None  # None: no file on that side (added or deleted)

# A change: before lines [b1, b2) became after lines [a1, a2), counted from 0.
Change = tuple[int, int, int, int]


def decode(data: bytes | None) -> SideText:
    """A blob as a diff side: None stays None, binary (git's test) is Omitted.BINARY,
    undecodable bytes become U+FFFD, which keeps every newline and line number."""
    if data is None:
        return None
    if b"\0" in data[:BINARY_PROBE_BYTES]:
        return Omitted.BINARY
    return bounded(data.decode("utf-8", "replace"))


def line_keys(text: str | None) -> list[str]:
    """Lines to compare, as git does: a last line without its newline differs from the
    same text with one ("\\ No newline at end of file"), and a CR is content."""
    if not text:
        return []
    keys = text.split("\n")
    if keys[-1] == "":
        keys.pop()
    else:
        keys[-1] += "\n"  # no other key holds a newline, so this one equals none of them
    return keys


_SPACE = re.compile(r"[ \t\n\v\f\r]+")  # C's isspace(), which git -w ignores


def ignoring_whitespace(keys: Sequence[str]) -> list[str]:
    """Keys that compare as `git diff -w` compares lines: without any whitespace (so a
    missing final newline is no change either)."""
    return [_SPACE.sub("", key) for key in keys]


def changes(before: Sequence[str], after: Sequence[str]) -> list[Change]:
    """The changed line ranges between two key lists, in order."""
    # Most edits touch a few places: the common ends need no more work.
    head = 0
    limit = min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    before, after = before[head : len(before) - tail], after[head : len(after) - tail]
    found: list[Change] = []
    b = a = 0
    budget = MATCH_BUDGET
    # Lines that occur once on each side and in the same order are matched first (the
    # patience diff's anchors): difflib then only sees the short stretches between them.
    # On a whole file it spends most of its time on lines that recur everywhere (blank
    # lines, closing brackets).
    for b_at, a_at in (*_anchors(before, after), (len(before), len(after))):
        if b_at - b or a_at - a:
            region, budget = _matched(before, after, (b, b_at, a, a_at), budget)
            found.extend((head + b1, head + b2, head + a1, head + a2) for b1, b2, a1, a2 in region)
        b, a = b_at + 1, a_at + 1
    return found


def _anchors(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """The longest run, in order on both sides, of lines unique to each side."""
    in_old, in_new = Counter(old), Counter(new)
    where = {line: j for j, line in enumerate(new) if in_new[line] == 1}
    pairs = [(i, where[line]) for i, line in enumerate(old) if in_old[line] == 1 and line in where]
    if all(p[1] < q[1] for p, q in pairwise(pairs)):
        return pairs  # nothing moved, the usual case: all of them
    # Longest increasing subsequence of the after positions (patience sorting).
    tops: list[int] = []  # after position ending the best run of each length
    ends: list[int] = []  # index into `pairs` of that run's last pair
    back = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        length = bisect_left(tops, j)
        if length == len(tops):
            tops.append(j)
            ends.append(index)
        else:
            tops[length], ends[length] = j, index
        back[index] = ends[length - 1] if length else -1
    run = []
    at = ends[-1] if ends else -1
    while at != -1:
        run.append(pairs[at])
        at = back[at]
    return run[::-1]


def _matched(
    old: Sequence[str], new: Sequence[str], span: Change, budget: int
) -> tuple[list[Change], int]:
    """The changes between old[b1:b2] and new[a1:a2] of `span`, and the budget left."""
    b1, b2, a1, a2 = span
    # The common ends need no matcher (git trims them too); often nothing else is left.
    while b1 < b2 and a1 < a2 and old[b1] == new[a1]:
        b1, a1 = b1 + 1, a1 + 1
    while b1 < b2 and a1 < a2 and old[b2 - 1] == new[a2 - 1]:
        b2, a2 = b2 - 1, a2 - 1
    if b1 == b2 or a1 == a2:
        return ([(b1, b2, a1, a2)] if b1 != b2 or a1 != a2 else []), budget
    left, right = old[b1:b2], new[a1:a2]
    cost = len(left) * len(right)  # at least the pairs of equal lines difflib may try
    if cost > budget:
        # difflib tries every pair of equal lines: ~0.3 us each, quadratic on a stretch
        # of recurring lines (5,000 lines of a few values: 3 s). Past the budget the
        # stretch is shown as replaced: a larger diff, in bounded time.
        in_right = Counter(right)
        cost = sum(count * in_right[line] for line, count in Counter(left).items())
        if cost > budget:
            return [(b1, b2, a1, a2)], 0
    # autojunk would treat frequent lines (blank lines, braces) as noise past 200 lines.
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    found = [
        (b1 + i1, b1 + i2, a1 + j1, a1 + j2)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
    return found, budget - cost


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def changes_from_patch(patch: str) -> list[Change]:
    """The changes a `git diff --unified=0` output lists in its hunk headers."""
    found = []
    for match in _HUNK.finditer(patch):
        old_start, old_count, new_start, new_count = match.groups()
        b_count = 1 if old_count is None else int(old_count)
        a_count = 1 if new_count is None else int(new_count)
        # With no lines on a side, git names the line the change comes after.
        b1 = int(old_start) - (1 if b_count else 0)
        a1 = int(new_start) - (1 if a_count else 0)
        found.append((b1, b1 + b_count, a1, a1 + a_count))
    return found


@dataclass(frozen=True, slots=True)
class FileStat:
    """One file's size of change, for the file list: no rows, no highlighting."""

    path: str
    added: int
    deleted: int
    changed_chars: int
    omitted: Omitted | None = None

    @property
    def changed_lines(self) -> int:
        return self.added + self.deleted


def summarize(
    path: str, before: SideText, after: SideText, *, ignore_whitespace: bool = False
) -> FileStat:
    """How many lines `path` gains and loses between two sides."""
    before, after = bounded(before), bounded(after)
    if isinstance(before, Omitted):
        return FileStat(path, 0, 0, 0, before)
    if isinstance(after, Omitted):
        return FileStat(path, 0, 0, 0, after)
    old, new = line_keys(before), line_keys(after)
    if ignore_whitespace:
        return tally(path, old, new, changes(ignoring_whitespace(old), ignoring_whitespace(new)))
    return tally(path, old, new, changes(old, new))


def bounded(side: SideText) -> SideText:
    """`side`, or Omitted.TOO_LARGE past MAX_DIFF_INPUT_CHARS."""
    if isinstance(side, str) and len(side) > MAX_DIFF_INPUT_CHARS:
        return Omitted.TOO_LARGE
    return side


def tally(path: str, old: Sequence[str], new: Sequence[str], found: Sequence[Change]) -> FileStat:
    """The counts of `found`, changes between the key lists `old` and `new`."""
    added = deleted = chars = 0
    for b1, b2, a1, a2 in found:
        deleted += b2 - b1
        added += a2 - a1
        chars += sum(map(len, old[b1:b2])) + sum(map(len, new[a1:a2]))
    return FileStat(path, added, deleted, chars)


def too_large(stat: FileStat) -> str:
    """The sentence that says why a file is too large to show; "" when it is not."""
    if stat.omitted is Omitted.TOO_LARGE:
        return "Too large to show here."
    if stat.changed_lines > MAX_FILE_CHANGED_LINES or stat.changed_chars > MAX_FILE_CHANGED_CHARS:
        return (
            f"Too large to show here ({stat.changed_lines:,} changed lines; the limits are "
            f"{MAX_FILE_CHANGED_LINES:,} lines and {MAX_FILE_CHANGED_CHARS // 1000} KB)."
        )
    return ""


def stats_from_numstat(output: bytes) -> list[FileStat]:
    """The file stats `git diff --numstat -z` printed (binary files show "-"), for a file
    list that reads no blob: one git process counts a 1,000-file diff in C. It gives no
    character counts, so the character limit is then only applied to a body, by
    `diffview.file_diff`."""
    fields = output.split(b"\0")
    stats = []
    index = 0
    while index < len(fields) and fields[index]:
        added, deleted, path = fields[index].split(b"\t", 2)
        index += 1
        if not path:  # a rename (-M): the old path, then the new one, in their own fields
            path = fields[index + 1]
            index += 2
        name = path.decode("utf-8", "surrogateescape")
        if added == b"-":
            stats.append(FileStat(name, 0, 0, 0, Omitted.BINARY))
        else:
            stats.append(FileStat(name, int(added), int(deleted), 0))
    return stats


FileState = Literal["expanded", "collapsed", "too_large", "binary", "not_loaded"]


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file of the list: whether its body loads by itself (`expanded`), on a click
    (`collapsed`), or not at all, and the sentence that says why (empty if expanded)."""

    stat: FileStat
    state: FileState
    reason: str


@dataclass(frozen=True, slots=True)
class DiffPlan:
    files: tuple[PlannedFile, ...]  # at most MAX_DIFF_FILES
    total_files: int
    added: int  # over the listed files
    deleted: int
    notice: str  # what the limits left out of the page; "" when nothing


def plan(stats: Sequence[FileStat]) -> DiffPlan:
    """Apply the file and diff limits to a diff's files, in the order shown."""
    planned = []
    running = 0
    overflow = False
    for index, stat in enumerate(stats[:MAX_DIFF_FILES]):
        running += stat.changed_lines
        overflow = overflow or running > MAX_DIFF_LINES
        state, reason = _file_state(stat, index, running, overflow)
        planned.append(PlannedFile(stat, state, reason))
    listed = stats[:MAX_DIFF_FILES]
    return DiffPlan(
        tuple(planned),
        len(stats),
        sum(s.added for s in listed),
        sum(s.deleted for s in listed),
        _notice(len(stats), overflow),
    )


def _file_state(stat: FileStat, index: int, running: int, overflow: bool) -> tuple[FileState, str]:
    if stat.omitted is Omitted.BINARY:
        return "binary", "Binary file not shown."
    reason = too_large(stat)
    if reason:
        return "too_large", reason
    if overflow:
        return "not_loaded", "Not loaded: this diff is over its size limit."
    big_file = (
        stat.changed_lines > MAX_FILE_CHANGED_LINES // COLLAPSE_DIVISOR
        or stat.changed_chars > MAX_FILE_CHANGED_CHARS // COLLAPSE_DIVISOR
    )
    if big_file:
        return "collapsed", f"Collapsed: {stat.changed_lines:,} changed lines."
    if index >= MAX_EXPANDED_FILES or running > MAX_EXPANDED_LINES:
        return "collapsed", "Collapsed: this diff is large."
    return "expanded", ""


def _notice(total: int, overflow: bool) -> str:
    parts = []
    if total > MAX_DIFF_FILES:
        parts.append(f"This diff changes {total:,} files; the first {MAX_DIFF_FILES:,} are listed.")
    if overflow:
        parts.append(
            f"It changes more than {MAX_DIFF_LINES:,} lines, so the files past that point "
            "are listed without their changes."
        )
    if parts:
        parts.append("Use git diff locally to see everything.")
    return " ".join(parts)
