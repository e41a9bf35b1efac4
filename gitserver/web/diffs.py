"""The changed files of a commit or a comparison, each with its diff, within limits.

The rows, highlighting and limits are `gitserver.web.diffview` and `diffstat`
(GitLab's kind of limits, shown on the page, never silent). This module only reads the
two sides of each changed file: through `Contents.blob`, which refuses a blob over the
page's size limit before inflating it (that side is then "too large").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitserver.content.errors import FileTooLarge
from gitserver.content.service import Contents
from gitserver.content.views import BlobRef, Difference
from gitserver.db import Repository
from gitserver.web.diffstat import (
    MAX_DIFF_FILES,
    DiffPlan,
    Omitted,
    PlannedFile,
    SideText,
    decode,
    plan,
    summarize,
)
from gitserver.web.diffview import FileDiff, file_diff

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
    contents: Contents, repo: Repository, differences: Sequence[Difference]
) -> Changes:
    """The plan for `differences` and the diff of each file the plan shows."""
    listed = differences[:MAX_DIFF_FILES]
    sides = [
        (await _side(contents, repo, d.before), await _side(contents, repo, d.after))
        for d in listed
    ]
    found = plan([summarize(d.path, *pair) for d, pair in zip(listed, sides, strict=True)])
    files = [
        ChangedFile(d, planned, file_diff(d.path, *pair) if planned.state in _SHOWN else None)
        for d, pair, planned in zip(listed, sides, found.files, strict=True)
    ]
    return Changes(tuple(files), found)


async def _side(contents: Contents, repo: Repository, blob: BlobRef | None) -> SideText:
    if blob is None:
        return None
    if blob.mode == "160000":  # a submodule: its "content" is a commit in another repo
        return f"Subproject commit {blob.blob_id}\n"
    try:
        return decode(await contents.blob(repo, blob.blob_id))
    except FileTooLarge:
        return Omitted.TOO_LARGE
