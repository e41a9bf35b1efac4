"""Browser test helpers: Debian's Chromium, signing in through the real form, axe, screenshots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, Playwright, expect

# Debian's package, not a Playwright download: the distribution keeps it patched, and
# scripts/test installs it. pyproject's playwright range is chosen for its version.
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# axe-core's impact levels; "moderate" and "minor" are reported but do not fail a test.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
_AXE = Axe()

PASSWORD = "correct horse battery staple"
# The escaping case of issue 12: a file name that is markup, with content that is too.
HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"
HOSTILE_CONTENT = "<script>alert(2)</script>\n<img src=y onerror=alert(3)>\n"
DEEP_FILE = "src/gitserver_demo/core/module.py"
DEEP_SOURCE = 'def greet(name: str) -> str:\n    """Say hello."""\n    return f"hello {name}"\n'


@dataclass(frozen=True, slots=True)
class Account:
    """A user of the server under test, with the password the browser types."""

    name: str
    password: str


@dataclass(frozen=True, slots=True)
class Users:
    """The accounts of the worker's server: the bootstrap admin and a read-only user."""

    admin: Account
    reader: Account


@dataclass(frozen=True, slots=True)
class PushedRepository:
    """A repository with a README, a deep source file and a hostile file name on `main`."""

    name: str
    head: str


ColorScheme = Literal["light", "dark"]


class PageFactory(Protocol):
    """The `new_page` fixture: a page in a fresh context, signed in as `user` (None: not)."""

    def __call__(self, user: Account | None, *, color_scheme: ColorScheme = "light") -> Page: ...


def launch_chromium(playwright: Playwright, home: Path) -> Browser:
    """Debian's Chromium, headless, with its own HOME; fails loudly when it is not installed.

    Playwright already gives every launch a fresh temporary profile (--user-data-dir), so
    xdist workers never share one; the private HOME and XDG directories keep the rest
    Chromium writes (crash reports, caches, fontconfig) apart as well.
    """
    if not CHROMIUM.exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package. "
            "scripts/test installs it with apt when it runs as root (or with sudo -n); "
            "install it with `apt-get install chromium`, or deselect with -m 'not browser'."
        )
    for sub in ("config", "cache", "data"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        env={
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_DATA_HOME": str(home / "data"),
            "LANG": "C.UTF-8",
        },
    )


def sign_in(page: Page, user: Account, password: str | None = None) -> None:
    """Sign in through the real form at /sign-in, as a person would, and wait for the result.

    `password` overrides the account's (a wrong one: the caller checks the alert). The
    page is left wherever the form sends it; callers assert what they expect there.
    """
    page.goto("/sign-in")
    # The contract names the inputs; that they are labelled is axe's part (test_accessibility).
    page.locator('form input[name="username"]').fill(user.name)
    page.locator('form input[name="password"]').fill(
        user.password if password is None else password
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def session_cookies(page: Page) -> list[dict[str, Any]]:
    """The cookies of the page's origin that outlive the page: what a session would be."""
    return [dict(c) for c in page.context.cookies(page.url)]


def assert_accessible(page: Page, what: str) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    expect(page.locator("body")).to_be_visible()
    results = _AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [
            f"  {v['id']} ({v['impact']}): {v['help']} -- "
            + "; ".join(", ".join(n["target"]) for n in v["nodes"][:5])
            for v in blocking
        ]
        raise AssertionError(
            f"axe: {len(blocking)} serious or critical violation(s) on {what} ({page.url}):\n"
            + "\n".join(lines)
        )


def screenshot_path(test_name: str, suffix: str = "") -> Path:
    """test-artifacts/screenshots/<test>.png, with a name safe for any file system."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{safe}{suffix}.png"
