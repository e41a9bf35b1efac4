"""Admin pages for users: list, create (with an initial password), delete, attached
policies and group membership.

Each form calls what the CLI's `user` and `policy attach-user-policy` commands call
(`auth.identities`, `auth.policies`), decided with IAM's action on the user's ARN
(`adminauth`). A refused form shows the page again with the service's message and
the category's status; nothing is changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from auth import identities, policies, sessions
from auth.actions import Action
from auth.errors import AuthError
from gitserver.web import adminauth
from gitserver.web.adminauth import ADMIN, authorize, iam_arn, may
from gitserver.web.context import deps_of
from gitserver.web.middleware import error_status
from gitserver.web.pages import render
from gitserver.web.security import redirect

USERS = ADMIN + "/users"


def user_page(name: str) -> str:
    return f"{USERS}/{name}"


async def user_list(request: web.Request) -> web.StreamResponse:
    return await _list_page(request, error=None, form={})


async def _list_page(
    request: web.Request, error: AuthError | None, form: dict[str, str]
) -> web.Response:
    adminauth.authorize_section(request, "users")
    async with deps_of(request).db.reader() as session:
        users = await identities.list_users(session)
        last = await sessions.last_sign_ins(session)
    return render(
        request,
        "admin_users.html",
        status=_status(error),
        tabs=adminauth.tabs(request),
        users=users,
        last_sign_in=last,
        error=str(error or ""),
        form=form,
        can_create=may(request, Action.IAM_CREATE_USER, iam_arn(request, "user", "*"))
        and may(request, Action.IAM_CREATE_LOGIN_PROFILE, iam_arn(request, "user", "*")),
    )


async def create_user(request: web.Request) -> web.StreamResponse:
    """The CLI's `user create NAME --password-stdin` (never `--admin`: that is the
    operator's, and policies say the rest)."""
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    arn = iam_arn(request, "user", name)
    authorize(request, Action.IAM_CREATE_USER, arn)
    authorize(request, Action.IAM_CREATE_LOGIN_PROFILE, arn)
    try:
        async with deps_of(request).db.session() as session:
            await identities.create_user(session, name, password=password)
    except AuthError as exc:
        return await _list_page(request, error=exc, form={"name": name})
    return redirect(user_page(name))


async def user_detail(request: web.Request) -> web.StreamResponse:
    return await _user_page(request, error=None)


async def _user_page(request: web.Request, error: AuthError | None) -> web.Response:
    name = request.match_info["user"]
    arn = iam_arn(request, "user", name)
    authorize(request, Action.IAM_GET_USER, arn)
    authorize(request, Action.IAM_LIST_GROUPS_FOR_USER, arn)
    authorize(request, Action.IAM_LIST_ATTACHED_USER_POLICIES, arn)
    deps = deps_of(request)
    async with deps.db.reader() as session:
        user = await identities.get_user_info(session, name)
        attached = await policies.list_policies(session, user=name)
        groups = [group.name for group, _ in await identities.list_groups(session)]
        managed = await policies.list_managed(session, deps.endpoints.account_id)
    return render(
        request,
        "admin_user.html",
        status=_status(error),
        tabs=adminauth.tabs(request),
        user=user,
        policies=attached,
        managed=[m.name for m in managed],
        other_groups=[g for g in groups if g not in user.groups],
        error=str(error or ""),
        may=_user_controls(request, arn),
    )


def _user_controls(request: web.Request, arn: str) -> dict[str, bool]:
    any_group = iam_arn(request, "group", "*")
    return {
        "delete": may(request, Action.IAM_DELETE_USER, arn),
        "attach": may(request, Action.IAM_ATTACH_USER_POLICY, arn),
        "detach": may(request, Action.IAM_DETACH_USER_POLICY, arn),
        "join": may(request, Action.IAM_ADD_USER_TO_GROUP, any_group),
        "leave": may(request, Action.IAM_REMOVE_USER_FROM_GROUP, any_group),
    }


async def delete_user(request: web.Request) -> web.StreamResponse:
    """The CLI's `user delete`."""
    name = request.match_info["user"]
    authorize(request, Action.IAM_DELETE_USER, iam_arn(request, "user", name))
    try:
        async with deps_of(request).db.session() as session:
            await identities.delete_user(session, name)
    except AuthError as exc:
        return await _list_page(request, error=exc, form={})
    return redirect(USERS)


async def attach_policy(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy attach-user-policy USER NAME`."""
    return await _user_form(request, Action.IAM_ATTACH_USER_POLICY, policies.attach_policy)


async def detach_policy(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy detach-user-policy USER NAME`."""
    return await _user_form(request, Action.IAM_DETACH_USER_POLICY, policies.detach_policy)


async def _user_form(
    request: web.Request, action: Action, operation: Callable[..., Awaitable[None]]
) -> web.StreamResponse:
    name = request.match_info["user"]
    authorize(request, action, iam_arn(request, "user", name))
    policy = str((await request.post()).get("policy", ""))
    try:
        async with deps_of(request).db.session() as session:
            await operation(session, policies.USER, name, policy)
    except AuthError as exc:
        return await _user_page(request, error=exc)
    return redirect(user_page(name))


async def join_group(request: web.Request) -> web.StreamResponse:
    """The CLI's `group add-user GROUP USER`, from the user's page."""
    group = str((await request.post()).get("group", ""))
    return await _membership(request, group, add=True)


async def leave_group(request: web.Request) -> web.StreamResponse:
    """The CLI's `group remove-user GROUP USER`, from the user's page."""
    group = str((await request.post()).get("group", ""))
    return await _membership(request, group, add=False)


async def _membership(request: web.Request, group: str, *, add: bool) -> web.StreamResponse:
    name = request.match_info["user"]
    action = Action.IAM_ADD_USER_TO_GROUP if add else Action.IAM_REMOVE_USER_FROM_GROUP
    authorize(request, action, iam_arn(request, "group", group))
    change = identities.add_user_to_group if add else identities.remove_user_from_group
    try:
        async with deps_of(request).db.session() as session:
            await change(session, group, name)
    except AuthError as exc:
        return await _user_page(request, error=exc)
    return redirect(user_page(name))


def _status(error: Exception | None) -> int:
    return 200 if error is None else error_status(error) or 400
