"""The changed files of a commit or a comparison, each with its diff rows, within limits.

The rows here are a plain unified diff (difflib, three lines of context) until
`gitserver.web.diffview` (unified/split rows with highlighting, branch issue12-diff) is
merged. Limits are GitLab's kind, shown on the page, never silent: past `MAX_FILES`
files or `MAX_LINES` diff lines the rest are listed without their diff, and a side
larger than the shown-file limit is "too large" (refused before it is inflated).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from gitserver.content.errors import FileTooLarge
from gitserver.content.service import Contents
from gitserver.content.views import Difference
from gitserver.db import Repository
from gitserver.web.lines import is_binary

MAX_FILES = 300
MAX_LINES = 20_000
_HUNK = re.compile(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class DiffRow:
    kind: str  # hunk | context | add | del
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True, slots=True)
class FileDiff:
    difference: Difference
    rows: tuple[DiffRow, ...]
    note: str  # why there are no rows: binary, too large, over the page's limit

    @property
    def path(self) -> str:
        return self.difference.path

    @property
    def added(self) -> int:
        return sum(1 for r in self.rows if r.kind == "add")

    @property
    def removed(self) -> int:
        return sum(1 for r in self.rows if r.kind == "del")


async def file_diffs(
    contents: Contents, repo: Repository, differences: Sequence[Difference]
) -> list[FileDiff]:
    """Each difference with its rows, until the page's budget of files and lines is spent."""
    found: list[FileDiff] = []
    budget = MAX_LINES
    for index, difference in enumerate(differences):
        if index >= MAX_FILES or budget <= 0:
            found.append(FileDiff(difference, (), "not shown: the page's diff limit is reached"))
            continue
        diff = await _one(contents, repo, difference)
        budget -= len(diff.rows)
        found.append(diff)
    return found


async def _one(contents: Contents, repo: Repository, difference: Difference) -> FileDiff:
    try:
        before = await _side(
            contents, repo, difference.before.blob_id if difference.before else None
        )
        after = await _side(contents, repo, difference.after.blob_id if difference.after else None)
    except FileTooLarge:
        return FileDiff(difference, (), "too large to show")
    if before is None or after is None:
        return FileDiff(difference, (), "binary file")
    return FileDiff(difference, tuple(unified_rows(before, after)), "")


async def _side(contents: Contents, repo: Repository, blob_id: str | None) -> str | None:
    """The text of one side ("" when absent); None when it is binary."""
    if blob_id is None:
        return ""
    data = await contents.blob(repo, blob_id)
    return None if is_binary(data) else data.decode("utf-8", "replace")


def unified_rows(before: str, after: str) -> list[DiffRow]:
    rows: list[DiffRow] = []
    old = new = 0
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), n=3, lineterm="")
    for line in lines:
        if line.startswith(("---", "+++")) and not rows:
            continue
        if match := _HUNK.match(line):
            old, new = int(match[1]), int(match[2])
            rows.append(DiffRow("hunk", None, None, line))
        elif line.startswith("+"):
            rows.append(DiffRow("add", None, new, line[1:]))
            new += 1
        elif line.startswith("-"):
            rows.append(DiffRow("del", old, None, line[1:]))
            old += 1
        else:
            rows.append(DiffRow("context", old, new, line[1:]))
            old, new = old + 1, new + 1
    return rows
