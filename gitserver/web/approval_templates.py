"""The approval rule templates associated with a repository: list, associate,
disassociate, through `Templates` (the service the API's operations call) and with the
API's actions: `ListAssociatedApprovalRuleTemplatesForRepository`, `Associate…` and
`Disassociate…` on the repository; `ListApprovalRuleTemplates` (the choices) and
`GetApprovalRuleTemplate` (each template's rules) on `*`, as AWS decides them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from auth.actions import Action
from gitserver import errors as categories
from gitserver.db import Repository
from gitserver.pulls import rules
from gitserver.pulls.templates import TemplateView
from gitserver.web.context import (
    allowed,
    deps_of,
    links,
    optional_anywhere,
    readable_repository,
)
from gitserver.web.pages import render
from gitserver.web.security import redirect
from gitserver.weburls import repository_page

_ASSOCIATE = Action.ASSOCIATE_APPROVAL_RULE_TEMPLATE_WITH_REPOSITORY
_DISASSOCIATE = Action.DISASSOCIATE_APPROVAL_RULE_TEMPLATE_FROM_REPOSITORY
_LIST = Action.LIST_ASSOCIATED_APPROVAL_RULE_TEMPLATES_FOR_REPOSITORY


@dataclass(frozen=True, slots=True)
class TemplateCard:
    """A template as the page shows it: its rules in words, and the JSON they came from."""

    name: str
    description: str
    statements: tuple[rules.Statement, ...]
    destinations: tuple[str, ...]  # empty: every branch
    content: str

    @classmethod
    def of(cls, view: TemplateView) -> TemplateCard:
        content = rules.parse_template_content(view.content)
        return cls(
            view.name,
            view.description,
            content.statements,
            content.destination_references,
            view.content,
        )


def _base(repo: Repository) -> str:
    return repository_page("", repo.name) + "/settings/approval-templates"


async def template_list(request: web.Request) -> web.StreamResponse:
    repo = await readable_repository(request, request.match_info["name"], _LIST)
    return await _page(request, repo, error="")


async def _page(request: web.Request, repo: Repository, error: str) -> web.Response:
    templates = deps_of(request).reviews.templates
    names = await templates.for_repository(repo.name)
    cards: list[TemplateCard] = []
    if await optional_anywhere(request, Action.GET_APPROVAL_RULE_TEMPLATE):
        cards = [TemplateCard.of(await templates.get(name)) for name in names]
    can_associate = allowed(request, _ASSOCIATE, repo)
    # Without ListApprovalRuleTemplates the form asks for a name instead of offering them.
    choices: list[str] | None = None
    if can_associate and await optional_anywhere(request, Action.LIST_APPROVAL_RULE_TEMPLATES):
        choices = [name for name in await templates.names() if name not in names]
    return render(
        request,
        "approval_templates.html",
        status=400 if error else 200,
        repo=repo,
        links=links(request, repo),
        names=names,
        cards=cards,
        choices=choices,
        base=_base(repo),
        error=error,
        can_associate=can_associate,
        can_disassociate=allowed(request, _DISASSOCIATE, repo),
    )


async def associate(request: web.Request) -> web.StreamResponse:
    repo = await readable_repository(request, request.match_info["name"], _ASSOCIATE)
    name = str((await request.post()).get("template", ""))
    try:
        await deps_of(request).reviews.templates.associate(name, repo.name)
    except (categories.InvalidInput, categories.NotFound, categories.LimitExceeded) as exc:
        return await _refused(request, repo, exc)
    return redirect(_base(repo))


async def disassociate(request: web.Request) -> web.StreamResponse:
    repo = await readable_repository(request, request.match_info["name"], _DISASSOCIATE)
    name = str((await request.post()).get("template", ""))
    try:
        await deps_of(request).reviews.templates.disassociate(name, repo.name)
    except (categories.InvalidInput, categories.NotFound) as exc:
        return await _refused(request, repo, exc)
    return redirect(_base(repo))


async def _refused(request: web.Request, repo: Repository, exc: Exception) -> web.Response:
    """The page again with the service's sentence, if the viewer may read it; else the
    error page the category maps to."""
    if not allowed(request, _LIST, repo):
        raise exc
    await readable_repository(request, repo.name, _LIST)
    return await _page(request, repo, error=str(exc))
