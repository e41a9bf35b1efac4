"""A repository's notification rules: list, create, delete.

Notification rules are CodeStar Notifications' in AWS, which this server has no API
for; like webhooks, they are decided with the repository-trigger actions the managed
policies grant alongside them (`GetRepositoryTriggers` to read, `PutRepositoryTriggers`
to change). The work is `triggers.notifications`' (what the CLI's `notification-rule`
commands call), scoped to the authorized repository.
"""

from __future__ import annotations

import re

from aiohttp import web

from auth.actions import Action
from gitserver.db import Repository
from gitserver.web.context import allowed, deps_of, links, readable_repository
from gitserver.web.pages import render
from gitserver.web.security import redirect
from gitserver.weburls import repository_page
from triggers import notifications
from triggers.errors import InvalidSubscription, TargetRefused
from triggers.ssrf import check_target

_PREFIX = "codecommit-repository-"
# What a person reads for each event type id (the id stays the form's value).
EVENT_LABELS = {
    type_id: type_id.removeprefix(_PREFIX).replace("-", " ").capitalize()
    for type_id in notifications.EVENT_TYPE_IDS
}


def _base(repo: Repository) -> str:
    return repository_page("", repo.name) + "/settings/notifications"


async def rule_list(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.GET_REPOSITORY_TRIGGERS)
    return await _page(request, repo, error="", form={}, events=[])


async def _page(
    request: web.Request, repo: Repository, error: str, form: dict[str, str], events: list[str]
) -> web.Response:
    async with deps_of(request).db.reader() as session:
        rules = await notifications.list_rules(session, repo.id)
    return render(
        request,
        "notification_rules.html",
        status=400 if error else 200,
        repo=repo,
        links=links(request, repo),
        rules=rules,
        labels=EVENT_LABELS,
        details=notifications.DETAILS,
        base=_base(repo),
        error=error,
        form=form,
        chosen=events,
        can_change=allowed(request, Action.PUT_REPOSITORY_TRIGGERS, repo),
    )


async def create_rule(request: web.Request) -> web.StreamResponse:
    """The CLI's `notification-rule create`, plus the sender's address check on chat
    targets before anything is stored (as a webhook's URL)."""
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.PUT_REPOSITORY_TRIGGERS)
    deps = deps_of(request)
    posted = await request.post()
    events = [str(v) for v in posted.getall("events", [])]
    form = {k: str(v) for k, v in posted.items() if k not in ("csrf", "events")}
    chat_urls = _split(form.get("chat_urls", ""))
    try:
        for url in chat_urls:
            try:
                await check_target(url, deps.webhook_allowed)
            except TargetRefused as exc:
                # Worded as the service words its own refusal of a chat target.
                raise InvalidSubscription(f"chat target: {exc}") from None
        async with deps.db.session() as session:
            await notifications.create_rule(
                session,
                name=form.get("name", "").strip(),
                repository_id=repo.id,
                event_type_ids=events,
                detail=form.get("detail", "BASIC"),
                emails=_split(form.get("emails", "")),
                chat_urls=chat_urls,
            )
    except InvalidSubscription as exc:
        return await _page(request, repo, error=str(exc), form=form, events=events)
    return redirect(_base(repo))


def _split(value: str) -> list[str]:
    """Targets one per line or separated by commas."""
    return [v for v in re.split(r"[\s,]+", value) if v]


async def delete_rule(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.PUT_REPOSITORY_TRIGGERS)
    async with deps_of(request).db.session() as session:
        await notifications.delete_rule(session, request.match_info["id"], repo.id)
    return redirect(_base(repo))
