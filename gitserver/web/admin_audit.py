"""The audit log page: the CLI's `audit list`, filtered by GET parameters (principal,
action, decision, repository, time range) so a filtered view is an address to share,
newest first, a page at a time. Decided with `cloudtrail:LookupEvents`, CloudTrail's
action for reading its event history."""

from __future__ import annotations

import urllib.parse
from datetime import datetime

from aiohttp import web

from gitserver import audit
from gitserver.web import adminauth
from gitserver.web.context import PAGE_SIZE, deps_of
from gitserver.web.pages import render

AUDIT = adminauth.ADMIN + "/audit"
_FILTERS = ("principal", "action", "decision", "repository", "since", "until")


async def audit_log(request: web.Request) -> web.StreamResponse:
    adminauth.authorize_section(request, "audit")
    form = {key: request.query.get(key, "").strip() for key in _FILTERS}
    page = _page(request.query.get("page", "1"))
    query = _query(request, form, page)
    async with deps_of(request).db.reader() as session:
        records = await audit.list_records(session, query)
    return render(
        request,
        "admin_audit.html",
        tabs=adminauth.tabs(request),
        form=form,
        decisions=audit.DECISIONS,
        records=[audit.record_json(row) for row in records[:PAGE_SIZE]],
        page=page,
        previous=_link(form, page - 1) if page > 1 else "",
        next=_link(form, page + 1) if len(records) > PAGE_SIZE else "",
    )


def _query(request: web.Request, form: dict[str, str], page: int) -> audit.AuditQuery:
    if form["decision"] and form["decision"] not in audit.DECISIONS:
        raise web.HTTPBadRequest(text=f"decision: one of {', '.join(audit.DECISIONS)}")
    repository = form["repository"]
    if repository and not repository.startswith("arn:"):
        repository = deps_of(request).endpoints.arn(repository)
    return audit.AuditQuery(
        since=_time(form, "since"),
        until=_time(form, "until"),
        user=form["principal"] or None,
        action=form["action"] or None,
        decision=form["decision"] or None,
        resource=repository or None,
        # One more than a page: whether there is a next one.
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )


def _time(form: dict[str, str], key: str) -> datetime | None:
    if not form[key]:
        return None
    try:
        return audit.parse_time(form[key])
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{key}: {exc}") from None


def _page(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise web.HTTPBadRequest(text="page: a number from 1")
    return int(value)


def _link(form: dict[str, str], page: int) -> str:
    kept = {key: value for key, value in form.items() if value}
    return f"{AUDIT}?{urllib.parse.urlencode({**kept, 'page': page})}"
