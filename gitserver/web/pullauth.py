"""How a pull-request page or form is authorized: the API's action on the repository in
the address (with `codecommit:References` = the destination for merges, as
`api/ops/pulls.on_pull_request_destination` does), and the pull request must be in it.

A reader who may not take an action gets 403 for it (the page showed them no control);
someone who may not even read the pull request gets the "not found" page, so its
existence is not told.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from auth.actions import Action
from gitserver.access import AccessDenied
from gitserver.db import Repository
from gitserver.pulls import errors
from gitserver.web.context import deps_of, viewer_of

DENIED = "Your policies do not allow this action on this pull request."


def pull_id(request: web.Request) -> str:
    return request.match_info["id"]


async def pull_request_repository(
    request: web.Request, action: Action, *, on_destination: bool = False
) -> Repository:
    """The address's repository, once `action` on it is allowed and the pull request in
    the address is one of its own.

    Raises:
        AccessDenied (a "not found" page), PullRequestNotFound.
    """
    name = request.match_info["name"]
    found = await deps_of(request).reviews.pulls.location(pull_id(request))
    references = (found[1],) if on_destination and found is not None else ()
    row = await _authorize(request, name, action, references)
    if row is None or found is None or found[0] != name:
        raise errors.PullRequestNotFound(f"Pull request {pull_id(request)} does not exist")
    return row


async def changing(
    request: web.Request, action: Action, *, on_destination: bool = False
) -> Repository:
    """`pull_request_repository` for a form: a denial is 403 for a reader of the pull
    request (the action is refused, nothing changed), "not found" for anyone else."""
    try:
        return await pull_request_repository(request, action, on_destination=on_destination)
    except AccessDenied:
        await pull_request_repository(request, Action.GET_PULL_REQUEST)
        raise web.HTTPForbidden(text=DENIED) from None


async def repository_for(request: web.Request, action: Action) -> Repository:
    """The address's repository once `action` is allowed (pages with no pull request yet:
    the list, the creation form)."""
    name = request.match_info["name"]
    row = await _authorize(request, name, action, ())
    if row is None:
        raise errors.PullRequestNotFound(f"Repository {name} does not exist")
    return row


async def _authorize(
    request: web.Request, name: str, action: Action, references: Sequence[str]
) -> Repository | None:
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = access.repository(name, references=references)
    rows = await access.authorize(viewer.principal, action, [target], viewer.info)
    return rows.get(name)


async def creating(request: web.Request) -> Repository:
    """CreatePullRequest on the address's repository: a denial is 403 for a reader of
    the repository, "not found" for anyone else (as `changing`)."""
    try:
        return await repository_for(request, Action.CREATE_PULL_REQUEST)
    except AccessDenied:
        await repository_for(request, Action.GET_REPOSITORY)
        raise web.HTTPForbidden(
            text="Your policies do not allow opening pull requests here."
        ) from None


def may(request: web.Request, action: Action, repo: Repository, *references: str) -> bool:
    """Whether to offer a control: a preview (not audited); the request is decided when
    it comes."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = access.repository(repo.name, repo, references)
    return access.preview(viewer.principal, action, target, viewer.info).allowed
