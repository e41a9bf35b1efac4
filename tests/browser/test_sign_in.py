"""Signing in and out through the real form (issue 12, item 2)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page, expect

from tests.browser.support import PASSWORD, Account, PageFactory, Users, sign_in
from tests.support import Server


def _path(page: Page) -> str:
    return urlsplit(page.url).path


def _named_values(page: Page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}


def _signed_out(page: Page) -> bool:
    """Whether the server treats the page's cookies as no session: / sends it to sign in."""
    page.goto("/")
    return _path(page) == "/sign-in"


def test_sign_in_returns_to_the_page_asked_for(anonymous_page: Page, users: Users) -> None:
    page = anonymous_page
    page.goto("/")
    assert _path(page) == "/sign-in"
    assert parse_qs(urlsplit(page.url).query).get("next") == ["/"], page.url

    page.locator('input[name="username"]').fill(users.admin.name)
    page.locator('input[name="password"]').fill(users.admin.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    assert _path(page) == "/", page.url
    session = page.context.cookies()
    assert session, "signed in, but no cookie"
    # Item 2: the session cookie is out of reach of scripts and of cross-site posts.
    assert all(c["httpOnly"] and c["sameSite"] == "Lax" for c in session), session


def test_wrong_password_shows_an_alert_and_makes_no_session(
    anonymous_page: Page, server: Server, snap: Callable[[Page, str], None]
) -> None:
    # Its own user: the failed attempt counts towards that user's sign-in backoff only.
    user = Account(f"wrong-{uuid.uuid4().hex[:6]}", PASSWORD)
    server.cli("user", "create", user.name, "--password-stdin", input=PASSWORD + "\n")
    page = anonymous_page
    page.goto("/sign-in")
    # The form's own CSRF cookie (double submit, before any session) is not a session.
    before = _named_values(page)

    sign_in(page, user, password="not the password")

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).not_to_be_empty()
    snap(anonymous_page, "alert")
    # The failed POST may refresh the form's cookie, but adds or changes no cookie.
    assert _named_values(page) == before, "a failed sign-in set a cookie"
    assert _signed_out(page)
    # The right password still works afterwards (the backoff delays, it does not lock out).
    sign_in(page, user)
    assert not _signed_out(page)


def test_sign_out_ends_the_session_on_the_server(
    new_page: PageFactory, browser: Browser, server: Server, users: Users
) -> None:
    page = new_page(None)
    sign_in(page, users.reader)
    cookies = page.context.cookies()
    assert not _signed_out(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

    assert _signed_out(page)
    # The old cookie, replayed from elsewhere, is refused: the session is gone server-side.
    replay = browser.new_context(base_url=server.base_url)
    try:
        replay.add_cookies(cookies)  # type: ignore[arg-type]
        assert _signed_out(replay.new_page())
    finally:
        replay.close()
