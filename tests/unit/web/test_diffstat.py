"""The file list's counts and limits: git's numbers, GitLab's thresholds, never silent."""

from __future__ import annotations

import random
import subprocess
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitserver.web import diffstat
from gitserver.web.diffstat import (
    FileStat,
    Omitted,
    changes,
    changes_from_patch,
    decode,
    line_keys,
    plan,
    stats_from_numstat,
    summarize,
)
from tests.unit.web.diff_support import ENV, lines


def _numstat(before: str, after: str) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "old").write_text(before)
        (Path(tmp) / "new").write_text(after)
        out = subprocess.run(
            ["git", "diff", "--no-index", "--numstat", "old", "new"],
            cwd=tmp,
            capture_output=True,
            text=True,
            env=ENV,
            check=False,
        ).stdout
    added, deleted, _ = out.split("\t", 2) if out else ("0", "0", "")
    return int(added), int(deleted)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(lines(*range(50)), lines(*range(5, 40), 99, *range(41, 60)), id="mixed"),
        pytest.param("", lines(1, 2), id="added"),
        pytest.param("a\nb", "a\nb\n", id="final-newline"),
        pytest.param("same\n", "same\n", id="unchanged"),
    ],
)
def test_counts_match_git_numstat(before: str, after: str) -> None:
    stat = summarize("f", before, after)
    assert (stat.added, stat.deleted) == _numstat(before, after)


def test_counts_can_ignore_whitespace_as_git_diff_w_does() -> None:
    before, after = "a\n  b\nc\n", "a\nb\t\nC\n"
    assert summarize("f", before, after).changed_lines == 4
    stat = summarize("f", before, after, ignore_whitespace=True)
    assert (stat.added, stat.deleted) == (1, 1)


def test_a_missing_side_counts_every_line_of_the_other() -> None:
    assert summarize("f", None, "a\nb\n").changed_lines == 2
    assert summarize("f", "a\nb\nc", None).deleted == 3


def test_decode_is_gits_binary_test_and_keeps_line_numbers() -> None:
    assert decode(None) is None
    assert decode(b"PNG\0\x01") is Omitted.BINARY
    assert decode(b"a" * 9000 + b"\0") != Omitted.BINARY  # past git's 8,000-byte probe
    text = decode(b"caf\xe9\nna\xefve\n")
    assert isinstance(text, str) and len(line_keys(text)) == 2 and "\ufffd" in text
    assert decode(b"x" * (diffstat.MAX_DIFF_INPUT_CHARS + 1)) is Omitted.TOO_LARGE
    assert summarize("img.png", Omitted.BINARY, None).omitted is Omitted.BINARY


def test_changes_from_patch_reads_gits_unified_zero_headers() -> None:
    patch = "@@ -3 +3 @@\n-a\n+b\n@@ -10,0 +11,2 @@\n+c\n+d\n@@ -20,2 +21,0 @@\n-e\n-f\n"
    assert changes_from_patch(patch) == [(2, 3, 2, 3), (10, 10, 10, 12), (19, 21, 21, 21)]


def _stat(lines: int, chars: int | None = None, omitted: Omitted | None = None) -> FileStat:
    return FileStat("f", lines, 0, lines * 10 if chars is None else chars, omitted)


def test_file_limits_collapse_past_a_tenth_and_refuse_past_the_limit() -> None:
    states = [
        planned.state
        for planned in plan(
            [
                _stat(500),
                _stat(501),
                _stat(10, chars=20_001),
                _stat(5_001),
                _stat(10, chars=200_001),
                _stat(0, omitted=Omitted.BINARY),
                _stat(0, omitted=Omitted.TOO_LARGE),
            ]
        ).files
    ]
    assert states == [
        "expanded",
        "collapsed",
        "collapsed",
        "too_large",
        "too_large",
        "binary",
        "too_large",
    ]


def test_a_large_diff_collapses_then_stops_loading_and_says_so() -> None:
    result = plan([_stat(60) for _ in range(1_500)])
    assert len(result.files) == diffstat.MAX_DIFF_FILES and result.total_files == 1_500
    states = [f.state for f in result.files]
    # 83 x 60 = 4,980 lines fit the 5,000 that load by themselves; 834 x 60 = 50,040.
    assert states[:83] == ["expanded"] * 83
    assert states[83:833] == ["collapsed"] * (833 - 83)
    assert states[833:] == ["not_loaded"] * (1_000 - 833)
    assert "1,500 files" in result.notice and "50,000 lines" in result.notice
    assert result.added == 60 * 1_000
    assert all(f.reason for f in result.files if f.state != "expanded")


def test_the_file_limit_alone_is_named_too() -> None:
    result = plan([_stat(1) for _ in range(1_001)])
    assert "1,001 files" in result.notice and "lines" not in result.notice
    assert "not_loaded" not in {f.state for f in result.files}
    # Past 100 files the rest start collapsed, however small.
    assert [f.state for f in result.files[99:101]] == ["expanded", "collapsed"]


def test_a_small_diff_has_no_notice() -> None:
    result = plan([_stat(3), _stat(4)])
    assert result.notice == "" and [f.state for f in result.files] == ["expanded"] * 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "", "}", "u1", "u2", "u3"]), max_size=50),
    st.lists(st.sampled_from(["a", "b", "c", "", "}", "u1", "u2", "u4"]), max_size=50),
)
def test_changes_are_an_edit_script_from_before_to_after(old: list[str], new: list[str]) -> None:
    found = changes(old, new)
    rebuilt: list[str] = []
    at = 0
    for b1, b2, a1, a2 in found:
        assert at <= b1 <= b2 and len(rebuilt) <= a1 <= a2
        assert old[at:b1] == new[len(rebuilt) : a1]  # what no change names is unchanged
        rebuilt.extend(new[len(rebuilt) : a2])
        at = b2
    assert old[at:] == new[len(rebuilt) :]
    # Changes never touch: touching changes are one change.
    assert all(p[1] < q[0] for p, q in pairwise(found))


def test_stats_from_numstat_read_gits_own_counts(tmp_path: Path) -> None:
    def git(*args: str) -> bytes:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, env=ENV, capture_output=True, check=True
        ).stdout

    git("init", "-q")
    (tmp_path / "a.txt").write_text(lines(*range(10)))
    (tmp_path / "old name.txt").write_text(lines(*range(100, 130)))
    (tmp_path / "pic.bin").write_bytes(b"\0\1\2")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one")
    (tmp_path / "a.txt").write_text(lines(*range(1, 10), 99))
    (tmp_path / "old name.txt").rename(tmp_path / "new name.txt")
    (tmp_path / "pic.bin").write_bytes(b"\0\1\3")
    git("add", "-A")
    plain = stats_from_numstat(git("diff", "--cached", "--numstat", "-z", "--no-renames"))
    assert [(s.path, s.added, s.deleted, s.omitted) for s in plain] == [
        ("a.txt", 1, 1, None),
        ("new name.txt", 30, 0, None),
        ("old name.txt", 0, 30, None),
        ("pic.bin", 0, 0, Omitted.BINARY),
    ]
    renamed = stats_from_numstat(git("diff", "--cached", "--numstat", "-z", "-M"))
    assert [s.path for s in renamed] == ["a.txt", "new name.txt", "pic.bin"]
    assert summarize("a.txt", lines(*range(10)), lines(*range(1, 10), 99)).added == 1


def test_a_long_run_of_recurring_lines_is_diffed_in_bounded_time() -> None:
    # No line is unique, so no anchor helps; difflib alone took 46 s on this.
    rng = random.Random(2)
    old = [rng.choice(["", "}", "{", "x", "end"]) for _ in range(20_000)]
    new = list(old)
    for index in rng.sample(range(20_000), 200):
        new[index] = "changed"
    start = time.perf_counter()
    found = changes(old, new)
    assert time.perf_counter() - start < 2  # ~10 ms; generous for a shared machine
    (b1, b2, a1, a2), *more = found  # one stretch shown as replaced
    assert more == [] and old[:b1] == new[:a1] and old[b2:] == new[a2:]
