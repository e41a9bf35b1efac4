"""Session cookies: HttpOnly and SameSite=Lax always, Secure when the page came over TLS."""

from __future__ import annotations

import ssl

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gitserver.web.security import set_cookie


@pytest.mark.parametrize("tls", [False, True])
def test_cookies_are_httponly_lax_and_secure_over_tls(tls: bool) -> None:
    context = ssl.create_default_context() if tls else None
    request = make_mocked_request("GET", "/", sslcontext=context)
    response = web.Response()
    set_cookie(response, request, "gitserver_session", "token", 60)
    morsel = response.cookies["gitserver_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert bool(morsel["secure"]) is tls
    assert morsel["path"] == "/"
