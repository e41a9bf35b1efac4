"""A webhook made in the browser delivers a push to a receiver on loopback, and its
delivery log shows the request and the response (issue 12, items 6 and 8).

The session server allows 127.0.0.1 as a webhook target (`--webhook-allowed-hosts`,
tests/conftest.py); any other loopback address is still refused by the SSRF check.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.support import PageFactory, Users
from tests.receivers import Receiver
from tests.support import Git, Server

SECRET = "browser-hook-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


def _submit(page: Page, button: Locator) -> None:
    with page.expect_navigation():
        button.click()


def _reload_until(page: Page, found: Callable[[], Locator], timeout: float = 30) -> Locator:
    """The delivery log is written when the attempt ends, a moment after the receiver
    has the request: reload, as a person would, until the entry is there."""
    deadline = time.monotonic() + timeout
    while True:
        locator = found()
        if locator.count() or time.monotonic() > deadline:
            return locator
        page.wait_for_timeout(250)
        page.reload()


def test_a_webhook_made_in_the_browser_delivers_a_push_and_logs_it(
    new_page: PageFactory,
    users: Users,
    server: Server,
    receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
    snap: Callable[[Page, str], None],
) -> None:
    page = new_page(users.admin)
    name = f"hooked-{uuid.uuid4().hex[:8]}"
    server.cli("repo", "create", name)

    # From the repository's tabs to the form; the receiver gets the hook's ping.
    page.goto(f"/repositories/{name}")
    _submit(page, page.get_by_role("link", name="Webhooks", exact=True))
    expect(page.get_by_text("This repository has no webhooks.")).to_be_visible()
    page.get_by_label("Payload URL").fill(receiver.url)
    page.get_by_label("Format").select_option("native")
    page.get_by_label("Events (comma-separated: push, pull_request, * or event types)").fill("push")
    page.get_by_label("Secret (signs each delivery; never shown again)").fill(SECRET)
    _submit(page, page.get_by_role("button", name="Add webhook"))
    hook = page.get_by_role("link", name=receiver.url, exact=True)
    expect(hook).to_be_visible()
    expect(page.locator("table.entries")).to_contain_text("(signed)")
    (ping,) = receiver.wait_for(1)
    assert ping.headers["X-GitServer-Event"] == "ping"

    # A push, as anyone would make it; the receiver gets it.
    root = tmp_path_factory.mktemp("hooked")
    git = Git(root / "home")
    work = git.init(root / "work")
    head = git.commit(work, "hello.txt", "hello\n", "say hello")
    git("push", "-q", server.url(name), "main", cwd=work)
    pushed = receiver.wait_for(2)[1]
    assert pushed.headers["X-GitServer-Event"] == "referenceCreated"
    assert json.loads(pushed.body)["detail"]["commitId"] == head

    # The hook's page lists both deliveries; the push's shows what was sent and answered.
    _submit(page, hook)
    expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()

    def push_delivery() -> Locator:
        return page.locator("details.delivery").filter(
            has=page.locator("summary", has_text="referenceCreated · succeeded · HTTP 200")
        )

    delivery = _reload_until(page, push_delivery)
    expect(delivery).to_have_count(1)
    expect(page.locator("details.delivery summary").filter(has_text="ping")).to_have_count(1)
    delivery.locator("summary").click()
    attempt = delivery.locator("h4").first
    expect(attempt).to_contain_text("Attempt 1")
    expect(attempt).to_contain_text("HTTP 200")
    request = delivery.locator("pre")
    expect(request.nth(0)).to_contain_text("X-GitServer-Event: referenceCreated")
    expect(request.nth(0)).to_contain_text("X-GitServer-Signature-256: ***")  # masked
    expect(request.nth(1)).to_contain_text(head)  # the request body: the pushed commit
    expect(request.nth(2)).to_have_text("ok")  # the receiver's answer
    expect(page.locator("main")).not_to_contain_text(SECRET)
    # One-line JSON bodies wrap: the log never makes the page scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    snap(page, "deliveries")

    # A reader (GetRepositoryTriggers, not Put or Test) sees the log and no control.
    reader = new_page(users.reader)
    reader.goto(page.url)
    expect(reader.locator("details.delivery")).to_have_count(2)
    for control in ("Send a test delivery", "Redeliver", "Delete", "Add webhook"):
        expect(reader.get_by_role("button", name=control)).to_have_count(0)
