"""Line-level merge hunks against `git merge-file`: the conflicts are the ones git marks,
with the content git puts between its markers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitserver.content.hunks import merge_hunks

TEN = "".join(f"{n}\n" for n in range(1, 11))


def _git_conflicts(tmp_path: Path, base: str, ours: str, theirs: str) -> list[tuple[str, str, str]]:
    """(ours, base, theirs) between each set of markers `git merge-file --zdiff3` writes
    (the style that shows the base, with the lines both sides agree on moved out)."""
    names = []
    for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    merged = subprocess.run(
        ["git", "merge-file", "-p", "--zdiff3", *names],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found: list[tuple[str, str, str]] = []
    part: list[list[str]] = []
    for line in merged.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            part = [[]]
        elif line.startswith(("||||||| ", "=======")) and part:
            part.append([])
        elif line.startswith(">>>>>>> ") and part:
            found.append(("".join(part[0]), "".join(part[1]), "".join(part[2])))
            part = []
        elif part:
            part[-1].append(line)
    return found


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        pytest.param(TEN.replace("3\n", "three\n"), TEN.replace("3\n", "trois\n"), id="same-line"),
        pytest.param(TEN.replace("3\n", "three\n"), TEN.replace("8\n", "huit\n"), id="apart"),
        pytest.param(TEN.replace("3\n", "three\n"), TEN.replace("4\n", "quatre\n"), id="touching"),
        pytest.param(
            TEN.replace("3\n", "three\n"), TEN.replace("3\n", "three\n"), id="same-change"
        ),
        pytest.param(
            TEN.replace("3\n4\n", "x\n3\n4\ny\n"), TEN.replace("3\n4\n", ""), id="grow-shrink"
        ),
        pytest.param(TEN + "ours\n", TEN + "theirs\n", id="both-append"),
        pytest.param(
            TEN.replace("2\n", "two\n").replace("9\n", "nine\n"),
            TEN.replace("2\n", "deux\n").replace("9\n", "neuf\n"),
            id="two-conflicts",
        ),
        pytest.param(
            TEN.replace("4\n5\n6\n", "a\n5\nb\n"),
            TEN.replace("4\n5\n6\n", "c\n5\nd\n"),
            id="shared-middle",
        ),
    ],
)
def test_conflicts_are_the_ones_git_marks(tmp_path: Path, ours: str, theirs: str) -> None:
    hunks = merge_hunks(TEN.encode(), ours.encode(), theirs.encode())
    conflicts = [
        (h.destination.content.decode(), h.base.content.decode(), h.source.content.decode())
        for h in hunks
        if h.is_conflict
    ]
    assert conflicts == _git_conflicts(tmp_path, TEN, ours, theirs)


def test_line_ranges_count_from_zero_and_end_before_end_line() -> None:
    ours = TEN.replace("3\n", "three\n")
    theirs = TEN.replace("3\n", "trois\nagain\n").replace("8\n", "")
    [conflict, deletion] = merge_hunks(TEN.encode(), ours.encode(), theirs.encode())
    assert conflict.is_conflict and not deletion.is_conflict
    assert (conflict.base.start_line, conflict.base.end_line) == (2, 3)
    assert (conflict.destination.start_line, conflict.destination.end_line) == (2, 3)
    assert (conflict.source.start_line, conflict.source.end_line) == (2, 4)
    assert conflict.source.content == b"trois\nagain\n"
    # Line 8 (index 7) is gone from the source; the destination still has it, at 7.
    assert (deletion.base.start_line, deletion.base.end_line, deletion.base.content) == (
        7,
        8,
        b"8\n",
    )
    assert (deletion.source.start_line, deletion.source.end_line) == (8, 8)
    assert (deletion.destination.start_line, deletion.destination.content) == (7, b"8\n")
