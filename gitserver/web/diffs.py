"""The changed files of a commit or a comparison, each with its diff, within limits.

The rows, highlighting and limits are `gitserver.web.diffview` and `diffstat`
(GitLab's kind of limits, shown on the page, never silent). This module only reads the
two sides of each changed file: through `Contents.blob`, which refuses a blob over the
page's size limit before inflating it (that side is then "too large").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gitserver.content.errors import FileTooLarge
from gitserver.content.service import BlobReader
from gitserver.content.views import BlobRef, Difference
from gitserver.db import Repository
from gitserver.web.context import WebDeps
from gitserver.web.diffstat import (
    DiffPlan,
    FileStat,
    Omitted,
    PlannedFile,
    SideText,
    decode,
    plan,
    stats_from_numstat,
)
from gitserver.web.diffview import FileDiff, file_diff


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
    deps: WebDeps,
    repo: Repository,
    before: str | None,
    after: str,
    *,
    ignore_whitespace: bool = False,
    only: str = "",
    listed: Sequence[Difference] | None = None,
    numstat: Awaitable[bytes] | None = None,
) -> Changes:
    """The files changed from commit `before` (None: nothing) to `after`, planned from
    git's counts (no blob read for the list), each shown file's diff built from its two
    sides, one file at a time: memory holds one file's sides, not the whole diff's.
    Collapsed files get no body here: each links to the page of its own diff (`only`).
    `listed` and `numstat`: the changed files, and git's counts of them, where the
    caller has read or started them already."""
    # The list (object reads) and git's counts (a subprocess) do not wait on each other.
    # One file (`only`) is compared alone: its trees, not the whole comparison's.
    if listed is not None:
        listing: Awaitable[Sequence[Difference]] = _ready(listed)
    elif only:
        listing = deps.contents.file_differences(repo, after, before, only)
    else:
        listing = deps.contents.differences(repo, after, before)
    counting = numstat or deps.browse.numstat(repo, before, after, path=only or None)
    differences, counts = await asyncio.gather(listing, counting)
    counted = stats_from_numstat(counts)
    by_path = {stat.path: stat for stat in counted}
    stats = [by_path.get(d.path) or FileStat(d.path, 0, 0, 0) for d in differences]
    found = plan(stats)
    files = []
    async with deps.contents.blob_reader(repo) as blobs:
        for difference, planned in zip(differences, found.files, strict=False):
            body = None
            if planned.state == "expanded":
                body = await _body(deps, blobs, difference, ignore_whitespace)
            files.append(ChangedFile(difference, planned, body))
    return Changes(tuple(files), found)


async def _ready(value: Sequence[Difference]) -> Sequence[Difference]:
    return value


async def _body(
    deps: WebDeps, blobs: BlobReader, difference: Difference, ignore_whitespace: bool
) -> FileDiff:
    # Reading both sides, comparing and highlighting are one trip off the loop (CPU work:
    # diffview's contract), not one a side and one for the diff.
    def work(read: Callable[[str], bytes]) -> FileDiff:
        return file_diff(
            difference.path,
            _side(read, difference.before),
            _side(read, difference.after),
            ignore_whitespace=ignore_whitespace,
            highlighter=deps.highlights,
        )

    return await blobs.apply(work)


def _side(read: Callable[[str], bytes], blob: BlobRef | None) -> SideText:
    if blob is None:
        return None
    if blob.mode == "160000":  # a submodule: its "content" is a commit in another repo
        return f"Subproject commit {blob.blob_id}\n"
    try:
        return decode(read(blob.blob_id))
    except FileTooLarge:
        return Omitted.TOO_LARGE
