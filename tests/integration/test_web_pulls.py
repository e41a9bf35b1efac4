"""The pull-request pages against a real server, with real pushes: the list, a pull
request's page (files, comments on lines, the timeline), every form (and its refusal
without the CSRF token or without permission), approvals, the merge box, a merge whose
source moved since the page was rendered, and escaping."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.api_support import client_for
from tests.support import Git, Server
from tests.web_support import Browser, Page, signed_in

PASSWORD = "web-pulls-password-7kq"
ACCOUNT = "000000000000"


def _user(server: Server, prefix: str, *, admin: bool = False) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    flags = ["--admin"] if admin else []
    server.cli("user", "create", name, *flags, "--password-stdin", input=PASSWORD + "\n")
    return name


@dataclass
class Pull:
    name: str  # the repository
    number: str
    work: Path

    @property
    def url(self) -> str:
        return f"/repositories/{self.name}/pull-requests/{self.number}"


def _hidden(page: Page, field: str) -> str:
    found = re.search(rf'name="{field}" value="([^"]*)"', page.body)
    assert found, f"no {field} in the page"
    return found.group(1)


def _save(browser: Browser, page: Page, name: str) -> None:
    """With WEB_PAGES_DIR set, keep the page and the stylesheet beside it, to screenshot
    (`chromium --headless --screenshot=... file://DIR/NAME.html`) and look at."""
    folder = os.environ.get("WEB_PAGES_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / "style.css").write_text(browser.get("/static/style.css").body)
    body = page.body.replace('href="/static/style.css"', 'href="style.css"')
    (Path(folder) / f"{name}.html").write_text(body)


def _revision(api: BaseClient, pull: Pull) -> str:
    return str(api.get_pull_request(pullRequestId=pull.number)["pullRequest"]["revisionId"])


def _push_branches(server: Server, name: str, git: Git, tmp_path: Path) -> Path:
    work = git.init(tmp_path / f"work-{uuid.uuid4().hex[:6]}")
    git.commit(work, "app.py", "def app():\n    return 1\n\nprint(app())\n", "first")
    git("push", "-q", server.url(name), "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "def app():\n    return 2\n\nprint(app())\n", "change app")
    git.commit(work, "notes.md", "# Notes\n", "add notes")
    git("push", "-q", server.url(name), "feature", cwd=work)
    return work


def _open(browser: Browser, name: str, title: str = "Change the app") -> str:
    new = browser.get(f"/repositories/{name}/pull-requests/new?source=feature&destination=main")
    assert new.status == 200, new.body[:500]
    assert "app.py" in new.body  # the diff preview
    created = browser.post(
        f"/repositories/{name}/pull-requests/new",
        {
            "csrf": new.csrf(),
            "source": "feature",
            "destination": "main",
            "title": title,
            "description": "Makes it **two**.\n\n<script>alert(2)</script>",
        },
    )
    assert created.status == 303, created.body[:500]
    found = re.search(r"/pull-requests/(\d+)$", created.location)
    assert found, created.location
    return found.group(1)


@pytest.fixture
def admin(server: Server) -> Browser:
    return signed_in(server, "admin", server.admin_password)


@pytest.fixture(scope="session")
def api(server: Server) -> BaseClient:
    return client_for(server, "web-pulls-api", admin=True)


@pytest.fixture
def pull(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> Pull:
    name = repo("web-pr")
    work = _push_branches(server, name, git, tmp_path)
    return Pull(name, _open(admin, name), work)


def test_list_filters_by_status_and_author(pull: Pull, admin: Browser) -> None:
    base = f"/repositories/{pull.name}/pull-requests"
    listing = admin.get(base)
    assert listing.status == 200 and "Change the app" in listing.body
    assert pull.url in listing.body
    assert "Change the app" not in admin.get(base + "?status=closed").body
    assert "Change the app" in admin.get(base + "?author=admin").body
    assert "Change the app" not in admin.get(base + "?author=someone-else").body
    home = admin.get(f"/repositories/{pull.name}")
    assert f'href="{base}">Pull requests' in home.body  # the tab


def test_page_shows_description_files_and_timeline(pull: Pull, admin: Browser) -> None:
    page = admin.get(pull.url)
    assert page.status == 200
    assert "<strong>two</strong>" in page.body  # Markdown, rendered
    assert "<script>alert(2)" not in page.body  # and sanitized
    assert "app.py" in page.body and "notes.md" in page.body
    assert "opened this pull request" in page.body
    assert 'name="strategy"' not in page.body or "can be merged" in page.body


def test_comments_general_inline_reply_and_edit(
    pull: Pull, admin: Browser, api: BaseClient
) -> None:
    page = admin.get(pull.url)
    before, after = _hidden(page, "before"), _hidden(page, "after")
    token = page.csrf()
    general = admin.post(
        pull.url + "/comments",
        {"csrf": token, "before": before, "after": after, "content": "Looks *good*"},
    )
    assert general.status == 303 and "#comment-" in general.location
    inline = admin.post(
        pull.url + "/comments",
        {
            "csrf": token,
            "before": before,
            "after": after,
            "content": "Why two?",
            "path": "app.py",
            "side": "AFTER",
            "line": "2",
        },
    )
    assert inline.status == 303
    threads = api.get_comments_for_pull_request(pullRequestId=pull.number)
    located = [t for t in threads["commentsForPullRequestData"] if t.get("location")]
    assert len(located) == 1
    assert located[0]["location"] == {
        "filePath": "app.py",
        "filePosition": 2,
        "relativeFileVersion": "AFTER",
    }
    assert located[0]["beforeCommitId"] == before and located[0]["afterCommitId"] == after
    comment_id = located[0]["comments"][0]["commentId"]
    page = admin.get(pull.url)
    assert "Looks <em>good</em>" in page.body
    # The inline thread sits in the row after the added line 2 of the diff.
    row = page.body.index('<td class="ln"></td><td class="ln">2</td>')
    assert '<td class="ln">3</td>' not in page.body[row : page.body.index("Why two?")]
    reply = admin.post(
        f"{pull.url}/comments/{comment_id}/replies", {"csrf": token, "content": "Because."}
    )
    assert reply.status == 303
    edit = admin.post(f"{pull.url}/comments/{comment_id}", {"csrf": token, "content": "Why 2?"})
    assert edit.status == 303
    split = admin.get(pull.url + "?view=split")
    assert split.status == 200 and "Why 2?" in split.body  # on the right of line 2
    page = admin.get(pull.url)
    assert "Because." in page.body and "Why 2?" in page.body and "Why two?" not in page.body
    _save(admin, page, "pr")


def test_forms_without_the_token_are_refused_and_change_nothing(
    pull: Pull, admin: Browser, api: BaseClient
) -> None:
    page = admin.get(pull.url)
    forms: dict[str, dict[str, str]] = {
        "/comments": {"before": _hidden(page, "before"), "after": _hidden(page, "after")},
        "/approval": {"revision": _revision(api, pull), "state": "APPROVE"},
        "/status": {"status": "CLOSED"},
        "/merge": {"strategy": "SQUASH_MERGE", "source_commit": _hidden(page, "after")},
    }
    for tail, form in forms.items():
        refused = admin.post(pull.url + tail, {**form, "content": "x", "csrf": "forged"})
        assert refused.status == 403, tail
    found = api.get_pull_request(pullRequestId=pull.number)["pullRequest"]
    assert found["pullRequestStatus"] == "OPEN"
    assert not api.get_comments_for_pull_request(pullRequestId=pull.number)[
        "commentsForPullRequestData"
    ]


def _read_only(server: Server, name: str, tmp_path: Path) -> Browser:
    user = _user(server, "reader")
    arn = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:{name}"
    actions = ["codecommit:Get*", "codecommit:List*", "codecommit:Describe*"]
    actions.append("codecommit:EvaluatePullRequestApprovalRules")
    statement = {"Effect": "Allow", "Action": actions, "Resource": arn}
    policy = tmp_path / f"{user}.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    server.cli("policy", "put-user-policy", user, "Reader", "--document", str(policy))
    return signed_in(server, user, PASSWORD)


def test_a_reader_sees_no_controls_and_forged_posts_get_403(
    server: Server, pull: Pull, api: BaseClient, tmp_path: Path
) -> None:
    reader = _read_only(server, pull.name, tmp_path)
    page = reader.get(pull.url)
    assert page.status == 200 and "app.py" in page.body
    for control in ('action="' + pull.url + '/merge"', "/approval", "/status", "/comments"):
        assert control not in page.body, control
    token = reader.csrf()
    source = api.get_pull_request(pullRequestId=pull.number)["pullRequest"]["pullRequestTargets"][
        0
    ]["sourceCommit"]
    merge = reader.post(
        pull.url + "/merge",
        {"csrf": token, "strategy": "SQUASH_MERGE", "source_commit": source},
    )
    assert merge.status == 403
    closing = reader.post(pull.url + "/status", {"csrf": token, "status": "CLOSED"})
    assert closing.status == 403
    form = {"csrf": token, "source": "feature", "destination": "main", "title": "Forged"}
    opened = reader.post(f"/repositories/{pull.name}/pull-requests/new", form)
    assert opened.status == 403
    assert "Forged" not in reader.get(f"/repositories/{pull.name}/pull-requests").body
    found = api.get_pull_request(pullRequestId=pull.number)["pullRequest"]
    assert found["pullRequestStatus"] == "OPEN"
    assert not found["pullRequestTargets"][0]["mergeMetadata"]["isMerged"]


def _rule(needed: int = 1) -> str:
    statement: dict[str, Any] = {"Type": "Approvers", "NumberOfApprovalsNeeded": needed}
    return json.dumps({"Version": "2018-11-08", "Statements": [statement]})


def test_approve_as_a_second_user_then_squash_merge(
    server: Server, pull: Pull, admin: Browser, api: BaseClient
) -> None:
    api.create_pull_request_approval_rule(
        pullRequestId=pull.number, approvalRuleName="one-reviewer", approvalRuleContent=_rule()
    )
    page = admin.get(pull.url)
    assert "one-reviewer</strong>: not satisfied" in page.body
    assert "is not satisfied" in page.body  # a blocker in the merge box
    assert "others approve it" in page.body  # the author is offered no approve button
    forced = admin.post(
        pull.url + "/approval",
        {"csrf": page.csrf(), "revision": _revision(api, pull), "state": "APPROVE"},
    )
    assert forced.status == 400 and "cannot approve" in forced.body
    reviewer = signed_in(server, _user(server, "reviewer", admin=True), PASSWORD)
    page = reviewer.get(pull.url)
    approved = reviewer.post(
        pull.url + "/approval",
        {"csrf": page.csrf(), "revision": _hidden(page, "revision"), "state": "APPROVE"},
    )
    assert approved.status == 303
    page = reviewer.get(pull.url)
    _save(reviewer, page, "pr-approved")
    assert "one-reviewer</strong>: satisfied" in page.body
    assert "Revoke approval" in page.body and "approved this revision" in page.body
    merged = reviewer.post(
        pull.url + "/merge",
        {
            "csrf": page.csrf(),
            "strategy": "SQUASH_MERGE",
            "source_commit": _hidden(page, "source_commit"),
        },
    )
    assert merged.status == 303, merged.body[:800]
    page = reviewer.get(pull.url)
    _save(reviewer, page, "pr-merged")
    assert "Merged" in page.body and "merged this pull request (Squash)" in page.body
    assert 'action="' + pull.url + '/merge"' not in page.body
    assert "not satisfied" not in page.body  # a merged pull request's rules are not evaluated
    target = api.get_pull_request(pullRequestId=pull.number)["pullRequest"]["pullRequestTargets"][0]
    assert target["mergeMetadata"]["isMerged"] is True
    assert target["mergeMetadata"]["mergeOption"] == "SQUASH_MERGE"


def test_a_push_since_the_page_was_rendered_refuses_the_merge(
    server: Server, pull: Pull, admin: Browser, api: BaseClient, git: Git
) -> None:
    page = admin.get(pull.url)
    seen = _hidden(page, "source_commit")
    git.commit(pull.work, "late.txt", "pushed while reviewing\n", "late push")
    git("push", "-q", server.url(pull.name), "feature", cwd=pull.work)
    refused = admin.post(
        pull.url + "/merge",
        {"csrf": page.csrf(), "strategy": "THREE_WAY_MERGE", "source_commit": seen},
    )
    assert refused.status == 409
    assert "The source branch has moved" in refused.body
    assert "late.txt" in refused.body  # the page again, with the new commits' files
    found = api.get_pull_request(pullRequestId=pull.number)["pullRequest"]
    assert found["pullRequestStatus"] == "OPEN"


def test_a_hostile_title_renders_as_text(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    name = repo("web-pr-evil")
    _push_branches(server, name, git, tmp_path)
    number = _open(admin, name, "<script>alert(1)</script>")
    for path in (
        f"/repositories/{name}/pull-requests/{number}",
        f"/repositories/{name}/pull-requests",
    ):
        body = admin.get(path).body
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_closing_from_the_page(pull: Pull, admin: Browser, api: BaseClient) -> None:
    page = admin.get(pull.url)
    closed = admin.post(pull.url + "/status", {"csrf": page.csrf(), "status": "CLOSED"})
    assert closed.status == 303
    found = api.get_pull_request(pullRequestId=pull.number)["pullRequest"]
    assert found["pullRequestStatus"] == "CLOSED"
    page = admin.get(pull.url)
    assert "closed this pull request" in page.body and "/status" not in page.body
    assert "The pull request is closed." in page.body  # the merge box's blocker


def test_a_comment_whose_line_changed_is_listed_as_outdated(
    server: Server, pull: Pull, admin: Browser, git: Git
) -> None:
    page = admin.get(pull.url)
    fields = {
        "csrf": page.csrf(),
        "before": _hidden(page, "before"),
        "after": _hidden(page, "after"),
        "path": "app.py",
        "side": "AFTER",
        "line": "2",
    }
    assert admin.post(pull.url + "/comments", {**fields, "content": "On two"}).status == 303
    assert admin.post(pull.url + "/comments", {**fields, "line": "4", "content": "Kept"}).status
    assert "since your last review" not in admin.get(pull.url).body
    git.commit(pull.work, "app.py", "def app():\n    return 3\n\nprint(app())\n", "three")
    git("push", "-q", server.url(pull.name), "feature", cwd=pull.work)
    page = admin.get(pull.url)
    new = git.rev_parse(pull.work, "HEAD")
    since = f"/repositories/{pull.name}/compare/{fields['after']}...{new}"
    assert "since your last review" in page.body and since in page.body
    outdated = page.body.index("Outdated comments")
    files = page.body.index("changed file")
    assert outdated < page.body.index("On two") < files  # listed apart, with its commit
    assert page.body.index("Kept") > files  # carried to the new revision, on the diff
    assert "pushed: the source moved" in page.body


def test_reply_and_edit_need_the_token_and_only_the_author_edits(
    server: Server, pull: Pull, admin: Browser, api: BaseClient
) -> None:
    page = admin.get(pull.url)
    fields = {"before": _hidden(page, "before"), "after": _hidden(page, "after")}
    posted = admin.post(pull.url + "/comments", {**fields, "csrf": page.csrf(), "content": "Mine"})
    comment = posted.location.rsplit("#comment-", 1)[1]
    for tail in ("", "/replies", "/delete", "/reaction"):
        forged = admin.post(
            f"{pull.url}/comments/{comment}{tail}",
            {"csrf": "forged", "content": "forged", "reaction": "heart"},
        )
        assert forged.status == 403, tail
    other = signed_in(server, _user(server, "other", admin=True), PASSWORD)
    edit = other.post(f"{pull.url}/comments/{comment}", {"csrf": other.csrf(), "content": "Not"})
    assert edit.status == 403 and "Only the author" in edit.body
    threads = api.get_comments_for_pull_request(pullRequestId=pull.number)
    (thread,) = threads["commentsForPullRequestData"]
    assert [c["content"] for c in thread["comments"]] == ["Mine"]
    assert thread["comments"][0]["reactionCounts"] == {}


def test_override_lifts_the_rule_blocker_and_can_be_revoked(
    pull: Pull, admin: Browser, api: BaseClient
) -> None:
    api.create_pull_request_approval_rule(
        pullRequestId=pull.number, approvalRuleName="two", approvalRuleContent=_rule(2)
    )
    page = admin.get(pull.url)
    assert "is not satisfied" in page.body and 'name="strategy"' not in page.body
    form = {"csrf": page.csrf(), "revision": _revision(api, pull), "status": "OVERRIDE"}
    assert admin.post(pull.url + "/override", form).status == 303
    page = admin.get(pull.url)
    assert "overridden for this revision" in page.body and 'name="strategy"' in page.body
    assert "overrode the approval rules" in page.body
    assert admin.post(pull.url + "/override", {**form, "status": "REVOKE"}).status == 303
    assert "is not satisfied" in admin.get(pull.url).body


def test_the_creation_form_previews_the_template_rules(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser, api: Any
) -> None:
    name = repo("web-pr-rules")
    _push_branches(server, name, git, tmp_path)
    template = f"two-eyes-{uuid.uuid4().hex[:6]}"
    content = json.loads(_rule())
    content["DestinationReferences"] = ["refs/heads/main"]
    api.create_approval_rule_template(
        approvalRuleTemplateName=template, approvalRuleTemplateContent=json.dumps(content)
    )
    api.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=template, repositoryName=name
    )
    new = admin.get(f"/repositories/{name}/pull-requests/new?source=feature&destination=main")
    assert f"<strong>{template}</strong> — needs 1 approval" in new.body
    number = _open(admin, name)
    page = admin.get(f"/repositories/{name}/pull-requests/{number}")
    assert f"{template}</strong>: not satisfied" in page.body


def _comment(browser: Browser, pull: Pull, content: str) -> str:
    page = browser.get(pull.url)
    fields = {"before": _hidden(page, "before"), "after": _hidden(page, "after")}
    posted = browser.post(
        pull.url + "/comments", {**fields, "csrf": page.csrf(), "content": content}
    )
    assert posted.status == 303, posted.body[:500]
    return posted.location.rsplit("#comment-", 1)[1]


def _reactions(api: BaseClient, comment: str) -> dict[str, list[str]]:
    found = api.get_comment_reactions(commentId=comment)["reactionsForComment"]
    return {r["reaction"]["shortCode"]: r["reactionUsers"] for r in found}


def _pressed(page: Page, comment: str) -> list[str]:
    """The reactions shown pressed (the viewer's) in the comment's counts, as `code:count`."""
    start = page.body.index(f'id="comment-{comment}"')
    form = page.body[start : page.body.index("</form>", start)]
    counts = form.split('class="react-picker"')[0]
    return re.findall(r'aria-pressed="true" title="([^":]+): (\d+)', counts)


def test_react_change_and_remove_a_reaction(
    server: Server, pull: Pull, admin: Browser, api: BaseClient
) -> None:
    comment = _comment(admin, pull, "React to me")
    token = admin.csrf()
    reacted = admin.post(
        f"{pull.url}/comments/{comment}/reaction", {"csrf": token, "reaction": "thumbsup"}
    )
    assert reacted.status == 303 and reacted.location.endswith(f"#comment-{comment}")
    arn = f"arn:aws:iam::{ACCOUNT}:user/admin"
    assert _reactions(api, comment) == {"thumbsup": [arn]}
    page = admin.get(pull.url)
    assert _pressed(page, comment) == [("thumbs up", "1")]
    other = signed_in(server, _user(server, "fan", admin=True), PASSWORD)
    url = f"{pull.url}/comments/{comment}/reaction"
    assert other.post(url, {"csrf": other.csrf(), "reaction": "👍"}).status == 303
    page = admin.get(pull.url)
    assert _pressed(page, comment) == [("thumbs up", "2")]
    # Another reaction replaces the viewer's; "none" (what their pressed button sends) removes it.
    assert admin.post(url, {"csrf": token, "reaction": "hooray"}).status == 303
    assert [len(users) for users in _reactions(api, comment).values()] == [1, 1]
    page = admin.get(pull.url)
    assert _pressed(page, comment) == [("hooray", "1")]
    assert 'value="none" class="reaction" aria-pressed="true" title="hooray' in page.body
    assert admin.post(url, {"csrf": token, "reaction": "none"}).status == 303
    assert list(_reactions(api, comment)) == ["thumbsup"]
    refused = admin.post(url, {"csrf": token, "reaction": "rocket"})
    assert refused.status == 400 and "not one of the supported reactions" in refused.body
    assert list(_reactions(api, comment)) == ["thumbsup"]


def test_delete_a_comment_keeps_its_thread_and_replies(
    server: Server, pull: Pull, admin: Browser, api: BaseClient
) -> None:
    comment = _comment(admin, pull, "Regrettable words")
    token = admin.csrf()
    reply = admin.post(f"{pull.url}/comments/{comment}/replies", {"csrf": token, "content": "Kept"})
    assert reply.status == 303
    page = admin.get(pull.url)
    assert f'action="{pull.url}/comments/{comment}/delete"' in page.body
    deleted = admin.post(f"{pull.url}/comments/{comment}/delete", {"csrf": token})
    assert deleted.status == 303 and deleted.location.endswith(f"#comment-{comment}")
    (thread,) = api.get_comments_for_pull_request(pullRequestId=pull.number)[
        "commentsForPullRequestData"
    ]
    first, second = thread["comments"]
    assert first["deleted"] is True and first["content"] == ""
    assert second["content"] == "Kept" and second["inReplyTo"] == comment
    page = admin.get(pull.url)
    assert "This comment was deleted." in page.body and "Regrettable" not in page.body
    assert "Kept" in page.body
    # A deleted comment offers nothing more: no edit, delete or reaction.
    for tail in ("/delete", "/reaction", '"'):
        assert f'action="{pull.url}/comments/{comment}{tail}' not in page.body, tail
    again = admin.post(f"{pull.url}/comments/{comment}/delete", {"csrf": token})
    assert again.status == 409
    react = admin.post(
        f"{pull.url}/comments/{comment}/reaction", {"csrf": token, "reaction": "heart"}
    )
    assert react.status == 409
    (thread,) = api.get_comments_for_pull_request(pullRequestId=pull.number)[
        "commentsForPullRequestData"
    ]
    assert thread["comments"][0]["reactionCounts"] == {}


def test_a_reader_sees_reactions_but_may_not_react_or_delete(
    server: Server, pull: Pull, admin: Browser, api: BaseClient, tmp_path: Path
) -> None:
    comment = _comment(admin, pull, "Read me")
    url = f"{pull.url}/comments/{comment}"
    assert admin.post(url + "/reaction", {"csrf": admin.csrf(), "reaction": "heart"}).status == 303
    reader = _read_only(server, pull.name, tmp_path)
    page = reader.get(pull.url)
    assert page.status == 200 and "Read me" in page.body
    assert '<span class="reaction" title="heart: 1">' in page.body  # the count, no button
    for control in (url + "/reaction", url + "/delete", 'name="reaction"', "react-picker"):
        assert control not in page.body, control
    token = reader.csrf()
    assert reader.post(url + "/reaction", {"csrf": token, "reaction": "angry"}).status == 403
    assert reader.post(url + "/delete", {"csrf": token}).status == 403
    assert _reactions(api, comment) == {"heart": [f"arn:aws:iam::{ACCOUNT}:user/admin"]}
    assert api.get_comment(commentId=comment)["comment"]["content"] == "Read me"


def test_one_files_diff_shows_that_file_only(pull: Pull, admin: Browser) -> None:
    page = admin.get(pull.url + "?path=notes.md")
    assert page.status == 200
    assert "Showing one file, notes.md" in page.body
    assert "# Notes" in page.body and "return 2" not in page.body
    # A path is a name, not a pattern; one that is not changed shows no file.
    for path in ("*.md", "nothing.txt", "-rf"):
        other = admin.get(pull.url + "?path=" + path)
        assert other.status == 200 and "# Notes" not in other.body, path
    assert admin.get(pull.url + "?path=a/../notes.md").status == 400
