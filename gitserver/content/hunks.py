"""The line-level three-way merge of one file, as CodeCommit's merge hunks.

A hunk is a region where at least one side changed the base. Where both sides changed
regions that overlap or touch, and not identically, the hunk is a conflict: that is
git's rule (xdiff's xmerge treats touching changes as one conflict). Lines both sides
agree on at a conflict's start and end are left out of it, and the base keeps the whole
region: the conflicts `git merge` marks with `merge.conflictStyle=zdiff3`, the style that
shows the base (tests/unit/gitserver/test_merge_hunks.py holds them to it). Regions
neither side changed are not hunks. The diff is difflib's, not git's (histogram): on
ambiguous edits the two may align lines differently.

Lines are counted from 0 and a range ends before `end_line` (CodeCommit's own example of
DescribeMergeConflicts gives a three-line hunk as startLine 0, endLine 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = ["HunkDetail", "MergeHunk", "changes", "lines", "merge_hunks"]


@dataclass(frozen=True, slots=True)
class HunkDetail:
    start_line: int
    end_line: int
    content: bytes


@dataclass(frozen=True, slots=True)
class MergeHunk:
    is_conflict: bool
    source: HunkDetail
    destination: HunkDetail
    base: HunkDetail


# A change: base lines [b1, b2) became side lines [s1, s2).
Change = tuple[int, int, int, int]


def lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def changes(old: list[bytes], new: list[bytes]) -> list[Change]:
    # autojunk would treat frequent lines (blank lines, braces) as noise in files over
    # 200 lines and give diffs no one would write.
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    return [(b1, b2, s1, s2) for tag, b1, b2, s1, s2 in matcher.get_opcodes() if tag != "equal"]


def merge_hunks(base: bytes, destination: bytes, source: bytes) -> list[MergeHunk]:
    """The hunks of merging `source` into `destination` from their common `base`."""
    old, ours, theirs = lines(base), lines(destination), lines(source)
    mine, yours = changes(old, ours), changes(old, theirs)
    tagged = sorted([(c, 0) for c in mine] + [(c, 1) for c in yours])
    hunks: list[MergeHunk] = []
    at = 0
    while at < len(tagged):
        group = [tagged[at]]
        start, end = tagged[at][0][0], tagged[at][0][1]
        at += 1
        # Changes that overlap or touch the group's base range join it.
        while at < len(tagged) and tagged[at][0][0] <= end:
            end = max(end, tagged[at][0][1])
            group.append(tagged[at])
            at += 1
        ours_range = _side_range(mine, [c for c, side in group if side == 0], start, end)
        theirs_range = _side_range(yours, [c for c, side in group if side == 1], start, end)
        both = {side for _, side in group} == {0, 1}
        ours_lines = ours[ours_range[0] : ours_range[1]]
        theirs_lines = theirs[theirs_range[0] : theirs_range[1]]
        conflict = both and ours_lines != theirs_lines
        if conflict:
            ours_range, theirs_range = _trimmed(ours, theirs, ours_range, theirs_range)
        hunks.append(
            MergeHunk(
                conflict,
                _detail(theirs, theirs_range),
                _detail(ours, ours_range),
                _detail(old, (start, end)),
            )
        )
    return hunks


def _side_range(every: list[Change], group: list[Change], start: int, end: int) -> tuple[int, int]:
    """Where base lines [start, end) are on a side, given that side's changes."""
    if group:
        first, last = group[0], group[-1]
        return first[2] - (first[0] - start), last[3] + (end - last[1])
    # The side left this range alone: it is shifted by what the side's earlier changes
    # added or removed.
    shift = sum((s2 - s1) - (b2 - b1) for b1, b2, s1, s2 in every if b2 <= start)
    return start + shift, end + shift


def _trimmed(
    ours: list[bytes], theirs: list[bytes], mine: tuple[int, int], yours: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    (a1, a2), (b1, b2) = mine, yours
    while a1 < a2 and b1 < b2 and ours[a1] == theirs[b1]:
        a1, b1 = a1 + 1, b1 + 1
    while a2 > a1 and b2 > b1 and ours[a2 - 1] == theirs[b2 - 1]:
        a2, b2 = a2 - 1, b2 - 1
    return (a1, a2), (b1, b2)


def _detail(side: list[bytes], span: tuple[int, int]) -> HunkDetail:
    return HunkDetail(span[0], span[1], b"".join(side[span[0] : span[1]]))
