"""A commit with its diff, and two refs compared (`/compare/{before}...{after}`, the
address webhook payloads already link to).

A commit is GetCommit and its diff GetDifferences, as the API splits them; a comparison
is GetDifferences. The comparison is the trees of `before` and `after` (what a push
changed), with the commits `after` has that `before` has not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from auth.actions import Action
from gitserver.content.reader import FULL_OID
from gitserver.store.errors import CommitNotFound
from gitserver.web.context import PAGE_SIZE, deps_of, links, readable_repository
from gitserver.web.diffs import changes
from gitserver.web.pages import render
from gitserver.web.pulls import statuses_part


async def commit(request: web.Request) -> web.StreamResponse:
    name, commit_id = request.match_info["name"], request.match_info["commit"]
    repo = await readable_repository(request, name, Action.GET_COMMIT, Action.GET_DIFFERENCES)
    deps = deps_of(request)
    hide, only = request.query.get("w") == "1", request.query.get("path", "")
    if not FULL_OID.fullmatch(commit_id):
        commit_id = await deps.browse.resolve(repo, commit_id)
    # git counts the diff's lines while the commit and its changed files are read (for
    # one file, `changes` counts that file alone).
    numstat = None if only else asyncio.ensure_future(deps.browse.commit_numstat(repo, commit_id))
    statuses = asyncio.ensure_future(statuses_part(request, repo, commit_id))  # SQL, meanwhile
    try:
        if only:
            info, listed = await deps.contents.commit(repo, commit_id), None
        else:
            info, listed = await deps.contents.commit_changes(repo, commit_id)
        parent = info.parents[0] if info.parents else None
        found = await changes(
            deps,
            repo,
            parent,
            commit_id,
            ignore_whitespace=hide,
            only=only,
            listed=listed,
            numstat=numstat,
        )
        shown = await statuses
    finally:
        for task in (numstat, statuses):
            if task is not None:
                _settle(task)
    return render(
        request,
        "commit.html",
        repo=repo,
        links=links(request, repo),
        commit=info,
        statuses=shown,
        changes=found,
        split=request.query.get("view") == "split",
        hide_whitespace=hide,
        only=only,
    )


def _settle(task: asyncio.Future[Any]) -> None:
    """A side task the page no longer waits for: stopped if running (its git process is
    killed), its failure taken (the page has reported the first one already)."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


async def compare(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    before, dots, after = request.match_info["spec"].partition("...")
    if not dots or not before or not after:
        raise CommitNotFound("Compare two refs as /compare/BEFORE...AFTER")
    repo = await readable_repository(request, name, Action.GET_DIFFERENCES)
    deps = deps_of(request)
    hide, only = request.query.get("w") == "1", request.query.get("path", "")
    before_id = await deps.browse.resolve(repo, before)
    after_id = await deps.browse.resolve(repo, after)
    commits = await deps.browse.log(repo, f"{before_id}..{after_id}", limit=PAGE_SIZE + 1)
    return render(
        request,
        "compare.html",
        repo=repo,
        links=links(request, repo),
        before=before,
        after=after,
        commits=commits[:PAGE_SIZE],
        more_commits=len(commits) > PAGE_SIZE,
        changes=await changes(deps, repo, before_id, after_id, ignore_whitespace=hide, only=only),
        split=request.query.get("view") == "split",
        hide_whitespace=hide,
        only=only,
    )
