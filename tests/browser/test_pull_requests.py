"""A pull request's whole life in the browser (issue 12, items 5 and 8): open it from the
form, comment on a line and reply, approve as a second user, see the rule satisfied,
squash-merge from the merge box, and boto3 sees it merged; a reader gets no controls
and a forged POST changes nothing; a push that lands while the page is open is never
merged unseen; and axe on the pull-request pages."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.client import BaseClient
from playwright.sync_api import Browser, Locator, Page, expect

from tests.api_support import client_for
from tests.browser.support import (
    PASSWORD,
    Account,
    ColorScheme,
    PageFactory,
    Users,
    assert_accessible,
)
from tests.support import Git, Server

APP_BEFORE = "def app():\n    return 1\n\nprint(app())\n"
APP_AFTER = "def app():\n    return 2\n\nprint(app())\n"


@dataclass(frozen=True, slots=True)
class Team:
    """Two people who may review and merge (GitServerPowerUser): an author and a reviewer."""

    author: Account
    reviewer: Account


@dataclass(frozen=True, slots=True)
class Branches:
    """A repository with `main` and a `feature` branch one change ahead, and its clone."""

    name: str
    work: Path
    git: Git

    @property
    def pulls(self) -> str:
        return f"/repositories/{self.name}/pull-requests"

    def push_to_feature(self, server: Server, path: str, content: str) -> str:
        head = self.git.commit(self.work, path, content, f"add {path}")
        self.git("push", "-q", server.url(self.name), "feature", cwd=self.work)
        return head


def _account(server: Server, prefix: str) -> Account:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    server.cli("policy", "attach-user-policy", name, "GitServerPowerUser")
    return Account(name, PASSWORD)


@pytest.fixture(scope="session")
def team(server: Server) -> Team:
    return Team(author=_account(server, "author"), reviewer=_account(server, "reviewer"))


@pytest.fixture(scope="session")
def moderator(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Account:
    """A power user who may also DeleteCommentContent (CodeCommit's power user may not)."""
    account = _account(server, "moderator")
    statement = {"Effect": "Allow", "Action": "codecommit:DeleteCommentContent", "Resource": "*"}
    document = tmp_path_factory.mktemp("moderator") / "policy.json"
    document.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    server.cli("policy", "put-user-policy", account.name, "Moderate", "--document", str(document))
    return account


@pytest.fixture(scope="session")
def api(server: Server) -> BaseClient:
    """An administrator's boto3 client: what a CodeCommit tool sees of the same server."""
    return client_for(server, "browser-pulls-api", admin=True)


@pytest.fixture
def branches(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Branches]:
    def make(prefix: str) -> Branches:
        root = tmp_path_factory.mktemp(prefix)
        git = Git(root / "home")
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        server.cli("repo", "create", name)
        work = git.init(root / "work")
        git.commit(work, "app.py", APP_BEFORE, "first")
        git("push", "-q", server.url(name), "main", cwd=work)
        git("checkout", "-q", "-b", "feature", cwd=work)
        git.commit(work, "app.py", APP_AFTER, "return two")
        git.commit(work, "notes.md", "# Notes\n\nWhy two.\n", "add notes")
        git("push", "-q", server.url(name), "feature", cwd=work)
        return Branches(name, work, git)

    return make


def _one_approval_template(api: BaseClient, repository: str) -> str:
    """An approval rule template needing one approval on main, associated with the
    repository: every pull request into main gets the rule, and the form previews it."""
    name = f"one-reviewer-{uuid.uuid4().hex[:6]}"
    content = {
        "Version": "2018-11-08",
        "DestinationReferences": ["refs/heads/main"],
        "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}],
    }
    api.create_approval_rule_template(
        approvalRuleTemplateName=name, approvalRuleTemplateContent=json.dumps(content)
    )
    api.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=name, repositoryName=repository
    )
    return name


def _pull_number(page: Page) -> str:
    found = re.search(r"/pull-requests/(\d+)$", urlsplit(page.url).path)
    assert found, page.url
    return found.group(1)


def _submit(page: Page, button: Locator) -> None:
    """Press a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()


def _open_from_the_form(page: Page, repo: Branches, title: str, description: str) -> str:
    """Open a pull request as a person does: list, "New pull request", pick, create."""
    page.goto(repo.pulls)
    _submit(page, page.get_by_role("link", name="New pull request"))
    page.get_by_label("Into").select_option("main")
    page.get_by_label("from", exact=True).select_option("feature")
    _submit(page, page.get_by_role("button", name="Compare"))
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description (Markdown)").fill(description)
    _submit(page, page.get_by_role("button", name="Create pull request"))
    return _pull_number(page)


def _file(page: Page, path: str) -> Locator:
    """A changed file's box in "files changed"."""
    return page.locator("details.file-diff").filter(
        has=page.locator("summary > .mono", has_text=re.compile(f"^{re.escape(path)}$"))
    )


def _merged(api: BaseClient, number: str) -> dict[str, object]:
    target = api.get_pull_request(pullRequestId=number)["pullRequest"]["pullRequestTargets"][0]
    return dict(target["mergeMetadata"])


def test_open_comment_approve_and_squash_merge(
    new_page: PageFactory,
    team: Team,
    branches: Callable[[str], Branches],
    api: BaseClient,
    snap: Callable[[Page, str], None],
) -> None:
    repo = branches("flow")
    template = _one_approval_template(api, repo.name)
    author = new_page(team.author)

    # The form: pick the branches, then the diff and the rules that will apply show.
    author.goto(repo.pulls + "/new")
    author.get_by_label("Into").select_option("main")
    author.get_by_label("from", exact=True).select_option("feature")
    _submit(author, author.get_by_role("button", name="Compare"))
    preview = author.get_by_role("region", name="Changed files")
    expect(preview).to_contain_text("2 changed files")
    expect(_file(author, "app.py")).to_contain_text("return 2")
    expect(_file(author, "notes.md")).to_contain_text("Why two.")
    rules = author.get_by_role("region", name="Approval rules that will apply")
    expect(rules).to_contain_text(f"{template} — needs 1 approval")
    snap(author, "new")
    author.get_by_label("Title").fill("Make the app return two")
    author.get_by_label("Description (Markdown)").fill("Returns **two** now.\n\n- see notes.md")
    _submit(author, author.get_by_role("button", name="Create pull request"))
    number = _pull_number(author)

    expect(author.get_by_role("heading", name=f"Make the app return two #{number}")).to_be_visible()
    description = author.get_by_role("region", name="Description")
    expect(description.locator("strong")).to_have_text("two")  # Markdown, rendered
    expect(description.locator("li")).to_have_text("see notes.md")
    approvals = author.get_by_role("region", name="Approvals")
    expect(approvals).to_contain_text(f"{template}: not satisfied")
    expect(approvals).to_contain_text("You opened this pull request: others approve it.")
    merge_box = author.get_by_role("region", name="Merge")
    expect(merge_box).to_contain_text(f"The approval rule “{template}” is not satisfied.")
    expect(merge_box.get_by_role("button", name=re.compile("^Merge"))).to_have_count(0)

    # A comment on the added line 2 of app.py: its "+" opens a form under it; then a reply.
    app = _file(author, "app.py")
    app.get_by_role("link", name="Comment on line 2", exact=True).click()
    box = app.get_by_label("Comment on app.py line 2", exact=True)
    expect(box).to_be_focused()
    form = box.locator("xpath=ancestor::form[1]")
    # The form is in the row right under the line it is about.
    under = form.locator("xpath=ancestor::tr[1]/preceding-sibling::tr[1]")
    expect(under).to_contain_text("return 2")
    box.fill("Why *two*?")
    _submit(author, form.get_by_role("button", name="Comment"))
    thread = _file(author, "app.py").locator("tr.inline .thread").filter(has_text="Why two?")
    expect(thread.locator("em")).to_have_text("two")
    # The thread sits under the line it is about: the row before it is the added line 2.
    line = thread.locator("xpath=ancestor::tr[1]/preceding-sibling::tr[1]")
    expect(line).to_have_class(re.compile(r"\badd\b"))
    expect(line).to_contain_text("return 2")
    thread.locator("details.reply > summary").click()
    thread.locator("details.reply textarea").fill("Because two is the answer.")
    _submit(author, thread.locator("details.reply").get_by_role("button", name="Reply"))
    thread = _file(author, "app.py").locator("tr.inline .thread").filter(has_text="Why two?")
    expect(thread.locator("article.comment")).to_have_count(2)
    expect(thread.locator("article.comment").nth(1)).to_contain_text("Because two is the answer.")
    snap(author, "commented")

    # The reviewer approves; the rule is satisfied and the merge box has no blocker left.
    reviewer = new_page(team.reviewer)
    reviewer.goto(author.url)
    expect(reviewer.get_by_role("region", name="Approvals")).to_contain_text("not satisfied")
    _submit(reviewer, reviewer.get_by_role("button", name="Approve", exact=True))
    approvals = reviewer.get_by_role("region", name="Approvals")
    expect(approvals).to_contain_text(f"✓ {template}: satisfied")
    expect(approvals).to_contain_text(f"Approved by {team.reviewer.name}.")
    expect(approvals.get_by_role("button", name="Revoke approval")).to_be_visible()
    expect(reviewer.get_by_role("region", name="Activity")).to_contain_text(
        f"{team.reviewer.name} approved this revision"
    )
    snap(reviewer, "approved")

    # The author comes back, sees it satisfied and squash-merges from the merge box.
    author.reload()
    expect(author.get_by_role("region", name="Approvals")).to_contain_text(f"{template}: satisfied")
    merge_box = author.get_by_role("region", name="Merge")
    expect(merge_box).to_contain_text("This pull request can be merged.")
    merge_box.get_by_label("Squash").check()
    _submit(author, merge_box.get_by_role("button", name=re.compile("^Merge [0-9a-f]{7,}")))
    expect(author.locator(".pull-head .badge")).to_have_text("Merged")
    expect(author.locator(".pull-head")).to_contain_text(f"Merged by {team.author.name} as")
    expect(author.get_by_role("region", name="Activity")).to_contain_text(
        f"{team.author.name} merged this pull request (Squash)"
    )
    expect(author.get_by_role("region", name="Merge")).to_have_count(0)
    expect(author.get_by_role("button", name="Close pull request")).to_have_count(0)
    snap(author, "merged")

    # A CodeCommit client agrees.
    merged = _merged(api, number)
    assert merged["isMerged"] is True and merged["mergeOption"] == "SQUASH_MERGE", merged
    # And the list has it under "closed", marked merged.
    author.goto(repo.pulls + "?status=closed")
    entry = author.locator(".pull-list li").filter(has_text="Make the app return two")
    expect(entry.locator(".badge")).to_have_text("Merged")


def test_a_reader_gets_no_controls_and_a_forged_post_changes_nothing(
    new_page: PageFactory,
    users: Users,
    team: Team,
    branches: Callable[[str], Branches],
    api: BaseClient,
) -> None:
    repo = branches("readonly")
    number = _open_from_the_form(new_page(team.author), repo, "Reader check", "For a reader.")
    url = f"{repo.pulls}/{number}"

    reader = new_page(users.reader)
    response = reader.goto(url)
    assert response is not None and response.status == 200, reader.url
    expect(reader.get_by_role("heading", name=f"Reader check #{number}")).to_be_visible()
    expect(_file(reader, "app.py")).to_contain_text("return 2")  # reading is allowed
    for control in ("Approve", "Override the approval rules", "Close pull request", "Comment"):
        expect(reader.get_by_role("button", name=control, exact=True)).to_have_count(0)
    expect(reader.get_by_role("button", name=re.compile("^Merge"))).to_have_count(0)
    expect(reader.locator("form[action$='/merge'], form[action$='/approval']")).to_have_count(0)
    expect(reader.locator("a.add-line, textarea, template")).to_have_count(0)
    expect(reader.get_by_role("link", name="New pull request")).to_have_count(0)

    # Forged: the reader's own session and CSRF token (from the sign-out form), and
    # none at all; each action is refused and nothing changes.
    token = reader.locator("form[action='/sign-out'] input[name=csrf]").input_value()
    source = api.get_pull_request(pullRequestId=number)["pullRequest"]["pullRequestTargets"][0][
        "sourceCommit"
    ]
    revision = api.get_pull_request(pullRequestId=number)["pullRequest"]["revisionId"]
    forged = {
        "/merge": {"strategy": "SQUASH_MERGE", "source_commit": source},
        "/approval": {"revision": revision, "state": "APPROVE"},
        "/status": {"status": "CLOSED"},
        "/comments": {"content": "forged", "before": source, "after": source},
    }
    for tail, form in forged.items():
        for csrf in (token, None):
            fields = {**form, **({"csrf": csrf} if csrf else {})}
            refused = reader.request.post(url + tail, form=fields, max_redirects=0)
            assert refused.status == 403, (tail, bool(csrf), refused.status, refused.text()[:300])
    pull = api.get_pull_request(pullRequestId=number)["pullRequest"]
    assert pull["pullRequestStatus"] == "OPEN"
    assert pull["pullRequestTargets"][0]["mergeMetadata"]["isMerged"] is False
    assert not api.get_pull_request_approval_states(pullRequestId=number, revisionId=revision)[
        "approvals"
    ]
    assert not api.get_comments_for_pull_request(pullRequestId=number)["commentsForPullRequestData"]
    reader.reload()
    expect(reader.locator(".pull-head .badge")).to_have_text("Open")


def test_a_push_while_the_page_is_open_is_not_merged_unseen(
    new_page: PageFactory,
    server: Server,
    team: Team,
    branches: Callable[[str], Branches],
    api: BaseClient,
    snap: Callable[[Page, str], None],
) -> None:
    repo = branches("moved")
    page = new_page(team.author)
    number = _open_from_the_form(page, repo, "Merge me", "")
    merge_box = page.get_by_role("region", name="Merge")
    expect(merge_box).to_contain_text("This pull request can be merged.")
    seen = api.get_pull_request(pullRequestId=number)["pullRequest"]["pullRequestTargets"][0][
        "sourceCommit"
    ]

    # Someone pushes to the source branch while the page is open; then "Merge".
    late = repo.push_to_feature(server, "late.txt", "pushed while you were reading\n")
    merge_box.get_by_label("Squash").check()
    _submit(page, merge_box.get_by_role("button", name=re.compile(f"^Merge {seen[:7]}")))

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The source branch has moved")
    # The page again, now with the commit nobody reviewed here, offered for a new look.
    expect(_file(page, "late.txt")).to_be_visible()
    expect(page.get_by_role("region", name="Merge").get_by_role("button")).to_have_text(
        re.compile(f"^Merge {late[:7]}")
    )
    expect(page.locator(".pull-head .badge")).to_have_text("Open")
    snap(page, "refused")
    merged = _merged(api, number)
    assert merged["isMerged"] is False, merged


def test_closing_from_the_page(
    new_page: PageFactory, team: Team, branches: Callable[[str], Branches], api: BaseClient
) -> None:
    repo = branches("closing")
    page = new_page(team.author)
    number = _open_from_the_form(page, repo, "Not this one", "")
    _submit(page, page.get_by_role("button", name="Close pull request"))
    expect(page.locator(".pull-head .badge")).to_have_text("Closed")
    expect(page.get_by_role("region", name="Merge")).to_contain_text("The pull request is closed.")
    expect(page.get_by_role("button", name=re.compile("^Merge"))).to_have_count(0)
    expect(page.get_by_role("region", name="Activity")).to_contain_text(
        f"{team.author.name} closed this pull request"
    )
    assert (
        api.get_pull_request(pullRequestId=number)["pullRequest"]["pullRequestStatus"] == "CLOSED"
    )
    # Listed under "Closed", marked closed (not open, not merged).
    page.goto(repo.pulls)
    expect(page.locator(".pull-list")).to_have_count(0)
    page.get_by_label("Status").select_option("closed")
    _submit(page, page.get_by_role("button", name="Filter"))
    entry = page.locator(".pull-list li").filter(has_text="Not this one")
    expect(entry.locator(".badge")).to_have_text("Closed")


def test_a_line_comment_without_javascript(
    browser: Browser,
    server: Server,
    signed_in_state: Callable[[Account], Path],
    team: Team,
    branches: Callable[[str], Branches],
    api: BaseClient,
    snap: Callable[[Page, str], None],
) -> None:
    """Reading and reviewing work without script: a line's "+" is a link to the page with
    that line's form open, here on the deleted side."""
    repo = branches("nojs")
    page = _plain_page(browser, server, signed_in_state(team.author))
    try:
        number = _open_from_the_form(page, repo, "No script", "")
        app = _file(page, "app.py")
        _submit(page, app.get_by_role("link", name="Comment on line 2 (before)", exact=True))
        box = page.get_by_label("Comment on app.py line 2 (before)", exact=True)
        expect(box).to_be_visible()
        expect(page.locator("tr.inline form textarea")).to_have_count(1)  # only that one
        box.fill("One was fine")
        _submit(page, box.locator("xpath=ancestor::form[1]").get_by_role("button", name="Comment"))
        thread = _file(page, "app.py").locator("tr.inline .thread")
        expect(thread).to_contain_text("One was fine")
        line = thread.locator("xpath=ancestor::tr[1]/preceding-sibling::tr[1]")
        expect(line).to_have_class(re.compile(r"\bdelete\b"))
        snap(page, "commented")
    finally:
        page.context.close()
    threads = api.get_comments_for_pull_request(pullRequestId=number)["commentsForPullRequestData"]
    assert [t["location"] for t in threads] == [
        {"filePath": "app.py", "filePosition": 2, "relativeFileVersion": "BEFORE"}
    ]


def test_react_to_a_comment_then_delete_it_keeping_its_reply(
    new_page: PageFactory,
    team: Team,
    moderator: Account,
    branches: Callable[[str], Branches],
    api: BaseClient,
    snap: Callable[[Page, str], None],
) -> None:
    repo = branches("react")
    author = new_page(moderator)
    number = _open_from_the_form(author, repo, "React and delete", "For reactions.")
    activity = author.get_by_role("region", name="Activity")
    activity.get_by_label("Add a comment").fill("Ship it **today**?")
    _submit(author, activity.get_by_role("button", name="Comment", exact=True))

    def comment(page: Page) -> Locator:
        return page.get_by_role("region", name="Activity").locator("article.comment").first

    # The author reacts from the picker; the count shows, pressed (theirs).
    comment(author).locator(".react-picker > summary").click()
    picker = comment(author).locator(".react-picker .picker")
    _submit(author, picker.get_by_role("button", name="hooray", exact=True))
    mine = comment(author).get_by_role("button", name="1 hooray", exact=True)
    expect(mine).to_have_attribute("aria-pressed", "true")
    # The reviewer adds theirs by the count's own button, then replies.
    reviewer = new_page(team.reviewer)
    reviewer.goto(author.url)
    theirs = comment(reviewer).get_by_role("button", name="1 hooray", exact=True)
    expect(theirs).to_have_attribute("aria-pressed", "false")
    _submit(reviewer, theirs)
    expect(comment(reviewer).get_by_role("button", name="2 hooray", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    thread = reviewer.get_by_role("region", name="Activity").locator(".thread").first
    thread.locator("details.reply > summary").click()
    thread.locator("details.reply textarea").fill("Yes, today.")
    _submit(reviewer, thread.locator("details.reply").get_by_role("button", name="Reply"))
    comment(reviewer).locator(".react-picker > summary").click()  # the picker, open
    snap(reviewer, "reactions")
    (found,) = api.get_comments_for_pull_request(pullRequestId=number)["commentsForPullRequestData"]
    assert found["comments"][0]["reactionCounts"] == {"hooray": 2}

    # The author deletes their comment: a second button confirms; the reply stays.
    author.reload()
    delete = comment(author).locator("details.delete-comment")
    delete.locator("summary").click()
    expect(delete).to_contain_text("Delete your comment?")
    _submit(author, delete.get_by_role("button", name="Delete comment"))
    thread = author.get_by_role("region", name="Activity").locator(".thread").first
    comments = thread.locator("article.comment")
    expect(comments).to_have_count(2)
    expect(comments.nth(0)).to_have_text(re.compile("This comment was deleted."))
    expect(comments.nth(0)).not_to_contain_text("Ship it")
    expect(comments.nth(0).locator(".reactions, details")).to_have_count(0)
    expect(comments.nth(1)).to_contain_text("Yes, today.")
    snap(author, "deleted")
    (found,) = api.get_comments_for_pull_request(pullRequestId=number)["commentsForPullRequestData"]
    assert [c["deleted"] for c in found["comments"]] == [True, False]


def _plain_page(browser: Browser, server: Server, state: Path) -> Page:
    context = browser.new_context(
        base_url=server.base_url, storage_state=state, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    return context.new_page()


# --- axe on the pull-request pages --------------------------------------------------------


@pytest.fixture(scope="session")
def reviewed(
    server: Server, tmp_path_factory: pytest.TempPathFactory, api: BaseClient
) -> Iterator[tuple[str, str]]:
    """A pull request with a rule, an inline thread with a reply and a general comment."""
    root = tmp_path_factory.mktemp("axe-pr")
    git = Git(root / "home")
    name = f"axe-pr-{uuid.uuid4().hex[:8]}"
    server.cli("repo", "create", name)
    work = git.init(root / "work")
    git.commit(work, "app.py", APP_BEFORE, "first")
    git("push", "-q", server.url(name), "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", APP_AFTER, "return two")
    git("push", "-q", server.url(name), "feature", cwd=work)
    _one_approval_template(api, name)
    pull = api.create_pull_request(
        title="Accessible review",
        description="A *pull request* for axe.",
        targets=[
            {"repositoryName": name, "sourceReference": "feature", "destinationReference": "main"}
        ],
    )["pullRequest"]
    number, target = pull["pullRequestId"], pull["pullRequestTargets"][0]
    commits = {
        "pullRequestId": number,
        "repositoryName": name,
        "beforeCommitId": target["mergeBase"],
        "afterCommitId": target["sourceCommit"],
    }
    inline = api.post_comment_for_pull_request(
        **commits,
        content="On this line",
        location={"filePath": "app.py", "filePosition": 2, "relativeFileVersion": "AFTER"},
    )["comment"]
    api.post_comment_reply(inReplyTo=inline["commentId"], content="A reply")
    general = api.post_comment_for_pull_request(**commits, content="In general")["comment"]
    api.put_comment_reaction(commentId=general["commentId"], reactionValue=":thumbsup:")
    yield name, number


PR_PAGES = [
    pytest.param("/repositories/{repo}/pull-requests", id="pull-request-list"),
    pytest.param(
        "/repositories/{repo}/pull-requests/new?source=feature&destination=main",
        id="new-pull-request",
    ),
    pytest.param("/repositories/{repo}/pull-requests/{id}", id="pull-request"),
    pytest.param("/repositories/{repo}/pull-requests/{id}?view=split", id="pull-request-split"),
]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PR_PAGES)
def test_pull_request_pages_have_no_serious_accessibility_violations(
    path: str,
    color_scheme: ColorScheme,
    new_page: PageFactory,
    moderator: Account,
    reviewed: tuple[str, str],
) -> None:
    name, number = reviewed
    # A reviewer who may also delete comments: every control of the page is shown.
    page = new_page(moderator, color_scheme=color_scheme)
    response = page.goto(path.format(repo=name, id=number))
    assert response is not None and response.status == 200, page.url
    if "{id}" in path:
        # What axe must see: the diff, the inline thread and its forms, the rules, the box.
        expect(page.locator("tr.inline .thread")).to_contain_text("On this line")
        activity = page.get_by_role("region", name="Activity")
        expect(activity).to_contain_text("In general")
        # A reaction's count, the open picker and an open delete confirmation.
        general = activity.locator("article.comment").filter(has_text="In general")
        expect(general.get_by_role("button", name="1 thumbs up", exact=True)).to_be_visible()
        general.locator(".react-picker > summary").click()
        general.locator("details.delete-comment > summary").click()
        expect(general.get_by_role("button", name="Delete comment")).to_be_visible()
        page.locator("a.add-line").first.click()  # an open inline form
        expect(page.locator("tr.inline form[data-line]")).to_have_count(1)
    elif path.endswith("/new?source=feature&destination=main"):
        expect(page.get_by_role("region", name="Approval rules that will apply")).to_be_visible()
    else:
        expect(page.locator(".pull-list")).to_contain_text("Accessible review")
    assert page.evaluate(f"matchMedia('(prefers-color-scheme: {color_scheme})').matches")
    assert_accessible(page, f"{path} ({color_scheme})")
