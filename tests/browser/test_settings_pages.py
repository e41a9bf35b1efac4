"""A user's own settings and a repository's settings in the browser (issue 12): axe in
both colour schemes with laptop and phone screenshots; a user adds an SSH key, makes and
deactivates an HTTPS Git credential and changes their password; a repository owner edits
the description and default branch, adds a notification rule and associates an approval
rule template; a read-only user sees none of the controls."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Locator, Page, expect

from tests.api_support import codecommit
from tests.browser.forms import forms_of
from tests.browser.layout import LAPTOP, PHONE, screenshots, survey
from tests.browser.support import (
    PASSWORD,
    Account,
    ColorScheme,
    PageFactory,
    Users,
    assert_accessible,
    sign_in,
)
from tests.receivers import Receiver
from tests.support import Git, Server


@dataclass(frozen=True, slots=True)
class SshKey:
    """An OpenSSH public key line and the fingerprint a person compares it by."""

    line: str
    fingerprint: str

    @classmethod
    def generate(cls, comment: str) -> SshKey:
        public = Ed25519PrivateKey.generate().public_key()
        line = public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode()
        digest = hashlib.sha256(base64.b64decode(line.split()[1])).digest()
        fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
        return cls(f"{line} {comment}", fingerprint)


@dataclass(frozen=True, slots=True)
class SettingsWorld:
    """A power user with a key and a credential, and a repository with every setting."""

    owner: Account
    repository: str
    webhook: str
    template: str  # associated with the repository
    spare_template: str  # not associated: the form offers it

    @property
    def settings(self) -> str:
        return f"/repositories/{self.repository}/settings"


def _new_user(
    browser: Browser, server: Server, admin: Path, prefix: str, *policies: str
) -> Account:
    """A new user with these managed policies, made by the administrator's forms."""
    user = Account(f"{prefix}-{uuid.uuid4().hex[:6]}", PASSWORD)
    with forms_of(browser, server, admin) as forms:
        forms.post("/admin/users", ("name", user.name), ("password", user.password))
        for policy in policies:
            forms.post(f"/admin/users/{user.name}/policies", ("policy", policy))
    return user


def _access_key(browser: Browser, server: Server, state: Path) -> dict[str, str]:
    """An access key made on the user's own credentials page, read off the answer."""
    with forms_of(browser, server, state) as forms:
        page = forms.post("/settings/credentials/keys").text()
    ident = re.search(r"<dt>Access key id</dt><dd><code>([^<]+)</code>", page)
    secret = re.search(r'<code id="new-secret">([^<]+)</code>', page)
    assert ident and secret, "no new access key on the credentials page"
    return {"AccessKeyId": ident.group(1), "SecretAccessKey": secret.group(1)}


def _template(*destinations: str) -> str:
    return json.dumps(
        {
            "Version": "2018-11-08",
            "DestinationReferences": list(destinations),
            "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 2}],
        }
    )


@pytest.fixture(scope="session")
def hook_receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def settings_world(
    server: Server,
    browser: Browser,
    users: Users,
    signed_in_state: Callable[[Account], Path],
    hook_receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> SettingsWorld:
    tag = uuid.uuid4().hex[:6]
    name, spare = f"settings-{tag}", f"release-review-{tag}"
    # Long enough to wrap beside its button on a phone, as real names do.
    template = f"two-approvals-before-main-moves-{tag}"
    admin = signed_in_state(users.admin)
    owner = _new_user(browser, server, admin, "owner", "GitServerPowerUser")
    with forms_of(browser, server, signed_in_state(owner)) as own:
        own.post("/settings/ssh-keys", ("key", SshKey.generate(f"{owner.name}@laptop").line))
        own.post("/settings/credentials/git")
    # Repositories and approval rule templates are the API's: a key for someone who may
    # make them, and make themselves a key.
    full = ("GitServerFullAccess", "GitServerIAMFullAccess")
    api_user = _new_user(browser, server, admin, "settings-api", *full)
    api = codecommit(server, _access_key(browser, server, signed_in_state(api_user)))
    api.create_repository(repositoryName=name, repositoryDescription="Every setting")
    api.create_approval_rule_template(
        approvalRuleTemplateName=template,
        approvalRuleTemplateContent=_template("refs/heads/main"),
        approvalRuleTemplateDescription="Two approvals before main moves",
    )
    api.create_approval_rule_template(
        approvalRuleTemplateName=spare, approvalRuleTemplateContent=_template()
    )
    api.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=template, repositoryName=name
    )
    settings = f"/repositories/{name}/settings"
    with forms_of(browser, server, signed_in_state(owner)) as own:
        listing = own.post(
            f"{settings}/webhooks",
            *(("url", hook_receiver.url), ("format", "native"), ("events", "push")),
        ).text()
        own.post(
            f"{settings}/notifications",
            *(("name", "Team mail"), ("detail", "BASIC"), ("emails", "team@example.com")),
            ("events", "codecommit-repository-pull-request-created"),
        )
    hook = re.search(r"/settings/webhooks/([0-9a-f-]{36})\"", listing)
    assert hook, "the new webhook is not listed"
    work = tmp_path_factory.mktemp("settings-world")
    git = Git(work / "home")
    tree = git.init(work / "tree")
    git.commit(tree, "README.md", "# Settings\n")
    git("push", "-q", server.url(name), "main", "main:develop", cwd=tree)
    hook_receiver.wait_for(2)  # the ping and the push
    return SettingsWorld(owner, name, hook.group(1), template, spare)


# (screenshot name, path); {settings} is the world's repository's settings page.
SETTINGS_PAGES = [
    ("settings-ssh-keys", "/settings/ssh-keys"),
    ("settings-credentials", "/settings/credentials"),
    ("settings-password", "/settings/password"),
    ("settings-repo-settings", "{settings}"),
    ("settings-webhooks", "{settings}/webhooks"),
    # Its edit form and a delivery's log opened: the page with everything shown.
    ("settings-webhook", "{settings}/webhooks/{hook}"),
    ("settings-notifications", "{settings}/notifications"),
    ("settings-approval-templates", "{settings}/approval-templates"),
]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_settings_pages_are_accessible_and_fit(
    color_scheme: ColorScheme, new_page: PageFactory, settings_world: SettingsWorld
) -> None:
    page = new_page(settings_world.owner, color_scheme=color_scheme)

    def prepare(name: str) -> None:
        if name != "settings-webhook":
            return
        # The receiver has the ping and the push; the log has them once each is recorded.
        delivered = page.locator("details.delivery summary").filter(has_text="succeeded")
        _reload_until(page, lambda: delivered.count() >= 2)
        page.get_by_text("Edit webhook").click()
        expect(page.get_by_label("Payload URL")).to_be_visible()
        delivered.first.click()
        expect(page.locator("details.delivery[open] h4").first).to_contain_text("Attempt 1")

    fields = {"settings": settings_world.settings, "hook": settings_world.webhook}
    pages = [(name, path.format(**fields)) for name, path in SETTINGS_PAGES]
    survey(page, color_scheme, pages, prepare)


def _reload_until(page: Page, done: Callable[[], bool], timeout_ms: float = 15_000) -> None:
    """Reload, as a person would, until the page shows what `done` looks for."""
    waited = 0.0
    while not done():
        assert waited < timeout_ms, f"{page.url} never got there"
        page.wait_for_timeout(250)
        waited += 250
        page.reload()


@pytest.fixture
def person(
    browser: Browser, server: Server, users: Users, signed_in_state: Callable[[Account], Path]
) -> Account:
    """A user of their own: the test changes their password and keys."""
    return _new_user(browser, server, signed_in_state(users.admin), "person", "GitServerPowerUser")


def _submit(page: Page, control: Locator) -> None:
    with page.expect_navigation():
        control.click()


def _button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def test_a_user_manages_their_keys_credentials_and_password(
    new_page: PageFactory, person: Account
) -> None:
    page = new_page(person)
    page.goto("/")
    _submit(
        page, page.get_by_role("navigation", name="Account").get_by_role("link", name="Settings")
    )
    expect(page.get_by_role("heading", level=2, name="SSH keys")).to_be_visible()
    expect(page.get_by_text("You have no SSH keys.")).to_be_visible()

    # An SSH key: the list shows its fingerprint, as `ssh-keygen -l` prints it.
    key = SshKey.generate(f"{person.name}@laptop")
    page.get_by_label("Public key").fill(key.line)
    _submit(page, _button(page, "Add key"))
    row = page.get_by_role("row").filter(has_text=key.fingerprint)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(f"{person.name}@laptop")
    # A key that is not one: refused, with the text kept for correcting.
    page.get_by_label("Public key").fill("ssh-ed25519 not-a-key")
    _submit(page, _button(page, "Add key"))
    expect(page.get_by_role("alert")).to_contain_text("The key was not added")
    expect(page.get_by_label("Public key")).to_have_value("ssh-ed25519 not-a-key")
    expect(page.locator("table.entries tbody tr")).to_have_count(1)

    # An HTTPS Git credential: the password is shown once, on the answer to the form.
    tabs = page.get_by_role("navigation", name="Settings")
    _submit(page, tabs.get_by_role("link", name="Credentials"))
    expect(page.get_by_text("You have no HTTPS Git credentials.")).to_be_visible()
    _submit(page, _button(page, "Generate a Git credential"))
    shown = page.get_by_role("status")
    expect(shown.get_by_role("heading", name="New HTTPS Git credential")).to_be_visible()
    expect(shown).to_contain_text("shown only on this page, never again")
    secret = page.locator("#new-secret").inner_text()
    assert len(secret) >= 20, secret
    assert_accessible(page, "the credentials page with a new secret")
    git_rows = page.locator("table.entries").first.locator("tbody tr")
    expect(git_rows).to_have_count(1)
    expect(git_rows).to_contain_text("Active")
    expect(git_rows).to_contain_text(person.name)
    # Never again: the page reloaded has the credential and not its password.
    _submit(page, tabs.get_by_role("link", name="Credentials"))
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(secret)
    deactivate = git_rows.get_by_role("button", name="Deactivate Git credential", exact=False)
    # On a phone too: the narrow layout drops dates and ids, never the status or a button.
    page.set_viewport_size(PHONE)
    expect(git_rows).to_contain_text("Active")
    expect(deactivate).to_be_visible()
    _submit(page, deactivate)
    page.set_viewport_size(LAPTOP)
    expect(git_rows).to_contain_text("Inactive")
    expect(
        git_rows.get_by_role("button", name="Activate Git credential", exact=False)
    ).to_be_visible()

    # The password: a wrong current one is refused and changes nothing...
    _submit(page, tabs.get_by_role("link", name="Password"))
    new = PASSWORD + " again"
    page.get_by_label("Current password").fill("not the password at all")
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Repeat the new password").fill(new)
    _submit(page, _button(page, "Change password"))
    expect(page.get_by_role("alert")).to_have_text("The current password is not correct.")
    expect(page.get_by_role("status")).to_have_count(0)
    # ...the right one changes it.
    page.get_by_label("Current password").fill(person.password)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Repeat the new password").fill(new)
    _submit(page, _button(page, "Change password"))
    expect(page.get_by_role("status")).to_contain_text("Your password is changed.")
    # The new password signs in; the old one no longer does.
    other = new_page(None)
    sign_in(other, person)
    expect(other.get_by_role("alert")).to_be_visible()
    sign_in(other, Account(person.name, new))
    expect(other.get_by_role("navigation", name="Account")).to_contain_text(person.name)


def test_a_repository_owner_changes_its_settings(
    new_page: PageFactory, settings_world: SettingsWorld
) -> None:
    page = new_page(settings_world.owner)
    world = settings_world
    page.goto(f"/repositories/{world.repository}")
    repo_tabs = page.get_by_role("navigation", name="Repository")
    _submit(page, repo_tabs.get_by_role("link", name="Settings"))

    # The description, then the default branch.
    description = f"Edited in the browser {uuid.uuid4().hex[:4]}"
    page.get_by_label("Description").fill(description)
    _submit(page, _button(page, "Save description"))
    expect(page.get_by_label("Description")).to_have_value(description)
    page.get_by_label("Default branch").select_option("develop")
    _submit(page, _button(page, "Change default branch"))
    expect(page.get_by_label("Default branch")).to_have_value("develop")
    page.goto(f"/repositories/{world.repository}")
    expect(page.locator("main")).to_contain_text(description)
    expect(page.locator("main")).to_contain_text("develop")

    # A notification rule.
    page.goto(world.settings)
    sub = page.get_by_role("navigation", name="Repository settings")
    _submit(page, sub.get_by_role("link", name="Notifications"))
    page.get_by_label("Name").fill("Merges to chat")
    page.get_by_label("Pull request merged").check()
    page.get_by_label("Pull request created").check()
    page.get_by_label("Email addresses").fill("dev@example.com, lead@example.com")
    _submit(page, _button(page, "Add rule"))
    card = page.locator("li.card").filter(has=page.get_by_role("heading", name="Merges to chat"))
    expect(card).to_contain_text("Pull request created, Pull request merged")
    expect(card).to_contain_text("lead@example.com")
    # No event chosen: refused, with what was typed kept.
    page.get_by_label("Name").fill("Nothing")
    _submit(page, _button(page, "Add rule"))
    expect(page.get_by_role("alert")).to_contain_text("The rule was not created")
    expect(page.get_by_label("Name")).to_have_value("Nothing")

    # An approval rule template: offered, associated, then shown with its rule in words.
    _submit(page, sub.get_by_role("link", name="Approval rule templates"))
    page.get_by_label("Template", exact=True).select_option(world.spare_template)
    _submit(page, _button(page, "Associate"))
    spare = page.locator("li.card").filter(
        has=page.get_by_role("heading", name=world.spare_template)
    )
    expect(spare).to_contain_text("pull requests into every branch")
    expect(spare).to_contain_text("2 approvals from anyone")
    expect(
        page.get_by_role("button", name=f"Disassociate template {world.spare_template}")
    ).to_be_visible()


def test_a_reader_sees_the_repository_settings_without_controls(
    new_page: PageFactory, users: Users, settings_world: SettingsWorld
) -> None:
    page = new_page(users.reader)
    world = settings_world
    page.goto(f"/repositories/{world.repository}")
    tabs = page.get_by_role("navigation", name="Repository")
    expect(tabs.get_by_role("link", name="Pull requests")).to_be_visible()
    expect(tabs.get_by_role("link", name="Settings")).to_have_count(0)
    for tail in (
        "",
        "/webhooks",
        f"/webhooks/{world.webhook}",
        "/notifications",
        "/approval-templates",
    ):
        response = page.goto(world.settings + tail)
        assert response is not None and response.status == 200, (tail, response and response.status)
        main = page.locator("main")
        expect(main.locator("form[method=post]")).to_have_count(0)
        expect(main.get_by_role("button")).to_have_count(0)
        expect(main.locator("textarea, select, input:not([type=hidden])")).to_have_count(0)
    page.goto(world.settings)
    # A forged form is refused, not obeyed: the description stays.
    csrf = page.locator("header form input[name=csrf]").get_attribute("value")
    answer = page.request.post(
        world.settings + "/description", form={"csrf": csrf or "", "description": "forged"}
    )
    assert answer.status in (403, 404), answer.status
    page.reload()
    expect(page.locator("main")).not_to_contain_text("forged")
    screenshots(page, "settings-reader", "light")


def test_an_administrator_requires_a_status_check(
    new_page: PageFactory, users: Users, settings_world: SettingsWorld
) -> None:
    page = new_page(users.admin)
    page.goto(settings_world.settings)
    required = page.get_by_role("list", name="Required status checks")
    page.get_by_label("Status context").fill("deploy-" + settings_world.repository)
    _submit(page, _button(page, "Require status"))
    expect(required).to_contain_text("deploy-" + settings_world.repository)
    # Too long: refused with the reason beside the field, nothing added.
    page.get_by_label("Status context").evaluate("e => e.removeAttribute('maxlength')")
    page.get_by_label("Status context").fill("x" * 255 + "y")
    _submit(page, _button(page, "Require status"))
    expect(page.get_by_role("alert")).to_contain_text("The check was not required")
    expect(required.get_by_role("listitem")).to_have_count(1)
    survey(page, "light", [("settings-required-checks", settings_world.settings)])
    _submit(page, _button(page, f"Stop requiring deploy-{settings_world.repository}"))
    expect(page.get_by_text("None: pull requests merge whatever")).to_be_visible()
