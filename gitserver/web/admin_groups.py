"""Admin pages for groups: list, create, delete, members, attached policies.

The work is the CLI's `group` and `policy attach-group-policy` commands' (`auth.identities`,
`auth.policies`), decided with IAM's action on the group's ARN (`adminauth`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from auth import identities, policies
from auth.actions import Action
from auth.errors import AuthError
from gitserver.web import adminauth
from gitserver.web.adminauth import ADMIN, authorize, iam_arn, may
from gitserver.web.context import deps_of
from gitserver.web.middleware import error_status
from gitserver.web.pages import render
from gitserver.web.security import redirect

GROUPS = ADMIN + "/groups"


def group_page(name: str) -> str:
    return f"{GROUPS}/{name}"


async def group_list(request: web.Request) -> web.StreamResponse:
    return await _list_page(request, error=None, form={})


async def _list_page(
    request: web.Request, error: AuthError | None, form: dict[str, str]
) -> web.Response:
    adminauth.authorize_section(request, "groups")
    async with deps_of(request).db.reader() as session:
        groups = await identities.list_groups(session)
    return render(
        request,
        "admin_groups.html",
        status=_status(error),
        tabs=adminauth.tabs(request),
        groups=groups,
        error=str(error or ""),
        form=form,
        can_create=may(request, Action.IAM_CREATE_GROUP, iam_arn(request, "group", "*")),
    )


async def create_group(request: web.Request) -> web.StreamResponse:
    """The CLI's `group create`."""
    name = str((await request.post()).get("name", "")).strip()
    authorize(request, Action.IAM_CREATE_GROUP, iam_arn(request, "group", name))
    try:
        async with deps_of(request).db.session() as session:
            await identities.create_group(session, name)
    except AuthError as exc:
        return await _list_page(request, error=exc, form={"name": name})
    return redirect(group_page(name))


async def group_detail(request: web.Request) -> web.StreamResponse:
    return await _group_page(request, error=None)


async def _group_page(request: web.Request, error: AuthError | None) -> web.Response:
    name = request.match_info["group"]
    arn = iam_arn(request, "group", name)
    authorize(request, Action.IAM_GET_GROUP, arn)
    authorize(request, Action.IAM_LIST_ATTACHED_GROUP_POLICIES, arn)
    deps = deps_of(request)
    async with deps.db.reader() as session:
        group = await identities.get_group(session, name)
        members = await identities.group_members(session, group)
        attached = await policies.list_policies(session, group=name)
        users = [u.name for u in await identities.list_users(session)]
        managed = await policies.list_managed(session, deps.endpoints.account_id)
    return render(
        request,
        "admin_group.html",
        status=_status(error),
        tabs=adminauth.tabs(request),
        group=group,
        members=members,
        policies=attached,
        managed=[m.name for m in managed],
        others=[u for u in users if u not in members],
        error=str(error or ""),
        may={
            "delete": may(request, Action.IAM_DELETE_GROUP, arn),
            "attach": may(request, Action.IAM_ATTACH_GROUP_POLICY, arn),
            "detach": may(request, Action.IAM_DETACH_GROUP_POLICY, arn),
            "add": may(request, Action.IAM_ADD_USER_TO_GROUP, arn),
            "remove": may(request, Action.IAM_REMOVE_USER_FROM_GROUP, arn),
        },
    )


async def delete_group(request: web.Request) -> web.StreamResponse:
    """The CLI's `group delete`."""
    name = request.match_info["group"]
    authorize(request, Action.IAM_DELETE_GROUP, iam_arn(request, "group", name))
    try:
        async with deps_of(request).db.session() as session:
            await identities.delete_group(session, name)
    except AuthError as exc:
        return await _list_page(request, error=exc, form={})
    return redirect(GROUPS)


async def attach_policy(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy attach-group-policy GROUP NAME`."""
    policy = str((await request.post()).get("policy", ""))
    return await _group_form(
        request,
        Action.IAM_ATTACH_GROUP_POLICY,
        lambda session, group: policies.attach_policy(session, policies.GROUP, group, policy),
    )


async def detach_policy(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy detach-group-policy GROUP NAME`."""
    policy = str((await request.post()).get("policy", ""))
    return await _group_form(
        request,
        Action.IAM_DETACH_GROUP_POLICY,
        lambda session, group: policies.detach_policy(session, policies.GROUP, group, policy),
    )


async def add_member(request: web.Request) -> web.StreamResponse:
    """The CLI's `group add-user GROUP USER`."""
    user = str((await request.post()).get("user", ""))
    return await _group_form(
        request,
        Action.IAM_ADD_USER_TO_GROUP,
        lambda session, group: identities.add_user_to_group(session, group, user),
    )


async def remove_member(request: web.Request) -> web.StreamResponse:
    """The CLI's `group remove-user GROUP USER`."""
    user = str((await request.post()).get("user", ""))
    return await _group_form(
        request,
        Action.IAM_REMOVE_USER_FROM_GROUP,
        lambda session, group: identities.remove_user_from_group(session, group, user),
    )


async def _group_form(
    request: web.Request,
    action: Action,
    change: Callable[[AsyncSession, str], Awaitable[None]],
) -> web.StreamResponse:
    name = request.match_info["group"]
    authorize(request, action, iam_arn(request, "group", name))
    try:
        async with deps_of(request).db.session() as session:
            await change(session, name)
    except AuthError as exc:
        return await _group_page(request, error=exc)
    return redirect(group_page(name))


def _status(error: Exception | None) -> int:
    return 200 if error is None else error_status(error) or 400
