"""A repository's description, default branch and required status checks, through the
services the API's UpdateRepositoryDescription and UpdateDefaultBranch and the CLI's
`repo require-status` call, decided with those actions (the default branch with
`codecommit:References` naming it, as the API's check does; the required checks with
`gitserver:UpdateRequiredStatusChecks`)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from auth.actions import Action
from gitserver.db import Repository
from gitserver.pipelines.statuses.errors import InvalidStatusContext, TooManyRequiredStatusChecks
from gitserver.store.repositories import update_description
from gitserver.web.context import allowed, deps_of, links, readable_repository, viewer_of
from gitserver.web.pages import render
from gitserver.web.security import redirect
from gitserver.weburls import repository_page


def _page(repo: Repository) -> str:
    return repository_page("", repo.name) + "/settings"


async def settings_page(request: web.Request) -> web.StreamResponse:
    repo = await readable_repository(request, request.match_info["name"], Action.GET_REPOSITORY)
    return await _render(request, repo)


async def _render(
    request: web.Request,
    repo: Repository,
    error: str = "",
    context: str = "",
    *,
    push_error: str = "",
) -> web.Response:
    deps = deps_of(request)
    refs, required, pipelines, protected, push_rules = await asyncio.gather(
        deps.browse.refs(repo),
        deps.reviews.required_checks.contexts(repo.name),
        deps.pipelines.reading(repo.name),
        deps.protection.protections(repo.name),
        deps.protection.push_rules(repo.name),
    )
    return render(
        request,
        "repo_settings.html",
        status=400 if error or push_error else 200,
        can_protect=allowed(request, Action.UPDATE_PUSH_PROTECTION, repo),
        protected=protected,
        push_rules=push_rules,
        push_error=push_error,
        repo=repo,
        links=links(request, repo),
        branches=[name for name, _ in refs.branches],
        can_describe=allowed(request, Action.UPDATE_REPOSITORY_DESCRIPTION, repo),
        can_default=allowed(request, Action.UPDATE_DEFAULT_BRANCH, repo),
        can_require=allowed(request, Action.UPDATE_REQUIRED_STATUS_CHECKS, repo),
        required=required,
        suggested=[p for p in pipelines if p not in required],
        error=error,
        context=context,
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


async def require_status(request: web.Request) -> web.StreamResponse:
    """Require a status context (a pipeline's name, or a CI's) to be `success` on a pull
    request's source commit before it merges."""
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.UPDATE_REQUIRED_STATUS_CHECKS)
    context = str((await request.post()).get("context", "")).strip()
    try:
        await deps_of(request).reviews.required_checks.require(repo.name, context)
    except (InvalidStatusContext, TooManyRequiredStatusChecks) as exc:
        return await _render(request, repo, error=str(exc), context=context)
    return redirect(_page(repo) + "#required-checks")


async def unrequire_status(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.UPDATE_REQUIRED_STATUS_CHECKS)
    context = str((await request.post()).get("context", ""))
    await deps_of(request).reviews.required_checks.remove(repo.name, context)
    return redirect(_page(repo) + "#required-checks")
