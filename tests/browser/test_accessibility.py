"""axe-core on the main pages: no serious or critical violation (issue 12, item 7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.support import DEEP_FILE, Account, PushedRepository, Users, assert_accessible

# (what, path with {repo} for the pushed repository, signed in?)
PAGES = [
    pytest.param("/sign-in", False, id="sign-in"),
    pytest.param("/", True, id="repository-list"),
    pytest.param("/repositories/{repo}", True, id="repository-home"),
    pytest.param(f"/repositories/{{repo}}/blob/main/{DEEP_FILE}", True, id="file"),
]


@pytest.mark.parametrize(("path", "signed_in"), PAGES)
def test_no_serious_accessibility_violations(
    path: str,
    signed_in: bool,
    new_page: Callable[[Account | None], Page],
    users: Users,
    pushed_repository: PushedRepository,
) -> None:
    page = new_page(users.admin if signed_in else None)
    response = page.goto(path.format(repo=pushed_repository.name))
    assert response is not None and response.status == 200, (path, page.url)
    assert not page.url.endswith("/sign-in") or path == "/sign-in", page.url
    assert_accessible(page, path)
