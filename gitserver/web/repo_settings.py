"""A repository's description and default branch, through the services the API's
UpdateRepositoryDescription and UpdateDefaultBranch call, decided with those actions
(the default branch with `codecommit:References` naming it, as the API's check does)."""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver.db import Repository
from gitserver.store.repositories import update_description
from gitserver.web.context import allowed, deps_of, links, readable_repository, viewer_of
from gitserver.web.pages import render
from gitserver.web.security import redirect
from gitserver.weburls import repository_page


def _page(repo: Repository) -> str:
    return repository_page("", repo.name) + "/settings"


async def settings_page(request: web.Request) -> web.StreamResponse:
    repo = await readable_repository(request, request.match_info["name"], Action.GET_REPOSITORY)
    refs = await deps_of(request).browse.refs(repo)
    return render(
        request,
        "repo_settings.html",
        repo=repo,
        links=links(request, repo),
        branches=[name for name, _ in refs.branches],
        can_describe=allowed(request, Action.UPDATE_REPOSITORY_DESCRIPTION, repo),
        can_default=allowed(request, Action.UPDATE_DEFAULT_BRANCH, repo),
    )


async def set_description(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.UPDATE_REPOSITORY_DESCRIPTION)
    description = str((await request.post()).get("description", ""))
    await update_description(deps_of(request).db, repo.name, description)
    return redirect(_page(repo))


async def set_default_branch(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    branch = str((await request.post()).get("branch", ""))
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = access.repository(name, references=(f"refs/heads/{branch}",))
    rows = await access.authorize(
        viewer.principal, Action.UPDATE_DEFAULT_BRANCH, [target], viewer.info
    )
    if name not in rows:
        raise web.HTTPNotFound()
    await deps_of(request).branches.set_default(name, branch)
    return redirect(_page(rows[name]))
