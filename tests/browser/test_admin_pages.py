"""The admin pages in the browser (issue 12): axe in both colour schemes, a laptop's and
a phone's screenshots, an administrator's day (a user, a group, a managed policy, a custom
policy with a JSON mistake, simulate, the audit log), the policy editor by keyboard, and
a read-only user refused with a page that says so."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.forms import forms_of
from tests.browser.layout import screenshots, survey
from tests.browser.support import (
    PASSWORD,
    Account,
    ColorScheme,
    PageFactory,
    PushedRepository,
    Users,
    assert_accessible,
)
from tests.support import Server

CUSTOM_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["codecommit:GitPull"], "Resource": "*"},
    ],
}


@dataclass(frozen=True, slots=True)
class AdminWorld:
    """What the admin pages show, made with the CLI once per worker."""

    user: str
    group: str
    policy: str
    repository: str


@pytest.fixture(scope="session")
def admin_world(
    server: Server,
    browser: Browser,
    users: Users,
    signed_in_state: Callable[[Account], Path],
    pushed_repository: PushedRepository,
) -> AdminWorld:
    tag = uuid.uuid4().hex[:6]
    # The repository was pushed to by the administrator: the audit log has the pushes.
    world = AdminWorld(
        user=f"dev-{tag}",
        group=f"team-{tag}",
        policy=f"PullOnly-{tag}",
        repository=pushed_repository.name,
    )
    with forms_of(browser, server, signed_in_state(users.admin)) as admin:
        admin.post("/admin/users", ("name", world.user), ("password", PASSWORD))
        admin.post("/admin/groups", ("name", world.group))
        admin.post(f"/admin/groups/{world.group}/members", ("user", world.user))
        document = json.dumps(CUSTOM_POLICY, indent=2)
        admin.post("/admin/policies", ("name", world.policy), ("document", document))
        admin.post(f"/admin/groups/{world.group}/policies", ("policy", world.policy))
    return world


# (id, path); {user}, {group}, {policy}, {repo} are the world's.
# (screenshot name, path); {user}, {group}, {policy}, {repo} are the world's.
ADMIN_PAGES = [
    ("admin-users", "/admin/users"),
    ("admin-user", "/admin/users/{user}"),
    ("admin-groups", "/admin/groups"),
    ("admin-group", "/admin/groups/{group}"),
    ("admin-policies", "/admin/policies"),
    ("admin-policy", "/admin/policies/{policy}"),
    ("admin-simulate", "/admin/simulate?user={user}&action=codecommit%3AGitPush&resource={repo}"),
    (
        "admin-audit",
        "/admin/audit?principal=admin&action=GitPush&decision=allowed&repository={repo}",
    ),
]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_admin_pages_are_accessible_and_fit(
    color_scheme: ColorScheme, new_page: PageFactory, users: Users, admin_world: AdminWorld
) -> None:
    page = new_page(users.admin, color_scheme=color_scheme)
    world = admin_world
    fields = {"user": world.user, "group": world.group, "policy": world.policy}
    pages = [(name, path.format(repo=world.repository, **fields)) for name, path in ADMIN_PAGES]
    survey(page, color_scheme, pages)


def _submit(page: Page, control: Locator) -> None:
    with page.expect_navigation():
        control.click()


def _button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def test_an_administrator_adds_a_user_to_a_new_group_and_attaches_a_policy(
    new_page: PageFactory, users: Users
) -> None:
    page = new_page(users.admin)
    tag = uuid.uuid4().hex[:6]
    user, group = f"new-{tag}", f"crew-{tag}"

    # /admin opens the first section; the user is made from the list's form.
    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    page.get_by_label("User name").fill(user)
    page.get_by_label("Initial password").fill(PASSWORD)
    _submit(page, _button(page, "Create user"))
    expect(page.get_by_role("heading", level=2, name=user)).to_be_visible()
    expect(page.get_by_text("Not in any group.")).to_be_visible()

    # A group, then the user joins it from the group's page.
    tabs = page.get_by_role("navigation", name="Administration")
    _submit(page, tabs.get_by_role("link", name="Groups"))
    page.get_by_label("Group name").fill(group)
    _submit(page, _button(page, "Create group"))
    expect(page.get_by_role("heading", level=2, name=group)).to_be_visible()
    expect(page.get_by_text("No members.")).to_be_visible()
    page.get_by_label("Add a user").select_option(user)
    _submit(page, _button(page, "Add"))
    member = page.locator("table.entries").first.get_by_role("link", name=user, exact=True)
    expect(member).to_be_visible()

    # A managed policy, attached from the user's page.
    _submit(page, member)
    expect(page.locator("table.entries").first.get_by_role("link", name=group)).to_be_visible()
    page.get_by_label("Attach a managed policy").select_option("GitServerPowerUser")
    _submit(page, _button(page, "Attach"))
    attached = page.get_by_role("row").filter(has_text="GitServerPowerUser")
    expect(attached).to_contain_text("attached")
    expect(attached.get_by_role("button", name="Detach GitServerPowerUser")).to_be_visible()
    # The users' list says the same.
    _submit(page, tabs.get_by_role("link", name="Users"))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=user, exact=True))
    expect(row).to_contain_text(group)


def test_a_json_mistake_in_a_policy_is_shown_at_its_line_and_nothing_is_saved(
    new_page: PageFactory, users: Users
) -> None:
    page = new_page(users.admin)
    policy = f"Custom-{uuid.uuid4().hex[:6]}"
    good = json.dumps(CUSTOM_POLICY, indent=2)
    page.goto("/admin/policies")
    _submit(page, page.get_by_role("link", name="New policy"))
    page.get_by_label("Policy name").fill(policy)
    editor = page.get_by_label("Policy document (JSON)")
    editor.fill(good)
    _submit(page, _button(page, "Create policy"))
    expect(page.get_by_role("heading", level=2, name=policy)).to_be_visible()
    expect(page.get_by_text("Versions: v1 (default).")).to_be_visible()

    # A comma missing at the end of line 5: the error names the line, which is marked.
    broken = good.replace('"Effect": "Allow",', '"Effect": "Allow"', 1)
    assert broken.splitlines()[4].strip() == '"Effect": "Allow"'
    editor.fill(broken)
    _submit(page, _button(page, "Save as a new default version"))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"Line 6, column \d+:"))
    expect(alert).to_contain_text("The policy was not changed.")
    marked = page.locator("tr.error-line")
    expect(marked).to_have_count(1)
    expect(marked.locator("td.ln")).to_have_text("6")
    expect(marked).to_contain_text('"Action"')
    # The editor keeps what was typed, marked invalid, described by where the error is.
    expect(editor).to_have_value(broken)
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#document-error")).to_contain_text("Error at line 6")
    assert_accessible(page, "the policy editor showing an error")
    screenshots(page, "admin-policy-error", "light")

    # Nothing was saved: the policy still has its one version and its old document.
    page.goto(f"/admin/policies/{policy}")
    expect(page.get_by_text("Versions: v1 (default).")).to_be_visible()
    expect(editor).to_have_value(good)

    # Fixed: a second version, in force.
    fixed = good.replace("codecommit:GitPull", "codecommit:GitPush")
    editor.fill(fixed)
    _submit(page, _button(page, "Save as a new default version"))
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_text("Versions: v1, v2 (default).")).to_be_visible()
    expect(editor).to_have_value(fixed)


def test_simulate_shows_the_decision_and_the_audit_log_filters(
    new_page: PageFactory, users: Users, admin_world: AdminWorld
) -> None:
    page = new_page(users.admin)
    page.goto("/admin/simulate")
    page.get_by_label("User").fill(admin_world.user)
    page.get_by_label("Action").fill("codecommit:GitPull")
    page.get_by_label("Resource (a repository name or an ARN)").fill(admin_world.repository)
    _submit(page, _button(page, "Simulate"))
    result = page.get_by_role("status")
    # The group's custom policy allows pulling...
    expect(result.get_by_role("heading", name="Allow")).to_be_visible()
    expect(result).to_contain_text(admin_world.policy)
    # ...and nothing allows pushing.
    page.get_by_label("Action").fill("codecommit:GitPush")
    _submit(page, _button(page, "Simulate"))
    expect(result.get_by_role("heading", name="Implicit deny")).to_be_visible()
    expect(result).to_contain_text("No statement matched: nothing allows it.")
    # The address is the query: a result can be shared.
    query = parse_qs(urlsplit(page.url).query)
    assert query["user"] == [admin_world.user] and query["action"] == ["codecommit:GitPush"]

    # The audit log, filtered to the administrator's pushes into the world's repository.
    tabs = page.get_by_role("navigation", name="Administration")
    _submit(page, tabs.get_by_role("link", name="Audit log"))
    page.get_by_label("Principal").fill("admin")
    page.get_by_label("Action").fill("GitPush")
    page.get_by_label("Decision").select_option("allowed")
    page.get_by_label("Repository").fill(admin_world.repository)
    _submit(page, _button(page, "Filter"))
    rows = page.locator("table.audit tbody tr")
    # A push is decided on the repository and on each reference: every row is one of those.
    expect(rows.first).to_be_visible()
    for text in ("admin", "codecommit:GitPush", admin_world.repository, "allowed"):
        expect(rows.filter(has_not_text=text)).to_have_count(0)
    expect(rows.filter(has_text="refs/heads/main").first).to_be_visible()
    # The filters stay in the form, and another decision finds nothing here.
    expect(page.get_by_label("Repository")).to_have_value(admin_world.repository)
    page.get_by_label("Decision").select_option("explicitDeny")
    _submit(page, _button(page, "Filter"))
    expect(page.get_by_text("No records match.")).to_be_visible()
    _submit(page, page.get_by_role("link", name="Clear"))
    expect(page.get_by_label("Principal")).to_have_value("")


def test_the_policy_editor_works_from_the_keyboard(new_page: PageFactory, users: Users) -> None:
    """Tab reaches the name, the document and the button in that order; Enter on the
    button creates the policy."""
    page = new_page(users.admin)
    policy = f"Keys-{uuid.uuid4().hex[:6]}"
    page.goto("/admin/policies/new")
    assert_accessible(page, "the new policy form")
    order = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.id || e.getAttribute('name') || e.textContent.trim(); })()"
        )
        order.append(focused)
        if focused == "name":
            break
    assert order[-1] == "name", order
    # Before the form: the account links, the section tabs, the crumbs, in reading order.
    assert order.index("Admin") < order.index("Users") < order.index("Policies") < len(order) - 1
    page.keyboard.type(policy)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "document"
    page.keyboard.press("Control+A")
    page.keyboard.type(json.dumps(CUSTOM_POLICY))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Create policy"
    # Where the focus is shows: the button draws its focus ring.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name=policy)).to_be_visible()


def test_a_read_only_user_is_refused_the_admin_pages(
    new_page: PageFactory, users: Users, admin_world: AdminWorld
) -> None:
    page = new_page(users.reader)
    page.goto("/")
    expect(
        page.get_by_role("navigation", name="Account").get_by_role("link", name="Admin")
    ).to_have_count(0)
    for path in (
        "/admin",
        "/admin/users",
        f"/admin/users/{admin_world.user}",
        "/admin/groups",
        "/admin/policies",
        f"/admin/policies/{admin_world.policy}",
        "/admin/simulate",
        "/admin/audit",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 403, (path, response and response.status)
        expect(page.get_by_role("heading", level=1)).to_have_text("Forbidden")
        expect(page.get_by_role("alert")).to_have_text("Your policies do not allow this.")
        expect(page.locator("body")).not_to_contain_text("Traceback")
        expect(page.get_by_role("navigation", name="Administration")).to_have_count(0)
    assert_accessible(page, "the 403 page")
    screenshots(page, "admin-forbidden", "light")
    # A form posted anyway, with the reader's own token, is refused and creates no one.
    csrf = page.locator("header form input[name=csrf]").get_attribute("value") or ""
    intruder = f"intruder-{uuid.uuid4().hex[:6]}"
    form = {"csrf": csrf, "name": intruder, "password": PASSWORD}
    assert page.request.post("/admin/users", form=form).status == 403
    admin = new_page(users.admin)
    admin.goto("/admin/users")
    expect(admin.locator("main")).to_contain_text(admin_world.user)
    expect(admin.locator("main")).not_to_contain_text(intruder)
