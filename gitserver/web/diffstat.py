"""What a diff costs before it is shown: line changes, per-file counts, and the limits.

The file list of a pull request with 1,000 files must render fast, so it is built from
`summarize` (counts, no highlighting, no rows) and `plan` decides, with GitLab's diff
limits, which file bodies load by themselves, which wait for a click and which are not
shown at all, with the reason on the page each time: never a silent cut.

GitLab's defaults (doc/administration/diff_limits.md): a patch of 200 KB, 1,000 files
and 50,000 lines per diff; a file past 10% of a limit is collapsed, past the limit it is
"too large". Its "safe" limits, past which every later file is collapsed, are 10% too
(100 files, 5,000 lines). GitLab counts patch bytes; this counts the characters of the
changed lines, which needs no encoding and is the same for ASCII.

A diff here is difflib's, as in `gitserver.content.hunks`; `git diff`'s Myers with its
indent heuristic may align an ambiguous edit differently (same lines changed, other
pairing). A caller that wants git's exact hunks passes `changes_from_patch` of
`git diff --unified=0` to `diffview.file_diff`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

__all__ = [
    "BINARY_PROBE_BYTES",
    "COLLAPSE_DIVISOR",
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
    "changes",
    "changes_from_patch",
    "decode",
    "line_keys",
    "plan",
    "summarize",
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
    if len(data) > MAX_DIFF_INPUT_CHARS:
        return Omitted.TOO_LARGE
    return data.decode("utf-8", "replace")


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


def changes(before: Sequence[str], after: Sequence[str]) -> list[Change]:
    """The changed line ranges between two key lists, in order."""
    # Most edits touch a few places: the common ends need no matcher (git trims them too).
    head = 0
    limit = min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    old, new = before[head : len(before) - tail], after[head : len(after) - tail]
    if not old or not new:
        return [(head, head + len(old), head, head + len(new))] if old or new else []
    # autojunk would treat frequent lines (blank lines, braces) as noise past 200 lines.
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    return [
        (head + b1, head + b2, head + a1, head + a2)
        for tag, b1, b2, a1, a2 in matcher.get_opcodes()
        if tag != "equal"
    ]


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


def summarize(path: str, before: SideText, after: SideText) -> FileStat:
    """How many lines `path` gains and loses between two sides."""
    if isinstance(before, Omitted):
        return FileStat(path, 0, 0, 0, before)
    if isinstance(after, Omitted):
        return FileStat(path, 0, 0, 0, after)
    old, new = line_keys(before), line_keys(after)
    added = deleted = chars = 0
    for b1, b2, a1, a2 in changes(old, new):
        deleted += b2 - b1
        added += a2 - a1
        chars += sum(map(len, old[b1:b2])) + sum(map(len, new[a1:a2]))
    return FileStat(path, added, deleted, chars)


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
    too_large = (
        stat.omitted is Omitted.TOO_LARGE
        or stat.changed_lines > MAX_FILE_CHANGED_LINES
        or stat.changed_chars > MAX_FILE_CHANGED_CHARS
    )
    if too_large:
        return "too_large", (
            f"Too large to show here ({stat.changed_lines:,} changed lines; the limits are "
            f"{MAX_FILE_CHANGED_LINES:,} lines and {MAX_FILE_CHANGED_CHARS // 1000} KB)."
        )
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
