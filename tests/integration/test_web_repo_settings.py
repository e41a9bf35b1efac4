"""A repository's settings pages against a real server: editing a webhook, notification
rules and approval rule templates. Each change is checked through another front end
(the CLI, boto3, a delivery, a mail), and what a reader may not do is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient

from tests.api_support import client_for
from tests.receivers import Inbox, Receiver
from tests.support import Git, Server
from tests.web_support import Browser, signed_in

PASSWORD = "web-repo-settings-password-3hd"
BRANCH_EVENTS = "codecommit-repository-branches-and-tags-created"


def _reader(server: Server, prefix: str) -> Browser:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    server.cli("policy", "attach-user-policy", name, "GitServerReadOnly")
    return signed_in(server, name, PASSWORD)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def admin(server: Server) -> Browser:
    return signed_in(server, "admin", server.admin_password)


# --- Editing a webhook -----------------------------------------------------------------


def _hook(server: Server, name: str) -> dict[str, object]:
    [hook] = server.cli("webhook", "list", "--repo", name)["webhooks"]
    return dict(hook)


def _signed_with(received: object, secret: str) -> bool:
    body: bytes = received.body  # type: ignore[attr-defined]
    headers: dict[str, str] = received.headers  # type: ignore[attr-defined]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return headers.get("X-GitServer-Signature-256") == f"sha256={expected}"


def test_an_edited_webhook_changes_what_was_asked_and_keeps_its_secret(
    server: Server, repo: Callable[..., str], receiver: Receiver, admin: Browser
) -> None:
    name = repo("hookedit")
    hooks = f"/repositories/{name}/settings/webhooks"
    form = {"csrf": admin.csrf(), "url": receiver.url, "events": "push", "secret": "keep-me-42"}
    assert admin.post(hooks, form).status == 303
    receiver.wait_for(1)  # the ping
    hook_id = _hook(server, name)["webhookId"]
    page = admin.get(f"{hooks}/{hook_id}")
    assert page.status == 200 and "Edit webhook" in page.body and "keep-me-42" not in page.body
    assert 'value="push"' in page.body  # the stored types, written as the shorthand
    edit = {
        "csrf": admin.csrf(),
        "url": receiver.url + "/edited",
        "format": "github",
        "events": "pull_request",
        "branches": "main, release/*",
        "timeout": "5",
        "active_sent": "1",  # the box left unticked: inactive
        "secret": "",
    }
    changed = admin.post(f"{hooks}/{hook_id}/edit", edit)
    assert changed.status == 303 and changed.location == f"{hooks}/{hook_id}"
    hook = _hook(server, name)
    assert hook["url"] == receiver.url + "/edited" and hook["format"] == "github"
    assert hook["branches"] == ["main", "release/*"] and hook["timeout"] == 5.0
    assert hook["active"] is False and hook["hasSecret"] is True
    events = hook["events"]
    assert isinstance(events, list) and "pullRequestCreated" in events
    assert "referenceUpdated" not in events
    # Active again: a test delivery goes to the new URL, signed with the first secret.
    edit |= {"csrf": admin.csrf(), "active": "on", "format": "native", "events": "push"}
    assert admin.post(f"{hooks}/{hook_id}/edit", edit).status == 303
    assert admin.post(f"{hooks}/{hook_id}/test", {"csrf": admin.csrf()}).status == 303
    sent = receiver.wait_for(2)[1]
    assert sent.path.endswith("/edited") and _signed_with(sent, "keep-me-42")
    # A new secret replaces it; removing it leaves none.
    edit |= {"csrf": admin.csrf(), "secret": "new-one-77"}
    assert admin.post(f"{hooks}/{hook_id}/edit", edit).status == 303
    assert admin.post(f"{hooks}/{hook_id}/test", {"csrf": admin.csrf()}).status == 303
    assert _signed_with(receiver.wait_for(3)[2], "new-one-77")
    assert "new-one-77" not in admin.get(f"{hooks}/{hook_id}").body
    edit |= {"csrf": admin.csrf(), "secret": "", "remove_secret": "1"}
    assert admin.post(f"{hooks}/{hook_id}/edit", edit).status == 303
    assert _hook(server, name)["hasSecret"] is False


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        pytest.param("url", "http://169.254.169.254/latest/meta-data", "", id="metadata-ip"),
        pytest.param("url", "file:///etc/passwd", "", id="file-url"),
        pytest.param("events", "pushes", "unknown event type", id="unknown-event"),
        pytest.param("format", "xml", "format must be one of", id="format"),
        pytest.param("timeout", "600", "timeout must be between", id="timeout"),
    ],
)
def test_a_refused_edit_shows_the_reason_and_changes_nothing(
    server: Server,
    repo: Callable[..., str],
    receiver: Receiver,
    admin: Browser,
    field: str,
    value: str,
    reason: str,
) -> None:
    name = repo("hookbad")
    hooks = f"/repositories/{name}/settings/webhooks"
    form = {"csrf": admin.csrf(), "url": receiver.url, "events": "push", "secret": "s-1"}
    assert admin.post(hooks, form).status == 303
    before = _hook(server, name)
    edit = {
        "csrf": admin.csrf(),
        "url": receiver.url + "/x",
        "format": "github",
        "events": "pull_request",
        "active_sent": "1",
        "secret": "other-secret",
        field: value,
    }
    page = admin.post(f"{hooks}/{before['webhookId']}/edit", edit)
    assert page.status == 400 and 'role="alert"' in page.body and reason in page.body
    assert "other-secret" not in page.body
    assert _hook(server, name) == before


def test_a_reader_cannot_edit_a_webhook(
    server: Server, repo: Callable[..., str], receiver: Receiver, admin: Browser
) -> None:
    name = repo("hookro")
    hooks = f"/repositories/{name}/settings/webhooks"
    assert admin.post(hooks, {"csrf": admin.csrf(), "url": receiver.url}).status == 303
    before = _hook(server, name)
    path = f"{hooks}/{before['webhookId']}"
    reader = _reader(server, "hookro")
    page = reader.get(path)
    assert page.status == 200 and "Edit webhook" not in page.body and "/edit" not in page.body
    edit = {"csrf": reader.csrf(), "url": receiver.url + "/stolen", "active_sent": "1"}
    assert reader.post(f"{path}/edit", edit).status == 404
    assert admin.post(f"{path}/edit", {**edit, "csrf": "forged"}).status == 403
    # Another repository's page does not reach this hook by its id.
    other = f"/repositories/{repo('hookro2')}/settings/webhooks/{before['webhookId']}/edit"
    assert admin.post(other, {**edit, "csrf": admin.csrf()}).status == 404
    assert _hook(server, name) == before


# --- Notification rules ----------------------------------------------------------------


def _rules(server: Server, name: str) -> list[dict[str, object]]:
    return [r for r in server.cli("notification-rule", "list")["rules"] if r["repository"] == name]


def _rule_form(browser: Browser, **extra: str) -> dict[str, str]:
    return {"csrf": browser.csrf(), "name": "branches", "detail": "FULL", **extra}


def test_a_notification_rule_made_in_the_page_is_the_clis(
    server: Server, repo: Callable[..., str], receiver: Receiver, admin: Browser
) -> None:
    name = repo("rules")
    page = f"/repositories/{name}/settings/notifications"
    assert page in admin.get(f"/repositories/{name}/settings/webhooks").body  # the nav
    assert admin.get(page).status == 200
    form = _rule_form(
        admin,
        events=BRANCH_EVENTS,
        emails="team@example.com, lead@example.com",
        chat_urls=receiver.url,
    )
    created = admin.post(page, form)
    assert created.status == 303, created.body[:500]
    [rule] = _rules(server, name)
    assert rule["name"] == "branches" and rule["detailType"] == "FULL"
    assert rule["eventTypeIds"] == [BRANCH_EVENTS]
    targets = rule["targets"]
    assert isinstance(targets, list)
    assert sorted(t["address"] for t in targets) == sorted(
        ["team@example.com", "lead@example.com", receiver.url]
    )
    listed = admin.get(page).body
    assert "team@example.com" in listed and "Branches and tags created" in listed
    # Another repository's page neither lists nor deletes it.
    other = f"/repositories/{repo('rules2')}/settings/notifications"
    assert "team@example.com" not in admin.get(other).body
    assert admin.post(f"{other}/{rule['ruleId']}/delete", {"csrf": admin.csrf()}).status == 404
    assert len(_rules(server, name)) == 1
    gone = admin.post(f"{page}/{rule['ruleId']}/delete", {"csrf": admin.csrf()})
    assert gone.status == 303 and _rules(server, name) == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"emails": "a@example.com"}, "event type ids", id="no-events"),
        pytest.param({"events": BRANCH_EVENTS}, "at least one target", id="no-target"),
        pytest.param(
            {"events": BRANCH_EVENTS, "emails": "not-an-address"}, "an address", id="email"
        ),
        pytest.param(
            {"events": BRANCH_EVENTS, "chat_urls": "http://169.254.169.254/hook"},
            "chat target",
            id="ssrf",
        ),
        pytest.param(
            {"events": BRANCH_EVENTS, "emails": "a@example.com", "name": " "},
            "name must be",
            id="blank-name",
        ),
    ],
)
def test_a_refused_rule_shows_the_reason_and_stores_nothing(
    server: Server, repo: Callable[..., str], admin: Browser, fields: dict[str, str], reason: str
) -> None:
    name = repo("rulebad")
    page = admin.post(f"/repositories/{name}/settings/notifications", _rule_form(admin, **fields))
    assert page.status == 400 and 'role="alert"' in page.body and reason in page.body
    assert _rules(server, name) == []


def test_a_reader_sees_rules_but_no_controls(
    server: Server, repo: Callable[..., str], admin: Browser
) -> None:
    name = repo("rulero")
    page = f"/repositories/{name}/settings/notifications"
    form = _rule_form(admin, events=BRANCH_EVENTS, emails="team@example.com")
    assert admin.post(page, form).status == 303
    [rule] = _rules(server, name)
    reader = _reader(server, "rulero")
    shown = reader.get(page)
    assert shown.status == 200 and "team@example.com" in shown.body
    assert "Add rule" not in shown.body and "/delete" not in shown.body
    token = reader.csrf()
    assert reader.post(page, {**form, "csrf": token}).status == 404
    assert reader.post(f"{page}/{rule['ruleId']}/delete", {"csrf": token}).status == 404
    assert admin.post(f"{page}/{rule['ruleId']}/delete", {"csrf": "forged"}).status == 403
    assert len(_rules(server, name)) == 1


def test_a_rule_made_in_the_page_mails_on_a_push(
    make_server: Callable[..., Server], git: Git, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    private = make_server(
        "--no-ssh", "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-from", "g@x.io"
    )
    private.cli("repo", "create", "mailed")
    admin = signed_in(private, "admin", private.admin_password)
    form = _rule_form(admin, events=BRANCH_EVENTS, emails="team@example.com")
    assert admin.post("/repositories/mailed/settings/notifications", form).status == 303
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    git("push", "-q", private.url("mailed"), "main", cwd=work)
    mail = inbox.wait_for(1)[0]
    assert mail["To"] == "team@example.com"
    assert "admin created branch main in mailed" in mail["Subject"]


# --- Approval rule templates -----------------------------------------------------------


@pytest.fixture(scope="module")
def cc(server: Server) -> BaseClient:
    return client_for(server, "webtpl-admin", admin=True)


def _template(cc: BaseClient, *destinations: str, pool: tuple[str, ...] = ()) -> str:
    name = f"tpl-{uuid.uuid4().hex[:8]}"
    statement: dict[str, object] = {"Type": "Approvers", "NumberOfApprovalsNeeded": 2}
    if pool:
        statement["ApprovalPoolMembers"] = list(pool)
    content: dict[str, object] = {"Version": "2018-11-08", "Statements": [statement]}
    if destinations:
        content["DestinationReferences"] = list(destinations)
    cc.create_approval_rule_template(
        approvalRuleTemplateName=name,
        approvalRuleTemplateContent=json.dumps(content),
        approvalRuleTemplateDescription="two <b>reviewers</b>",
    )
    return name


def _associated(cc: BaseClient, name: str) -> list[str]:
    found = cc.list_associated_approval_rule_templates_for_repository(repositoryName=name)
    return list(found["approvalRuleTemplateNames"])


def test_a_template_associated_in_the_page_applies_to_a_new_pull_request(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    admin: Browser,
    cc: BaseClient,
) -> None:
    name = repo("tplweb")
    member = "arn:aws:iam::000000000000:user/alice"
    template = _template(cc, "refs/heads/main", pool=(member,))
    page = f"/repositories/{name}/settings/approval-templates"
    shown = admin.get(page)
    assert shown.status == 200 and f'<option value="{template}">' in shown.body
    done = admin.post(page, {"csrf": admin.csrf(), "template": template})
    assert done.status == 303 and done.location == page
    assert _associated(cc, name) == [template]
    body = admin.get(page).body
    assert "2 approvals" in body and member in body and "refs/heads/main" in body
    assert "two &lt;b&gt;reviewers&lt;/b&gt;" in body
    assert f'<option value="{template}">' not in body  # already associated
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "a\n")
    git("push", "-q", server.url(name), "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "b.txt", "b\n")
    git("push", "-q", server.url(name), "feature", cwd=work)
    target = {"repositoryName": name, "sourceReference": "feature", "destinationReference": "main"}
    pr = cc.create_pull_request(title="t", targets=[target])["pullRequest"]
    [rule] = pr["approvalRules"]
    assert rule["originApprovalRuleTemplate"]["approvalRuleTemplateName"] == template
    gone = admin.post(f"{page}/disassociate", {"csrf": admin.csrf(), "template": template})
    assert gone.status == 303 and _associated(cc, name) == []


def test_an_unknown_template_is_refused_with_the_reason(
    server: Server, repo: Callable[..., str], admin: Browser, cc: BaseClient
) -> None:
    name = repo("tplbad")
    page = f"/repositories/{name}/settings/approval-templates"
    refused = admin.post(page, {"csrf": admin.csrf(), "template": "no-such-template"})
    assert refused.status == 400 and "No approval rule template named" in refused.body
    assert _associated(cc, name) == []


def test_a_reader_sees_templates_but_cannot_associate(
    server: Server, repo: Callable[..., str], admin: Browser, cc: BaseClient
) -> None:
    name = repo("tplro")
    kept, other = _template(cc), _template(cc)
    cc.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=kept, repositoryName=name
    )
    page = f"/repositories/{name}/settings/approval-templates"
    reader = _reader(server, "tplro")
    shown = reader.get(page)
    assert shown.status == 200 and kept in shown.body and "from anyone" in shown.body
    assert "Associate" not in shown.body and "Disassociate" not in shown.body
    token = reader.csrf()
    assert reader.post(page, {"csrf": token, "template": other}).status == 404
    assert reader.post(f"{page}/disassociate", {"csrf": token, "template": kept}).status == 404
    assert admin.post(page, {"csrf": "forged", "template": other}).status == 403
    assert _associated(cc, name) == [kept]


# --- Required status checks ------------------------------------------------------------


def test_required_status_checks_set_in_the_page_are_the_clis(
    server: Server, repo: Callable[..., str], admin: Browser
) -> None:
    name = repo("required")
    page = f"/repositories/{name}/settings"
    form = f"{page}/required-checks"

    def required() -> list[str]:
        return list(server.cli("repo", "require-status", name)["requiredContexts"])

    assert "None: pull requests merge whatever" in admin.get(page).body
    added = admin.post(form, {"csrf": admin.csrf(), "context": " ci/build "})
    assert added.status == 303 and required() == ["ci/build"]
    admin.post(form, {"csrf": admin.csrf(), "context": "deploy"})
    assert required() == ["ci/build", "deploy"]
    refused = admin.post(form, {"csrf": admin.csrf(), "context": "x" * 300})
    assert refused.status == 400 and "The check was not required" in refused.body
    assert 'aria-invalid="true"' in refused.body and required() == ["ci/build", "deploy"]
    listed = admin.get(page).body
    assert "<code>ci/build</code>" in listed and 'aria-label="Stop requiring deploy"' in listed

    reader = _reader(server, "requiredro")
    shown = reader.get(page)
    assert shown.status == 200 and "<code>deploy</code>" in shown.body
    assert "Require status" not in shown.body and "Stop requiring" not in shown.body
    token = reader.csrf()
    assert reader.post(form, {"csrf": token, "context": "mine"}).status == 404
    assert reader.post(f"{form}/remove", {"csrf": token, "context": "deploy"}).status == 404
    assert admin.post(form, {"csrf": "forged", "context": "mine"}).status == 403
    assert required() == ["ci/build", "deploy"]

    gone = admin.post(f"{form}/remove", {"csrf": admin.csrf(), "context": "ci/build"})
    assert gone.status == 303 and required() == ["deploy"]
