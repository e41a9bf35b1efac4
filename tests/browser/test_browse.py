"""Browsing code in a pushed repository, and names and content that are markup (items 4, 7)."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

from playwright.sync_api import Dialog, Page, expect

from tests.browser.support import (
    DEEP_FILE,
    DEEP_SOURCE,
    HOSTILE_CONTENT,
    HOSTILE_NAME,
    PageFactory,
    PushedRepository,
    Users,
)


def _link(page: Page, text: str | re.Pattern[str]) -> None:
    """Follow the link whose accessible name is `text` (exactly), as a reader clicks it."""
    with page.expect_navigation():
        page.get_by_role("link", name=text, exact=True).first.click()


def _folder(name: str) -> re.Pattern[str]:
    # A folder's link may carry a trailing slash (the tree page writes "src/").
    # (\x2f, not "/": Playwright sends the pattern to the page between slashes.)
    return re.compile(f"^{re.escape(name)}\\x2f?$")


def test_browse_from_the_repository_list_to_a_file(
    page: Page, pushed_repository: PushedRepository
) -> None:
    name = pushed_repository.name
    page.goto("/")
    _link(page, name)
    assert urlsplit(page.url).path == f"/repositories/{name}", page.url

    # The home shows README, clone URLs and refs; its tree is one link away.
    _link(page, "Browse files")
    *folders, file = DEEP_FILE.split("/")
    for folder in folders:
        _link(page, _folder(folder))
    _link(page, file)

    assert unquote(urlsplit(page.url).path) == f"/repositories/{name}/blob/main/{DEEP_FILE}"
    main = page.locator("main")
    for line in DEEP_SOURCE.splitlines():
        expect(main).to_contain_text(line.strip())
    # Highlighted: Pygments splits the source into token elements, not one text node.
    tokens = main.locator("pre span")
    assert tokens.count() >= 5, main.inner_html()
    expect(tokens.filter(has_text="greet").first).to_be_visible()


def test_a_file_name_and_content_that_are_markup_render_as_text(
    page: Page, pushed_repository: PushedRepository, snap: Callable[[Page, str], None]
) -> None:
    # The page fixture fails the test on any dialog too; this listener also says where.
    fired: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        fired.append(f"{dialog.message} on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    name = pushed_repository.name

    page.goto(f"/repositories/{name}/tree/main/")
    # networkidle: a broken <img src=x> would have failed to load and run onerror by now.
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text(HOSTILE_NAME, exact=True).first).to_be_visible()
    assert page.locator('img[src="x"]').count() == 0
    snap(page, "tree")

    _link(page, HOSTILE_NAME)
    page.wait_for_load_state("networkidle")
    assert unquote(urlsplit(page.url).path).endswith(f"/blob/main/{HOSTILE_NAME}"), page.url
    expect(page.locator("body")).to_contain_text("<script>alert(2)</script>")
    expect(page.locator("body")).to_contain_text("<img src=y onerror=alert(3)>")
    assert page.locator('img[src="y"]').count() == 0
    snap(page, "blob")

    raw = page.goto(f"/repositories/{name}/raw/main/{quote(HOSTILE_NAME)}")
    assert raw is not None and raw.status == 200
    # Raw content is never a document the browser would run: not HTML, and not sniffed.
    assert not raw.headers["content-type"].startswith("text/html"), raw.headers
    assert raw.headers.get("x-content-type-options") == "nosniff", raw.headers
    assert raw.body().decode() == HOSTILE_CONTENT
    page.wait_for_load_state("networkidle")

    assert fired == []


def test_a_read_only_user_reads_a_file(
    new_page: PageFactory, users: Users, pushed_repository: PushedRepository
) -> None:
    # GitServerReadOnly allows GetBlob: the reader sees the file the admin pushed.
    page = new_page(users.reader)
    response = page.goto(f"/repositories/{pushed_repository.name}/blob/main/{DEEP_FILE}")
    assert response is not None and response.status == 200, page.url
    expect(page.locator("main")).to_contain_text("def greet(name: str) -> str:")
