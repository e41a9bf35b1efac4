"""Browser fixtures: one Chromium per xdist worker, pages signed in through the real form.

Each worker reuses the session `server` of tests/conftest.py (started anyway for the
other tests) and signs each user in once; later pages start from the saved cookies, so a
test costs a browser context, not an argon2 hash and a form round trip. Tests that sign
out or sign in themselves take `anonymous_page` and their own session.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Playwright,
    sync_playwright,
)

from tests.browser.support import (
    DEEP_FILE,
    DEEP_SOURCE,
    HOSTILE_CONTENT,
    HOSTILE_NAME,
    PASSWORD,
    Account,
    ColorScheme,
    PageFactory,
    PushedRepository,
    Users,
    launch_chromium,
    screenshot_path,
    sign_in,
)
from tests.support import Git, Server

_HERE = Path(__file__).resolve().parent
# Playwright waits 30 s for an element by default; a local page that needs more than this
# is a failure, and a missing one should fail the test quickly, not stall the suite.
ACTION_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test in this directory drives Chromium: `-m browser` selects them, and
    # `-m 'not browser'` leaves them out on a host without it.
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class PageWatch:
    """What a page did that no test may allow: a dialog (script ran) or an uncaught error."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        # Other tests in this worker unmark the loop while they run (tests/conftest.py);
        # stopping Playwright, maybe at the end of one of them, needs it marked again.
        loop = asyncio.events._get_running_loop()
        yield driver
        asyncio.events._set_running_loop(loop)


@pytest.fixture(scope="session")
def browser(
    playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """One Chromium per worker; tests isolate themselves with a context each."""
    instance = launch_chromium(playwright_driver, tmp_path_factory.mktemp("chromium-home"))
    loop = asyncio.events._get_running_loop()
    yield instance
    # Like the driver's, this teardown may run at the end of a test that is not a browser test.
    asyncio.events._set_running_loop(loop)
    instance.close()


@pytest.fixture(scope="session")
def users(server: Server) -> Users:
    reader = f"reader-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", reader, "--password-stdin", input=PASSWORD + "\n")
    server.cli("policy", "attach-user-policy", reader, "GitServerReadOnly")
    return Users(admin=Account("admin", server.admin_password), reader=Account(reader, PASSWORD))


@pytest.fixture(scope="session")
def signed_in_state(
    browser: Browser, server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Account], Path]:
    """Signs a user in through the form once per worker; returns the saved cookies' file."""
    saved: dict[str, Path] = {}
    # A sign-in that failed once fails every later test at once, not after another timeout.
    failed: dict[str, str] = {}
    directory = tmp_path_factory.mktemp("sessions")

    def state(user: Account) -> Path:
        if user.name in failed:
            raise AssertionError(f"signing in as {user.name} failed earlier: {failed[user.name]}")
        if user.name not in saved:
            context = browser.new_context(base_url=server.base_url)
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            try:
                page = context.new_page()
                sign_in(page, user)
                if not context.cookies():
                    raise AssertionError(f"signing in as {user.name} set no cookie ({page.url})")
                path = directory / f"{user.name}.json"
                context.storage_state(path=path)
                saved[user.name] = path
            except (AssertionError, Error) as exc:
                failed[user.name] = str(exc).splitlines()[0]
                raise
            finally:
                context.close()
        return saved[user.name]

    return state


@pytest.fixture
def new_page(
    browser: Browser,
    server: Server,
    signed_in_state: Callable[[Account], Path],
    request: pytest.FixtureRequest,
) -> Iterator[PageFactory]:
    """Opens a page in a fresh context, signed in as the user (None: signed out).

    Every page is screenshotted into test-artifacts/screenshots/ when the test ends, and
    the test fails if any page opened a dialog (a script ran), threw an uncaught error or
    had something blocked by its Content-Security-Policy.
    """
    opened: list[tuple[Page, PageWatch]] = []

    def make(user: Account | None, *, color_scheme: ColorScheme = "light") -> Page:
        state = signed_in_state(user) if user is not None else None
        context = browser.new_context(
            base_url=server.base_url, storage_state=state, color_scheme=color_scheme
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        watch = PageWatch()

        def on_dialog(dialog: Dialog) -> None:
            watch.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()  # an open dialog would block the page until it is handled

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))

        def on_console(message: ConsoleMessage) -> None:
            # Chromium reports what the CSP blocked (inline script or style, a foreign
            # origin) only on the console: every such report is a page bug.
            if message.type == "error" and "Content Security Policy" in message.text:
                watch.errors.append(f"CSP: {message.text}")

        page.on("console", on_console)
        opened.append((page, watch))
        return page

    yield make
    for index, (page, _) in enumerate(opened):
        try:
            suffix = f"-{index + 1}" if len(opened) > 1 else ""
            page.screenshot(path=screenshot_path(request.node.name, suffix), full_page=True)
        except Error:
            pass  # a page that crashed or closed has nothing to show; the test says why
        finally:
            page.context.close()
    dialogs = [d for _, watch in opened for d in watch.dialogs]
    errors = [e for _, watch in opened for e in watch.errors]
    assert not dialogs, f"a page opened a dialog: script from page content ran: {dialogs}"
    assert not errors, f"uncaught JavaScript errors or CSP violations: {errors}"


@pytest.fixture
def snap(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Screenshots a step of the test: test-artifacts/screenshots/<test>-<step>.png."""

    def take(page: Page, step: str) -> None:
        page.screenshot(path=screenshot_path(request.node.name, f"-{step}"), full_page=True)

    return take


@pytest.fixture
def page(new_page: PageFactory, users: Users) -> Page:
    """A page signed in as admin."""
    return new_page(users.admin)


@pytest.fixture
def anonymous_page(new_page: PageFactory) -> Page:
    """A page with no session: for the sign-in tests, which make their own."""
    return new_page(None)


@pytest.fixture(scope="session")
def pushed_repository(server: Server, tmp_path_factory: pytest.TempPathFactory) -> PushedRepository:
    """One repository per worker, pushed over HTTP as a user would; tests only read it."""
    work = tmp_path_factory.mktemp("browse-work")
    git = Git(work / "home")
    tree = git.init(work / "tree")
    name = f"browse-{uuid.uuid4().hex[:8]}"
    server.cli("repo", "create", name)
    git.commit(tree, "README.md", "# Browse demo\n\nA repository for the browser tests.\n")
    git.commit(tree, DEEP_FILE, DEEP_SOURCE)
    head = git.commit(tree, HOSTILE_NAME, HOSTILE_CONTENT, message="a file name that is markup")
    git("push", "-q", server.url(name), "main", cwd=tree)
    return PushedRepository(name=name, head=head)
