"""Signing in and out, and changing one's password.

Sign-in checks the password with the same argon2id verification as git over HTTP
(`Authenticator.password`), behind `Throttle`'s backoff; each failure is a
`gitserver:Authenticate` record in the audit log, as git's and the API's are.
"""

from __future__ import annotations

from aiohttp import web

from auth import identities
from auth.errors import AuthenticationFailed
from auth.passwords import weakness
from auth.sessions import (
    LIFETIME,
    create_session,
    delete_session,
    delete_user_sessions,
    purge_expired,
)
from gitserver.access import RequestInfo
from gitserver.audit import FailedLogin
from gitserver.web.context import Viewer, WebDeps, deps_of, info_of, viewer_of
from gitserver.web.pages import VIEWER, render
from gitserver.web.security import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    clear_cookie,
    local_path,
    new_token,
    redirect,
    set_cookie,
)

_SIGNIN_COOKIE_AGE = 3600


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    if request.get(VIEWER) is not None:
        return redirect(local_path(request.query.get("next")))
    return _sign_in_page(request, error="")


def _sign_in_page(request: web.Request, error: str, status: int = 200) -> web.Response:
    token = request.cookies.get(SIGNIN_COOKIE) or new_token()
    response = render(
        request,
        "sign_in.html",
        status=status,
        error=error,
        csrf=token,
        next=local_path(request.query.get("next")),
    )
    set_cookie(response, request, SIGNIN_COOKIE, token, _SIGNIN_COOKIE_AGE)
    return response


async def sign_in(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    info = info_of(request, deps)
    wait = deps.throttle.wait(username, info.source_ip)
    if wait > 0:
        _audit(deps, username, info, "throttled")
        message = f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds."
        return _sign_in_page(request, message, status=429)
    try:
        principal = await deps.authenticator.password(username, password)
    except AuthenticationFailed:
        deps.throttle.failed(username, info.source_ip)
        _audit(deps, username, info, "invalid user name or password")
        return _sign_in_page(request, "Incorrect user name or password.", status=401)
    deps.throttle.succeeded(username)
    async with deps.db.session() as session:
        await purge_expired(session)
        token, _ = await create_session(
            session, principal.user_id, source_ip=info.source_ip, user_agent=info.user_agent
        )
    response = redirect(local_path(str(form.get("next", "")) or None))
    set_cookie(response, request, SESSION_COOKIE, token, int(LIFETIME.total_seconds()))
    clear_cookie(response, SIGNIN_COOKIE)
    return response


def _audit(deps: WebDeps, username: str, info: RequestInfo, reason: str) -> None:
    deps.on_failed_login(
        FailedLogin(
            claimed_user=username,
            method="web-password",
            reason=reason,
            error_code="AuthenticationFailed",
            source_ip=info.source_ip,
            user_agent=info.user_agent,
            transport=info.transport,
            request_id=info.request_id,
            resource="/sign-in",
        )
    )


async def sign_out(request: web.Request) -> web.StreamResponse:
    viewer = viewer_of(request)
    form = await request.post()
    async with deps_of(request).db.session() as session:
        if form.get("everywhere"):
            await delete_user_sessions(session, viewer.principal.user_id)
        else:
            await delete_session(session, viewer.session.token_sha256)
    response = redirect("/sign-in")
    clear_cookie(response, SESSION_COOKIE)
    return response


async def password_form(request: web.Request) -> web.StreamResponse:
    viewer_of(request)
    return render(request, "password.html", error="", done=False)


async def change_password(request: web.Request) -> web.StreamResponse:
    """The current password is required (checked behind the sign-in backoff: a stolen
    session must not become a password oracle); other sessions end."""
    viewer = viewer_of(request)
    deps = deps_of(request)
    form = await request.post()
    new = str(form.get("new_password", ""))
    error = _password_problem(new, str(form.get("confirm_password", "")))
    if not error:
        error = await _check_current(deps, viewer, str(form.get("current_password", "")))
    if error:
        return render(request, "password.html", status=400, error=error, done=False)
    async with deps.db.session() as session:
        await identities.set_password(session, viewer.name, new)
        await delete_user_sessions(
            session, viewer.principal.user_id, keep=viewer.session.token_sha256
        )
    return render(request, "password.html", error="", done=True)


async def _check_current(deps: WebDeps, viewer: Viewer, password: str) -> str:
    """ "" if `password` is the viewer's, else what the page says."""
    wait = deps.throttle.wait(viewer.name, viewer.info.source_ip)
    if wait > 0:
        _audit(deps, viewer.name, viewer.info, "throttled")
        return f"Too many failed attempts. Try again in {int(wait) + 1} seconds."
    try:
        await deps.authenticator.password(viewer.name, password)
    except AuthenticationFailed:
        deps.throttle.failed(viewer.name, viewer.info.source_ip)
        _audit(deps, viewer.name, viewer.info, "wrong current password")
        return "The current password is not correct."
    return ""


def _password_problem(new: str, confirm: str) -> str:
    if problem := weakness(new):
        return problem
    if new != confirm:
        return "The new password and its confirmation differ."
    return ""
