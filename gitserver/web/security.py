"""What every web response carries and every web POST must pass.

- Headers: a CSP that allows no inline script or style (templates use none; JavaScript is
  a static file), no framing, no MIME sniffing, same-origin referrers.
- CSRF: every form carries a token; a POST whose `csrf` field differs from the session's
  (or, before sign-in, from the sign-in cookie's) is refused before its handler runs.
  The comparison is `hmac.compare_digest`: its time does not depend on where the
  strings differ.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
SESSION_COOKIE = "gitserver_session"
# Before sign-in there is no session to bind a token to: the sign-in form's token is
# this cookie's value (double submit; SameSite=Lax keeps other sites from sending it).
SIGNIN_COOKIE = "gitserver_signin"


def redirect(location: str) -> web.Response:
    """A 303 to `location` (returned, not raised: aiohttp deprecates returning an
    `HTTPException`, and the handler still sets cookies on it)."""
    return web.Response(status=303, headers={"Location": location})


def add_headers(response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def tokens_match(sent: str, expected: str) -> bool:
    """Constant-time equality; an empty expectation never matches."""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int
) -> None:
    """HttpOnly, SameSite=Lax, and Secure whenever the page came over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/")


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: `next=` never leaves it
    (`//host`, `/\\host` and schemes would)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(c in target for c in "\r\n\\") or ":" in target.split("?", 1)[0].split("/", 2)[1]:
        return default
    return target
