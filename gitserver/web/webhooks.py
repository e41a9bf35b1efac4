"""A repository's webhooks: list, create, edit, delete, test, the delivery log, redeliver.

Webhooks have no CodeCommit API; the closest are repository triggers, so the pages ask
the same actions: `GetRepositoryTriggers` to read, `PutRepositoryTriggers` to change,
`TestRepositoryTriggers` to test. The work is `triggers`' (what the CLI's `webhook`
commands call), scoped to the authorized repository: another repository's hook or
delivery id is "not found".
"""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver.db import Repository
from gitserver.web.context import allowed, deps_of, links, readable_repository
from gitserver.web.pages import render
from gitserver.web.security import redirect
from gitserver.weburls import repository_page
from triggers import subscriptions as subs
from triggers import webhooks
from triggers.errors import SubscriptionNotFound, TargetRefused, TriggerError
from triggers.ssrf import check_target

_LOG_LIMIT = 30


def _base(repo: Repository) -> str:
    return repository_page("", repo.name) + "/settings/webhooks"


async def webhook_list(request: web.Request) -> web.StreamResponse:
    repo = await readable_repository(
        request, request.match_info["name"], Action.GET_REPOSITORY_TRIGGERS
    )
    return await _list_page(request, repo, error="", form={})


async def _list_page(
    request: web.Request, repo: Repository, error: str, form: dict[str, str]
) -> web.Response:
    async with deps_of(request).db.reader() as session:
        hooks = await subs.list_subscriptions(session, "webhook", repo.id)
    return render(
        request,
        "webhooks.html",
        status=400 if error else 200,
        repo=repo,
        links=links(request, repo),
        hooks=hooks,
        base=_base(repo),
        error=error,
        form=form,
        formats=subs.FORMATS,
        can_change=allowed(request, Action.PUT_REPOSITORY_TRIGGERS, repo),
        can_test=allowed(request, Action.TEST_REPOSITORY_TRIGGERS, repo),
    )


async def create_webhook(request: web.Request) -> web.StreamResponse:
    """The CLI's `webhook create`, plus the sender's address check before anything is
    stored: a URL the server would refuse to send to is refused here, with the reason."""
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.PUT_REPOSITORY_TRIGGERS)
    deps = deps_of(request)
    form = await _form(request)
    spec = _spec(form, repo)
    try:
        await check_target(spec.url, deps.webhook_allowed)
        async with deps.db.session() as session:
            hook = await subs.create_webhook(session, deps.box, spec)
            webhooks.queue_ping(session, hook, deps.payload_context(repo))
    except (TargetRefused, TriggerError) as exc:
        return await _list_page(request, repo, error=str(exc), form=form)
    return redirect(_base(repo))


async def edit_webhook(request: web.Request) -> web.StreamResponse:
    """Change a hook with the rules of its creation (`update_webhook`, and the same
    address check first). The secret is kept unless a new one is typed or its removal
    is asked; a refused change re-shows the form and stores nothing."""
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.PUT_REPOSITORY_TRIGGERS)
    deps = deps_of(request)
    form = await _form(request)
    spec = _spec(form, repo)
    keep = not spec.secret and not form.get("remove_secret")
    try:
        await check_target(spec.url, deps.webhook_allowed)
        async with deps.db.session() as session:
            hook = await subs.get_subscription(
                session, request.match_info["id"], "webhook", repo.id
            )
            await subs.update_webhook(session, deps.box, hook, spec, keep_secret=keep)
    except (TargetRefused, TriggerError) as exc:
        if isinstance(exc, SubscriptionNotFound):
            raise
        return await _hook_page(request, repo, error=str(exc), form=form)
    return redirect(f"{_base(repo)}/{request.match_info['id']}")


async def _form(request: web.Request) -> dict[str, str]:
    """The posted fields; the secret is taken out by `_spec` so no page shows it again."""
    return {k: str(v) for k, v in (await request.post()).items() if k != "csrf"}


def _spec(form: dict[str, str], repo: Repository) -> subs.WebhookSpec:
    try:
        timeout = float(form.get("timeout") or subs.DEFAULT_TIMEOUT)
    except ValueError:
        timeout = -1.0  # refused by the service, with its sentence
    return subs.WebhookSpec(
        url=form.get("url", "").strip(),
        repository_id=repo.id,
        secret=form.pop("secret", ""),
        events=_split(form.get("events", "")) or ("push",),
        branches=_split(form.get("branches", "")),
        format=form.get("format", "native"),
        timeout=timeout,
        # The create form has no such box (a new hook is active); the edit form sends
        # `active_sent` so an unticked box means "inactive".
        active=bool(form.get("active")) or "active_sent" not in form,
    )


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


async def delete_webhook(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.PUT_REPOSITORY_TRIGGERS)
    async with deps_of(request).db.session() as session:
        hook = await subs.get_subscription(session, request.match_info["id"], "webhook", repo.id)
        await session.delete(hook)
    return redirect(_base(repo))


async def test_webhook(request: web.Request) -> web.StreamResponse:
    """The CLI's `webhook test`: the latest event of the hook's types again (or a ping)."""
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.TEST_REPOSITORY_TRIGGERS)
    deps = deps_of(request)
    hook_id = request.match_info["id"]
    async with deps.db.session() as session:
        hook = await subs.get_subscription(session, hook_id, "webhook", repo.id)
        await webhooks.queue_test(session, hook, deps.payload_context(repo))
    return redirect(f"{_base(repo)}/{hook_id}")


async def deliveries(request: web.Request) -> web.StreamResponse:
    """One hook: its settings (a form for those who may change it) and its delivery log,
    each attempt's request (secrets masked when it was recorded) and the response."""
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.GET_REPOSITORY_TRIGGERS)
    return await _hook_page(request, repo, error="", form=None)


async def _hook_page(
    request: web.Request, repo: Repository, error: str, form: dict[str, str] | None
) -> web.Response:
    async with deps_of(request).db.reader() as session:
        hook = await subs.get_subscription(session, request.match_info["id"], "webhook", repo.id)
        log = await webhooks.delivery_log(session, hook.id, _LOG_LIMIT)
    if form is None:
        form = {
            "url": hook.url,
            "format": hook.format,
            "events": ", ".join(subs.event_names(hook.events)),
            "branches": ", ".join(hook.branches),
            "timeout": f"{hook.timeout:g}",
            "active": "on" if hook.active else "",
        }
    return render(
        request,
        "webhook.html",
        status=400 if error else 200,
        repo=repo,
        links=links(request, repo),
        hook=hook,
        log=log,
        base=_base(repo),
        error=error,
        form=form,
        formats=subs.FORMATS,
        can_change=allowed(request, Action.PUT_REPOSITORY_TRIGGERS, repo),
        can_test=allowed(request, Action.TEST_REPOSITORY_TRIGGERS, repo),
    )


async def redeliver(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.PUT_REPOSITORY_TRIGGERS)
    hook_id = request.match_info["id"]
    async with deps_of(request).db.session() as session:
        hook = await subs.get_subscription(session, hook_id, "webhook", repo.id)
        await webhooks.redeliver_one(session, request.match_info["delivery"], hook.id)
    return redirect(f"{_base(repo)}/{hook_id}")
