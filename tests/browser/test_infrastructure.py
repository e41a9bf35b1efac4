"""The browser harness itself: Debian's Chromium reaches the server, and the checks can fail."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess

import psutil
import pytest
from playwright.sync_api import Browser, Dialog, Error, Page

from tests.browser.support import CHROMIUM, assert_accessible
from tests.support import Server


def test_chromium_reaches_healthz(anonymous_page: Page, browser: Browser) -> None:
    # The browser is Debian's (executable_path), not one Playwright downloaded.
    installed = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert browser.version in installed, (browser.version, installed)
    response = anonymous_page.goto("/healthz")
    assert response is not None and response.status == 200
    assert json.loads(anonymous_page.locator("body").inner_text()) == {"status": "ok"}


def test_worker_owns_its_chromium_profile(browser: Browser) -> None:
    """xdist workers each launch Chromium with a profile no other process tree uses."""
    me = psutil.Process(os.getpid())
    profiles = set()
    for child in me.children(recursive=True):
        try:
            profiles |= {a for a in child.cmdline() if a.startswith("--user-data-dir=")}
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    assert len(profiles) == 1, f"this worker's Chromium runs with profiles {profiles}"
    for other in psutil.process_iter(["pid", "cmdline"]):
        if not other.info["cmdline"] or not profiles & set(other.info["cmdline"]):
            continue
        # Chromium starts helpers (a GPU process) whenever it likes, so ancestry is read
        # now, per process, rather than from a list of children taken before the walk.
        assert _descends_from(other, me.pid), (
            f"process {other.info['pid']} outside this worker uses this worker's profile"
        )


def _descends_from(process: psutil.Process, ancestor: int) -> bool:
    try:
        return any(parent.pid == ancestor for parent in process.parents())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return True  # gone already: it cannot be sharing the profile any more


def test_dialog_listener_sees_script_from_markup(browser: Browser) -> None:
    """The escaping tests rely on this: unescaped markup with onerror does open a dialog."""
    page = browser.new_page()
    try:
        seen: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            seen.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.set_content("<p><img src=x onerror=alert(1)>.txt</p>")
        page.wait_for_load_state("networkidle")
        assert seen == ["1"]
    finally:
        page.context.close()


def test_axe_helper_fails_on_violations(anonymous_page: Page) -> None:
    # image-alt and button-name are critical in axe-core: the helper must refuse them.
    anonymous_page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button>'
        "</main></body></html>"
    )
    with pytest.raises(AssertionError, match=r"image-alt \(critical\)"):
        assert_accessible(anonymous_page, "a page built to fail")
    anonymous_page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        "<h1>Fine</h1><p>Nothing to report.</p></main></body></html>"
    )
    assert_accessible(anonymous_page, "a clean page")


def test_csp_reports_reach_the_console(browser: Browser, server: Server) -> None:
    """The page watch fails a test on CSP reports: an inline script on a page does report."""
    context = browser.new_context(base_url=server.base_url)
    try:
        page = context.new_page()
        reports: list[str] = []
        page.on(
            "console",
            lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto("/sign-in")
        with contextlib.suppress(Error):  # Playwright may also raise for the blocked script
            page.add_script_tag(content="document.title = 'inline ran'")
        page.wait_for_timeout(200)
        assert page.title() != "inline ran"
        assert reports, "an inline script was blocked without a console report"
    finally:
        context.close()
