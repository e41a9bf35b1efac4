"""The web UI's one middleware: who is signed in, the CSRF check on every POST, errors as
pages; and the security headers on every web response (`security_headers`, run as each
response is prepared).

It acts on web routes only (their names start with `web-`) and on GET requests no route
matched outside git's `/v1/`: git and the CodeCommit API answer in their own formats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.web_urldispatcher import SystemRoute

from auth.sessions import touch_session
from gitserver import errors
from gitserver.errors import UNAVAILABLE_MESSAGE, unavailable
from gitserver.gitcmd import GitError, UnsafeArgument
from gitserver.web.adminauth import admin_sections
from gitserver.web.context import Viewer, deps_of, info_of
from gitserver.web.pages import VIEWER, render
from gitserver.web.security import SESSION_COOKIE, SIGNIN_COOKIE, add_headers, tokens_match

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SIGN_IN_ROUTE = "web-signin"
# Files that are the same for everyone: no session lookup (two SQL reads) for them.
_STATIC_ROUTES = frozenset({"web-static", "web-style"})
NOT_FOUND = "This page does not exist, or you do not have access to it."
# Category -> (status, whether the domain message is shown). Access denials look like
# "not found": a repository's existence is not told to someone who may not read it.
_STATUS: list[tuple[type[Exception], int, bool]] = [
    (errors.AccessDenied, 404, False),
    (errors.NotFound, 404, False),
    (errors.InvalidInput, 400, True),
    (errors.LimitExceeded, 413, True),
    (errors.Conflict, 409, True),
    (errors.AlreadyExists, 409, True),
    (UnsafeArgument, 400, False),
]


def is_web(request: web.Request) -> bool:
    route = request.match_info.route
    if isinstance(route, SystemRoute):  # no route matched (404) or not this method (405)
        return not request.path.startswith("/v1/")
    return _route_name(request).startswith("web-")


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return (resource.name or "") if resource is not None else ""


@web.middleware
async def web_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_web(request):
        return await handler(request)
    try:
        _refuse_unwritable(request.query.values())
        if _route_name(request) not in _STATIC_ROUTES:
            await _load_viewer(request)
        if request.method == "POST" and not isinstance(request.match_info.route, SystemRoute):
            await _check_csrf(request)
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect (to sign in): as a response, not the exception
            location = exc.headers.get("Location", "/")
            response = web.Response(status=exc.status, headers={"Location": location})
        else:
            response = error_page(request, exc.status, exc.text or "")
            if exc.status in (408, 413):
                response.force_close()  # the body was not read to its end: no keep-alive
    except ConnectionResetError:
        raise  # the client left mid-download: there is no one to show a page to
    except Exception as exc:
        response = _domain_error_page(request, exc)
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every web response as it is prepared: streamed downloads send their headers
    before a middleware could add to them."""
    if is_web(request):
        add_headers(response)


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    retry_later = status == 503 and bool(message)  # "try again shortly" is worth saying
    if status == 404:
        message = NOT_FOUND
    elif not retry_later and (status >= 500 or not message or message.startswith(f"{status}:")):
        message = "Something went wrong on the server." if status >= 500 else "Request refused."
    return render(request, "error.html", status=status, status_code=status, message=message)


def error_status(exc: Exception) -> int | None:
    """The status of a domain error's category (None: not one the table maps)."""
    for kind, status, _ in _STATUS:
        if isinstance(exc, kind):
            return status
    return None


def _domain_error_page(request: web.Request, exc: Exception) -> web.Response:
    for kind, status, shown in _STATUS:
        if isinstance(exc, kind):
            return error_page(request, status, str(exc) if shown else "")
    if isinstance(exc, GitError):
        log.warning("git failed behind a web page", extra={"path": request.path})
        return error_page(request, 404, "")
    if unavailable(exc):
        log.warning("web page failed: %s", UNAVAILABLE_MESSAGE, extra={"path": request.path})
        return error_page(request, 503, f"The {UNAVAILABLE_MESSAGE}.")
    # The log gets the cause; the page a generic sentence, never a traceback.
    log.exception("web page failed", extra={"path": request.path})
    return error_page(request, 500, "")


def _refuse_unwritable(values: Iterable[object]) -> None:
    """400 for a query or form value no name, path or text column can hold: NUL, or a
    lone surrogate (PostgreSQL refuses the first, UTF-8 cannot carry the second)."""
    for value in values:
        if not isinstance(value, str):
            continue  # an uploaded file: its bytes are content, not text
        try:
            value.encode()
        except UnicodeEncodeError:
            raise web.HTTPBadRequest(text="The request holds text that is not UTF-8.") from None
        if "\0" in value:
            raise web.HTTPBadRequest(text="The request holds a NUL character.")


async def _load_viewer(request: web.Request) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return
    deps = deps_of(request)
    signed_in = await deps.authenticator.web_session(token)
    if signed_in is None:
        return
    found, principal = signed_in
    if found.needs_touch:
        async with deps.db.session() as session:
            await touch_session(session, found.token_sha256)
    info = info_of(request, deps)
    admin = admin_sections(deps.access, principal, info)
    request[VIEWER] = Viewer(principal, found, info, admin)


async def _check_csrf(request: web.Request) -> None:
    """Refuse a POST whose form token is not this browser's (403, nothing changed)."""
    size, limit = request.content_length, request.client_max_size
    if size is not None and limit and size > limit:
        # aiohttp would read `limit` bytes before refusing: the header already says no.
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
    try:
        async with asyncio.timeout(deps_of(request).body_timeout):
            form = await request.post()
    except TimeoutError:  # a client that stopped sending: answered, then closed
        raise web.HTTPRequestTimeout(text="The form took too long to arrive.") from None
    _refuse_unwritable(form.values())
    sent = form.get("csrf")
    viewer: Viewer | None = request.get(VIEWER)
    if _route_name(request) == SIGN_IN_ROUTE:
        expected = request.cookies.get(SIGNIN_COOKIE, "")
    else:
        expected = viewer.session.csrf_token if viewer else ""
    if not isinstance(sent, str) or not tokens_match(sent, expected):
        raise web.HTTPForbidden(
            text="The form has expired or did not come from this site. "
            "Reload the page and try again."
        )
