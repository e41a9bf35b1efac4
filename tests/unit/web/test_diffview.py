"""One file's diff against `git diff --no-index` on the same texts: the same hunks, the
same rows with the same line numbers, and the anchors a CodeCommit comment uses."""

from __future__ import annotations

import html
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitserver.web import diffview, emphasis
from gitserver.web.diffstat import Omitted, changes_from_patch
from gitserver.web.diffview import (
    Anchor,
    FileDiff,
    Gap,
    expand_context,
    file_diff,
)
from tests.unit.web.diff_support import GitRow, git_diff, git_hunks, lines


def _ours(diff: FileDiff) -> list[tuple[str, list[GitRow], set[int]]]:
    return [
        (
            f"{hunk.header} {hunk.section}".rstrip(),
            [(row.kind, row.old_line, row.new_line) for row in hunk.rows],
            {i for i, row in enumerate(hunk.rows) if row.no_newline},
        )
        for hunk in diff.hunks
    ]


def _assert_like_git(before: str, after: str, context: int = 3) -> FileDiff:
    diff = file_diff("f.txt", before, after, context=context)
    assert _ours(diff) == git_hunks(git_diff(before, after, context))
    return diff


def _apart(unchanged: int) -> str:
    """FORTY with line 10 and the line `unchanged` lines after it replaced."""
    second = 10 + unchanged + 1
    return lines(*FORTY[:9], 90, *FORTY[10 : second - 1], 91, *FORTY[second:])


_BODY = "".join(f"    x{n} = {n}\n" for n in range(12))
_CODE = (
    "import os\n\n"
    f"class Thing:  \r\n{_BODY}    y = 1\n{_BODY}    y = 2\n{_BODY}"
    f"$weird{'_' * 90}\n{_BODY}    z = 1\n"
)
TEN = list(range(1, 11))
FORTY = list(range(1, 41))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(lines(*TEN), lines(*TEN[:4], *TEN[5:]), id="delete-one"),
        pytest.param(lines(*TEN), lines(0, *TEN), id="insert-at-start"),
        pytest.param(lines(*TEN), lines(*TEN, 11), id="append-at-end"),
        pytest.param(lines(*FORTY), lines(*FORTY[:5], 99, *FORTY[12:30], *FORTY[31:]), id="two"),
        # Changes 6 unchanged lines apart share a hunk; 7 apart do not (2 x context).
        pytest.param(lines(*FORTY), _apart(6), id="6-apart"),
        pytest.param(lines(*FORTY), _apart(7), id="7-apart"),
        pytest.param("", lines(1, 2, 3), id="from-empty"),
        pytest.param(lines(1, 2, 3), "", id="to-empty"),
        pytest.param("a\nb\nc", "a\nb\nc\n", id="newline-added-at-end"),
        pytest.param("a\nb\nc\n", "a\nb\nd", id="newline-dropped-at-end"),
        pytest.param("a\nb\nc", "a\nB\nc", id="no-newline-both"),
        pytest.param("a\r\nb\r\nc\r\n", "a\r\nb\nc\r\n", id="crlf-to-lf-is-a-change"),
        pytest.param("a\x0cb\nc\n", "a\x0cb\nC\n", id="form-feed-inside-a-line"),
        pytest.param(_CODE, _CODE.replace("    y = 2", "    y = 3"), id="function-context"),
        pytest.param(_CODE, _CODE.replace("= 1\n", "= -1\n"), id="context-kept-across"),
    ],
)
def test_rows_and_line_numbers_match_git(before: str, after: str) -> None:
    _assert_like_git(before, after)


@pytest.mark.parametrize("context", [0, 1, 5])
def test_other_context_sizes_match_git(context: int) -> None:
    after = lines(*FORTY[:5], 99, *FORTY[12:20], *FORTY[21:30], 98, *FORTY[30:])
    _assert_like_git(lines(*FORTY), after, context)


_edits = st.lists(
    st.tuples(st.sampled_from(["keep", "drop", "swap", "insert"]), st.integers(0, 2)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits)
def test_random_edits_of_distinct_lines_match_git(edits: list[tuple[str, int]]) -> None:
    # Distinct lines and no reordering: one longest common subsequence, so difflib and
    # git's Myers must agree on every row.
    before, after, fresh = [], [], 1000
    for index, (op, extra) in enumerate(edits):
        line = f"line {index}\n"
        before.append(line)
        if op in ("keep", "insert"):
            after.append(line)
        if op in ("swap", "insert"):
            after.extend(f"new {fresh + k}\n" for k in range(extra + 1))
            fresh += extra + 1
    _assert_like_git("".join(before), "".join(after))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["{", "}", "x = 1", "", "return"]), max_size=40),
    st.lists(st.sampled_from(["{", "}", "x = 1", "", "return", "y"]), max_size=40),
)
def test_git_changes_passed_in_give_git_exact_hunks(old: list[str], new: list[str]) -> None:
    # Repetitive lines are ambiguous: difflib may pair them otherwise than git. Given git's
    # own changes (--unified=0), the view draws git's hunks exactly.
    before = "".join(f"{line}\n" for line in old)
    after = "".join(f"{line}\n" for line in new)
    found = changes_from_patch(git_diff(before, after, context=0))
    diff = file_diff("f.c", before, after, found=found)
    assert _ours(diff) == git_hunks(git_diff(before, after))


def test_changes_that_do_not_fit_the_texts_are_refused() -> None:
    with pytest.raises(ValueError):
        file_diff("f", "a\nb\n", "a\nc\n", found=[(5, 6, 5, 6)])
    with pytest.raises(ValueError):
        file_diff("f", "a\nb\n", "a\nc\nd\n", found=[(1, 2, 1, 2)])


def test_anchors_are_codecommit_locations() -> None:
    diff = file_diff("f.txt", lines(1, 2, 3), lines(1, 20, 3, 4))
    anchors = [(row.kind, row.anchor) for row in diff.hunks[0].rows]
    assert anchors == [
        ("context", Anchor("AFTER", 1)),
        ("delete", Anchor("BEFORE", 2)),
        ("add", Anchor("AFTER", 2)),
        ("context", Anchor("AFTER", 3)),
        ("add", Anchor("AFTER", 4)),
    ]
    left = [cell.anchor for row in diff.hunks[0].split_rows if (cell := row.left)]
    assert left == [Anchor("BEFORE", n) for n in (1, 2, 3)]
    placed = diff.rows_by_anchor()
    assert placed[Anchor("BEFORE", 3)] == placed[Anchor("AFTER", 3)] == (0, 3)
    assert placed[Anchor("BEFORE", 2)] == (0, 1) and Anchor("AFTER", 5) not in placed


def test_split_pairs_the_ith_deleted_line_with_the_ith_added_one() -> None:
    diff = file_diff("f.txt", lines(1, 2, 3, 4, 5), lines(1, 20, 30, 40, 50, 60, 5))
    pairs = [
        (row.left.line if row.left else None, row.right.line if row.right else None)
        for row in diff.hunks[0].split_rows
    ]
    assert pairs == [(1, 1), (2, 2), (3, 3), (4, 4), (None, 5), (None, 6), (5, 7)]
    kinds = [(r.left and r.left.kind, r.right and r.right.kind) for r in diff.hunks[0].split_rows]
    assert kinds[1] == ("delete", "add") and kinds[4] == (None, "add")


def test_intraline_marks_the_changed_words_only() -> None:
    diff = file_diff("f.txt", "total = price * count\n", "total = price * amount\n")
    delete, add = diff.hunks[0].rows
    assert delete.html == "total = price * <del>count</del>"
    assert add.html == "total = price * <ins>amount</ins>"
    split = diff.hunks[0].split_rows[0]
    assert split.left is not None and split.left.html == delete.html


def test_intraline_across_highlighted_tokens_stays_balanced() -> None:
    diff = file_diff("f.py", 'x = call("a<b", 1)\n', 'x = call("a<c", 2)\n')
    delete, add = diff.hunks[0].rows
    assert "<del>" in delete.html and "<ins>" in add.html
    assert "&lt;" in delete.html and "<b" not in delete.html.replace("<del>", "")
    for fragment in (delete.html, add.html):
        assert fragment.count("<span") == fragment.count("</span>")
        assert fragment.count("<del>") == fragment.count("</del>")
        assert fragment.count("<ins>") == fragment.count("</ins>")


def test_a_rewritten_line_gets_no_emphasis() -> None:
    diff = file_diff("f.txt", "alpha beta gamma\n", "one two three four\n")
    assert "<del>" not in diff.hunks[0].rows[0].html
    assert "<ins>" not in diff.hunks[0].rows[1].html


def test_html_in_the_files_is_escaped() -> None:
    evil = '<script>alert(1)</script>\n<img src=x onerror="alert(2)">\n'
    for path in ("evil.html", "evil.txt", "<img src=x onerror=alert(1)>.py"):
        diff = file_diff(path, "ok\n", evil)
        for row in diff.hunks[0].rows:
            tags = set(re.findall(r"</?(\w+)", row.html))
            assert tags <= {"span", "del", "ins"}, row.html
        shown = [html.unescape(re.sub(r"<[^>]+>", "", row.html)) for row in diff.hunks[0].rows]
        assert shown == ["ok", "<script>alert(1)</script>", '<img src=x onerror="alert(2)">']


def test_gaps_name_the_hidden_lines_and_expand_to_the_same_rows() -> None:
    before = lines(*range(1, 101))
    after = before.replace("line 50\n", "line fifty\n")
    diff = file_diff("f.txt", before, after)
    (hunk,) = diff.hunks
    assert hunk.gap_above == Gap(1, 1, 46, "start")
    assert diff.gap_below == Gap(54, 54, 47, "end")
    up, rest = hunk.gap_above.above()
    assert up == Gap(27, 27, 20, "start") and rest == Gap(1, 1, 26, "start")
    down, rest = diff.gap_below.below(100)
    assert down == diff.gap_below and rest is None
    rows = expand_context("f.txt", before, after, up).rows
    assert [(r.kind, r.old_line, r.new_line) for r in rows] == [
        ("context", n, n) for n in range(27, 47)
    ]
    assert rows[0].html == "line 27"


def test_expand_refuses_ranges_that_are_not_unchanged_context() -> None:
    before = lines(*range(1, 21))
    after = before.replace("line 10\n", "line ten\n")
    for gap in (Gap(8, 8, 5, "middle"), Gap(18, 18, 5, "end"), Gap(0, 1, 2, "start")):
        with pytest.raises(ValueError):
            expand_context("f.txt", before, after, gap)


def test_added_deleted_binary_and_unchanged_files() -> None:
    added = file_diff("new.py", None, "a = 1\nb = 2\n")
    assert (added.state, added.added, added.deleted) == ("shown", 2, 0)
    assert added.hunks[0].header == "@@ -0,0 +1,2 @@"
    deleted = file_diff("old.py", "a = 1\n", None)
    assert deleted.hunks[0].header == "@@ -1 +0,0 @@"
    assert deleted.hunks[0].rows[0].anchor == Anchor("BEFORE", 1)
    assert file_diff("x.png", Omitted.BINARY, b"".decode()).state == "binary"
    assert file_diff("big", "a\n", Omitted.TOO_LARGE).state == "too_large"
    same = file_diff("mode-only.sh", "echo\n", "echo\n")
    assert (same.state, same.hunks) == ("unchanged", ())


def test_a_file_over_its_limits_is_too_large_and_not_highlighted() -> None:
    def explode(path: str, text: str) -> list[tuple[tuple[str, str], ...]]:
        raise AssertionError("a too-large file must not be highlighted")

    before = lines(*range(3000))
    after = lines(*range(3000, 6000))
    diff = file_diff("big.py", before, after, highlighter=explode)
    assert diff.state == "too_large" and diff.hunks == ()
    assert "6,000 changed lines" in diff.reason


def test_a_long_file_diff_is_plain_text_past_the_highlight_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(diffview, "MAX_HIGHLIGHTED_DIFF_LINES", 10)
    code = "".join(f"x{n} = {n}\n" for n in range(8))
    diff = file_diff("f.py", code, code.replace("x3 = 3", "x3 = 4"))
    assert all("<span" not in row.html for row in diff.hunks[0].rows)
    assert "<ins>4</ins>" in diff.hunks[0].rows[4].html


def test_a_changed_line_inside_a_docstring_is_highlighted_as_one() -> None:
    # Only lexing the whole file knows line 3 is inside a string opened on line 2.
    before = 'def f():\n    """Start\n    middle <b>\n    end"""\n    return 1\n'
    diff = file_diff("f.py", before, before.replace("middle <b>", "middle <i>"))
    delete, add = (row for row in diff.hunks[0].rows if row.kind != "context")
    assert 'class="sd"' in delete.html and 'class="sd"' in add.html
    assert "&lt;<del>b</del>&gt;" in re.sub(r"</?span[^>]*>", "", delete.html)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param("a\n  b\nc\nd\n", "a\nb  \nc\nD\n", id="respaced-and-changed"),
        pytest.param(lines(*FORTY), lines(*FORTY).replace("line 9", "line  9"), id="only-space"),
        pytest.param("x\ny", "x\ny\n", id="final-newline"),
        pytest.param("a\r\nb\r\n", "a\nB\n", id="crlf"),
        pytest.param(
            lines(*FORTY).replace("line 20", "\tline 20"),
            lines(*FORTY[:5], 99, *FORTY[6:]),
            id="tab-and-a-change",
        ),
    ],
)
def test_hide_whitespace_matches_git_diff_w(before: str, after: str) -> None:
    diff = file_diff("f.txt", before, after, ignore_whitespace=True)
    rows = [
        (h, [(r.kind, r.old_line, r.new_line) for r in hunk.rows])
        for h, hunk in enumerate(diff.hunks)
    ]
    git = git_hunks(git_diff(before, after, 3, "-w"))
    assert [hunk[1] for hunk in git] == [r for _, r in rows]
    assert [f"{h.header} {h.section}".rstrip() for h in diff.hunks] == [hunk[0] for hunk in git]
    if not git:
        assert diff.state == "unchanged" and diff.reason == "Only whitespace changed."


def test_hide_whitespace_shows_context_as_it_is_now_and_expands_over_it() -> None:
    before = lines(*range(1, 30)).replace("line 5", "  line 5")
    after = before.replace("  line 5", "line 5").replace("line 20", "line twenty")
    diff = file_diff("f.txt", before, after, ignore_whitespace=True)
    assert diff.hunks[0].gap_above == Gap(1, 1, 16, "start")
    rows = expand_context("f.txt", before, after, Gap(1, 1, 16, "start"), ignore_whitespace=True)
    assert rows.rows[4].html == "line 5"
    with pytest.raises(ValueError):
        expand_context("f.txt", before, after, Gap(1, 1, 16, "start"))


def test_intraline_on_recurring_words_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # "(a(a(a..." against "(b(b(b...": difflib alone took 4 s for this one pair.
    before = "".join(f"{'(a' * 450} {n}\n" for n in range(20))
    after = "".join(f"{'(b' * 450} {n}\n" for n in range(20))
    start = time.perf_counter()
    diff = file_diff("f.txt", before, after)
    assert time.perf_counter() - start < 3  # ~0.2 s; generous for a shared machine
    assert len(diff.hunks[0].rows) == 40
    # Past the budget a pair keeps its common ends unmarked and marks the middle.
    monkeypatch.setattr(emphasis, "INTRALINE_BUDGET", 0)
    diff = file_diff("f.txt", "keep b a end\n", "keep a b end\n")
    assert diff.hunks[0].rows[0].html == "keep <del>b a</del> end"
    assert diff.hunks[0].rows[1].html == "keep <ins>a b</ins> end"
