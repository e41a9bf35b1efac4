"""Where a commented line goes through a diff, and which reaction a value names."""

from __future__ import annotations

import pytest

from gitserver.pulls import errors
from gitserver.pulls.locate import Hunk, moved_line
from gitserver.pulls.reactions import parse

# Old lines 3-4 replaced by one line; two lines inserted after old line 7.
CHANGES = [Hunk(3, 2, 1), Hunk(7, 0, 2)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [(1, 1), (2, 2), (3, None), (4, None), (5, 4), (7, 6), (8, 9), (20, 21)],
)
def test_moved_line(line: int, expected: int | None) -> None:
    assert moved_line(line, CHANGES) == expected


def test_an_unchanged_file_keeps_every_line() -> None:
    assert moved_line(5, []) == 5


def test_an_insertion_at_the_top_moves_every_line() -> None:
    assert moved_line(1, [Hunk(0, 0, 3)]) == 4


@pytest.mark.parametrize("value", ["\U0001f44d", ":thumbsup:", "thumbsup", "U+1F44D", "u+1f44d"])
def test_every_spelling_of_a_reaction(value: str) -> None:
    found = parse(value)
    assert found is not None and found.short_code == "thumbsup"


def test_blank_or_none_removes_and_unknown_is_refused() -> None:
    assert parse("") is None and parse("none") is None
    with pytest.raises(errors.InvalidReactionValue):
        parse(":rocketship:")
    with pytest.raises(errors.ReactionValueRequired):
        parse(None)
