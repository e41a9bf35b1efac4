"""axe-core on the main pages: no serious or critical violation (issue 12, item 7)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.support import (
    DEEP_FILE,
    ColorScheme,
    PageFactory,
    PushedRepository,
    Users,
    assert_accessible,
)

# (what, path with {repo} for the pushed repository, signed in?)
PAGES = [
    pytest.param("/sign-in", False, id="sign-in"),
    pytest.param("/", True, id="repository-list"),
    pytest.param("/repositories/{repo}", True, id="repository-home"),
    pytest.param(f"/repositories/{{repo}}/blob/main/{DEEP_FILE}", True, id="file"),
]


# The stylesheet follows the system's setting: contrast is checked in both.
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize(("path", "signed_in"), PAGES)
def test_no_serious_accessibility_violations(
    path: str,
    signed_in: bool,
    color_scheme: ColorScheme,
    new_page: PageFactory,
    users: Users,
    pushed_repository: PushedRepository,
) -> None:
    page = new_page(users.admin if signed_in else None, color_scheme=color_scheme)
    response = page.goto(path.format(repo=pushed_repository.name))
    assert response is not None and response.status == 200, (path, page.url)
    assert not page.url.endswith("/sign-in") or path == "/sign-in", page.url
    assert page.evaluate(f"matchMedia('(prefers-color-scheme: {color_scheme})').matches")
    assert_accessible(page, f"{path} ({color_scheme})")


def test_sign_in_form_follows_the_keyboard(anonymous_page: Page) -> None:
    """Focus order (item 7): user name, password, then the button."""
    page = anonymous_page
    page.goto("/sign-in")
    page.locator('input[name="username"]').focus()
    order = []
    for _ in range(3):
        order.append(
            page.evaluate(
                "document.activeElement.getAttribute('name')"
                " || document.activeElement.textContent.trim()"
            )
        )
        page.keyboard.press("Tab")
    assert order == ["username", "password", "Sign in"], order
