"""Intraline emphasis: which words of a changed line its counterpart does not have.

A deleted line and the added line facing it in the split view are compared word by word
(a word, a run of spaces, or one punctuation character), so `count` -> `amount` marks
the word, not the letters `c`..`am`. The ranges go to `highlight.render`, which wraps
them in `<del>`/`<ins>` across the token spans.

Its cost is bounded per file, because difflib tries every pair of equal words and a line
of recurring ones ("(a(a(a..." against "(b(b(b...") took it 4 s: the common leading and
trailing words are matched without it, and the middle goes to difflib only while the
file's `Budget` lasts; past it the whole middle is marked.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

__all__ = [
    "INTRALINE_BUDGET",
    "INTRALINE_MAX_CHARS",
    "INTRALINE_MIN_RATIO",
    "Budget",
    "marks",
]

# Intraline emphasis compares words; past this a line is not compared (minified code),
# and below this share of unchanged words the pair is a rewrite, not an edit: marking
# nearly everything would only add noise.
INTRALINE_MAX_CHARS = 1_000
INTRALINE_MIN_RATIO = 0.5
INTRALINE_BUDGET = 200_000  # pairs of equal words difflib may try in one file (~60 ms)

Marks = list[tuple[int, int]]  # [start, end) character ranges, sorted

_WORD = re.compile(r"\w+|\s+|[^\w\s]")


def marks(old: str, new: str, budget: Budget) -> tuple[Marks, Marks]:
    """The character ranges of each line that the other does not have, word by word."""
    if old == new or len(old) > INTRALINE_MAX_CHARS or len(new) > INTRALINE_MAX_CHARS:
        return [], []
    a, b = _WORD.findall(old), _WORD.findall(new)
    ops = _changed_words(a, b, budget)
    changed = sum(i2 - i1 + j2 - j1 for i1, i2, j1, j2 in ops)
    if 1 - changed / (len(a) + len(b)) < INTRALINE_MIN_RATIO:
        return [], []
    a_at, b_at = _offsets(a), _offsets(b)
    old_marks: Marks = []
    new_marks: Marks = []
    for i1, i2, j1, j2 in ops:
        _add_range(old_marks, a_at[i1], a_at[i2])
        _add_range(new_marks, b_at[j1], b_at[j2])
    return old_marks, new_marks


def _changed_words(a: list[str], b: list[str], budget: Budget) -> list[tuple[int, int, int, int]]:
    """Word ranges (a1, a2, b1, b2) that differ: the common ends are cut first, and the
    middle goes to difflib while the budget lasts, else it is one change."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    left, right = a[head : len(a) - tail], b[head : len(b) - tail]
    middle = [(head, len(a) - tail, head, len(b) - tail)]
    if not left or not right:
        return middle if left or right else []
    in_right = Counter(right)
    if not budget.spend(sum(n * in_right[word] for word, n in Counter(left).items())):
        return middle
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    return [
        (head + i1, head + i2, head + j1, head + j2)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


class Budget:
    """Work one file's body may still spend (mutable: spent as rows are built)."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left

    def spend(self, cost: int) -> bool:
        """Whether `cost` fits; if it does, it is spent."""
        if cost > self.left:
            return False
        self.left -= cost
        return True


def _offsets(words: list[str]) -> list[int]:
    at = [0]
    for word in words:
        at.append(at[-1] + len(word))
    return at


def _add_range(ranges: Marks, start: int, end: int) -> None:
    if start == end:
        return
    if ranges and ranges[-1][1] == start:
        ranges[-1] = (ranges[-1][0], end)  # touching ranges read as one
    else:
        ranges.append((start, end))
