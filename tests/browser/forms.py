"""The web UI's own forms, posted without rendering them: how the session fixtures set up
what the pages under test show. A request costs the server's work only, where each CLI
command costs a Python process's start (about a second of CPU), and a fixture needs many."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import APIRequestContext, APIResponse, Browser

from tests.support import Server

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Forms:
    """Posts forms as one signed-in browser, with its session's CSRF token."""

    def __init__(self, request: APIRequestContext) -> None:
        self.request = request
        page = request.get("/settings/password").text()
        found = _CSRF.search(page)
        assert found, "no CSRF token on /settings/password: not signed in?"
        self.csrf = found.group(1)

    def post(self, path: str, *fields: tuple[str, str]) -> APIResponse:
        """Submit `fields` (repeat a name for a checkbox list) to `path`; the answer after
        redirects, which must not be an error."""
        response = self.request.post(
            path,
            data=urlencode([("csrf", self.csrf), *fields]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.ok, f"POST {path}: {response.status} {response.text()[:500]}"
        return response


@contextmanager
def forms_of(browser: Browser, server: Server, state: Path) -> Iterator[Forms]:
    """A Forms for the user whose saved sign-in is `state` (`signed_in_state(user)`)."""
    context = browser.new_context(base_url=server.base_url, storage_state=state)
    try:
        yield Forms(context.request)
    finally:
        context.close()
