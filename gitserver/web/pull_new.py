"""Opening a pull request: the form (pick source and destination, title, Markdown
description) with a preview of the diff, and the POST that creates it through
`PullRequests.create` (CreatePullRequest's service and action)."""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver import errors as categories
from gitserver import weburls
from gitserver.db import Repository
from gitserver.pulls.service import BRANCH_PREFIX, TargetSpec
from gitserver.web.context import deps_of, links, optional_parts, viewer_of
from gitserver.web.diffs import Changes, changes
from gitserver.web.pages import render
from gitserver.web.pullauth import creating, repository_for
from gitserver.web.review import RuleState, template_rule_state


async def new_form(request: web.Request) -> web.StreamResponse:
    repo = await repository_for(request, Action.CREATE_PULL_REQUEST)
    source = request.query.get("source", "")
    destination = request.query.get("destination", "") or repo.default_branch or ""
    return await _page(request, repo, source, destination, "", "")


async def _page(
    request: web.Request,
    repo: Repository,
    source: str,
    destination: str,
    title: str,
    description: str,
    *,
    error: str = "",
    status: int = 200,
) -> web.Response:
    refs = await deps_of(request).browse.refs(repo)
    branches = [name for name, _ in refs.branches]
    preview, rules = None, []
    if source in branches and destination in branches and source != destination:
        preview = await _preview(request, repo, source, destination)
        rules = await _rules(request, repo, destination)
    return render(
        request,
        "pull_new.html",
        status=status,
        repo=repo,
        links=links(request, repo),
        branches=branches,
        source=source,
        destination=destination,
        title=title,
        description=description,
        changes=preview,
        rules=rules,
        error=error,
        split=False,
        hide_whitespace=False,
        only="",
    )


async def _preview(
    request: web.Request, repo: Repository, source: str, destination: str
) -> Changes | None:
    """What the pull request would show: the destination's merge base with the source ->
    the source (GetMergeOptions' base, GetDifferences' files)."""
    if not await optional_parts(request, repo, Action.GET_MERGE_OPTIONS, Action.GET_DIFFERENCES):
        return None
    deps = deps_of(request)
    found = await deps.reviews.branch_merges.options(
        repo, source, destination, "FILE_LEVEL", "NONE"
    )
    return await changes(deps, repo, found.base or found.destination, found.source)


async def _rules(request: web.Request, repo: Repository, destination: str) -> list[RuleState]:
    """The approval rules the repository's templates would give the pull request."""
    action = Action.LIST_ASSOCIATED_APPROVAL_RULE_TEMPLATES_FOR_REPOSITORY
    if not await optional_parts(request, repo, action):
        return []
    templates = deps_of(request).reviews.templates
    found = await templates.rules_for(repo.name, BRANCH_PREFIX + destination)
    return [template_rule_state(rule.name, rule.content) for rule in found]


async def create(request: web.Request) -> web.StreamResponse:
    repo = await creating(request)
    form = await request.post()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    source, destination = fields.get("source", ""), fields.get("destination", "")
    title, description = fields.get("title", "").strip(), fields.get("description", "")
    try:
        pr = await deps_of(request).reviews.pulls.create(
            viewer_of(request).principal,
            title=title,
            description=description,
            targets=[TargetSpec(repo.name, source, destination or None)],
        )
    except (categories.InvalidInput, categories.NotFound, categories.LimitExceeded) as exc:
        return await _page(
            request, repo, source, destination, title, description, error=str(exc), status=400
        )
    raise web.HTTPSeeOther(weburls.pull_request_page("", repo.name, pr.id))
