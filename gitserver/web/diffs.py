"""The changed files of a commit or a comparison, each with its diff, within limits.

The rows, highlighting and limits are `gitserver.web.diffview` and `diffstat`
(GitLab's kind of limits, shown on the page, never silent). This module only reads the
two sides of each changed file: through `Contents.blob`, which refuses a blob over the
page's size limit before inflating it (that side is then "too large").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from gitserver.content.errors import FileTooLarge
from gitserver.content.service import Contents
from gitserver.content.views import BlobRef, Difference
from gitserver.db import Repository
from gitserver.web.diffstat import (
    MAX_DIFF_FILES,
    DiffPlan,
    FileStat,
    Omitted,
    PlannedFile,
    SideText,
    decode,
    plan,
    summarize,
)
from gitserver.web.diffview import FileDiff, file_diff
from gitserver.web.highlight import HighlightCache

_SHOWN = ("expanded", "collapsed")


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One file of the page: what changed, its place in the plan, its rows if shown."""

    difference: Difference
    planned: PlannedFile
    diff: FileDiff | None

    @property
    def path(self) -> str:
        return self.difference.path


@dataclass(frozen=True, slots=True)
class Changes:
    files: tuple[ChangedFile, ...]
    plan: DiffPlan


async def changes(
    contents: Contents,
    repo: Repository,
    differences: Sequence[Difference],
    *,
    highlights: HighlightCache,
    ignore_whitespace: bool = False,
) -> Changes:
    """The plan for `differences` and the diff of each file the plan shows. Reading the
    sides is I/O (dulwich, in threads); comparing and highlighting them is CPU work,
    done in one thread off the loop."""
    listed = differences[:MAX_DIFF_FILES]
    sides = [
        (await _side(contents, repo, d.before), await _side(contents, repo, d.after))
        for d in listed
    ]

    def work() -> Changes:
        stats = [
            summarize(d.path, *pair, ignore_whitespace=ignore_whitespace)
            for d, pair in zip(listed, sides, strict=True)
        ]
        # Past the listed files only the count matters: their blobs are never read.
        stats += [FileStat(d.path, 0, 0, 0) for d in differences[MAX_DIFF_FILES:]]
        found = plan(stats)
        files = [
            ChangedFile(d, planned, _body(d, pair, planned, highlights, ignore_whitespace))
            for d, pair, planned in zip(listed, sides, found.files, strict=True)
        ]
        return Changes(tuple(files), found)

    return await asyncio.to_thread(work)


def _body(
    difference: Difference,
    pair: tuple[SideText, SideText],
    planned: PlannedFile,
    highlights: HighlightCache,
    ignore_whitespace: bool,
) -> FileDiff | None:
    if planned.state not in _SHOWN:
        return None
    return file_diff(
        difference.path, *pair, ignore_whitespace=ignore_whitespace, highlighter=highlights
    )


async def _side(contents: Contents, repo: Repository, blob: BlobRef | None) -> SideText:
    if blob is None:
        return None
    if blob.mode == "160000":  # a submodule: its "content" is a commit in another repo
        return f"Subproject commit {blob.blob_id}\n"
    try:
        return decode(await contents.blob(repo, blob.blob_id))
    except FileTooLarge:
        return Omitted.TOO_LARGE
