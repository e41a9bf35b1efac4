"""The web UI's routes against a real server: every page and form, its status, its
authorization (a user whose policy denies sees what a missing repository shows), CSRF
refusals that change nothing, escaping, security headers, sessions and sign-in limits."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitserver.web.security import CSP
from tests.support import Git, Server
from tests.web_support import Browser, signed_in

PASSWORD = "web-test-password-9xq"
EVIL = "<img src=x onerror=alert(1)>.txt"


def _user(server: Server, prefix: str, *policies: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    for policy in policies:
        server.cli("policy", "attach-user-policy", name, policy)
    return name


def _content(server: Server, name: str, git: Git, tmp_path: Path) -> str:
    """Pushes main (README, a module, the hostile name, a binary, HTML) plus feature/x and
    a tag; returns main's second commit."""
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "# Hello\n\n<script>alert(1)</script> *web*\n")
    git.commit(work, "src/pkg/main.py", "def hello() -> str:\n    return 'hi'\n")
    (work / EVIL).write_text("evil\n")
    (work / "page.html").write_text("<html><script>alert(1)</script></html>\n")
    (work / "bin.dat").write_bytes(b"\x00\x01binary" * 100)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "more <b>files</b>", cwd=work)
    head = git.rev_parse(work, "HEAD")
    git("checkout", "-q", "-b", "feature/x", cwd=work)
    git.commit(work, "src/pkg/main.py", "def hello() -> str:\n    return 'hello'\n", "feature")
    git("tag", "v1", "main", cwd=work)
    # A tag that is a prefix of a branch name: URLs take the longest ref that exists.
    git("tag", "feature", "main", cwd=work)
    git("push", "-q", server.url(name), "main", "feature/x", "v1", "feature", cwd=work)
    return head


@pytest.fixture
def admin(server: Server) -> Browser:
    return signed_in(server, "admin", server.admin_password)


def test_pages_need_a_session_and_send_back_after_sign_in(server: Server) -> None:
    browser = Browser(server)
    page = browser.get("/repositories/x/log/main?page=2")
    assert page.status == 303
    where = urllib.parse.urlsplit(page.location)
    assert where.path == "/sign-in"
    assert urllib.parse.parse_qs(where.query)["next"] == ["/repositories/x/log/main?page=2"]
    signed = browser.sign_in("admin", server.admin_password, "/repositories/x/log/main?page=2")
    assert signed.status == 303 and signed.location == "/repositories/x/log/main?page=2"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_next_never_leaves_the_site(server: Server, target: str) -> None:
    page = Browser(server).sign_in("admin", server.admin_password, target)
    assert page.status == 303 and page.location == "/"


def test_security_headers_on_every_web_response(server: Server, admin: Browser) -> None:
    for path in ("/sign-in", "/", "/repositories/none-such", "/static/style.css", "/nothing"):
        page = admin.get(path)
        assert page.headers["Content-Security-Policy"] == CSP, path
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["Referrer-Policy"] == "same-origin"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "unsafe-inline" not in CSP
    assert "<script>" not in admin.get("/").body  # JavaScript only as a static file


def test_git_api_health_and_metrics_still_answer(server: Server) -> None:
    browser = Browser(server)
    assert browser.get("/healthz").status == 200
    assert browser.get("/metrics").status == 200
    api = browser.post("/", {})
    assert api.status in (400, 403) and "Content-Security-Policy" not in api.headers
    refs = browser.get("/v1/repos/none/info/refs?service=git-upload-pack")
    assert refs.status == 401 and "Content-Security-Policy" not in refs.headers


def test_wrong_password_shows_an_alert_and_no_session(server: Server) -> None:
    user = _user(server, "wrongpw")
    browser = Browser(server)
    page = browser.sign_in(user, "not-the-password")
    assert page.status == 401
    assert 'role="alert"' in page.body and "Incorrect user name or password" in page.body
    assert "gitserver_session" not in browser.cookies
    assert browser.get("/").status == 303
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while not events and time.monotonic() < deadline:
        time.sleep(0.3)  # the audit log is written in batches, every second
        events = server.cli("audit", "list", "--action", "Authenticate", "--user", user)["events"]
    assert events, "the failed sign-in was not audited"
    record = events[0]
    assert record["decision"] == "authFailed" and record["method"] == "web-password"
    assert record["transport"] == "http" and record["sourceIPAddress"] == "127.0.0.1"
    assert "not-the-password" not in json.dumps(events)


def test_sign_in_without_the_form_token_is_refused(server: Server) -> None:
    browser = Browser(server)
    browser.get("/sign-in")
    page = browser.post(
        "/sign-in", {"csrf": "forged", "username": "admin", "password": server.admin_password}
    )
    assert page.status == 403
    assert "gitserver_session" not in browser.cookies


def test_sign_in_backs_off_after_repeated_failures(server: Server) -> None:
    user = _user(server, "throttled")
    browser = Browser(server)
    for _ in range(5):
        assert browser.sign_in(user, "wrong").status == 401
    page = browser.sign_in(user, PASSWORD)
    assert page.status == 429 and "Too many failed sign-ins" in page.body
    assert "gitserver_session" not in browser.cookies


def test_forged_posts_are_refused_and_change_nothing(server: Server) -> None:
    user = _user(server, "forged")
    browser = signed_in(server, user, PASSWORD)
    change = {"current_password": PASSWORD, "new_password": "x" * 12, "confirm_password": "x" * 12}
    assert browser.post("/settings/password", {**change, "csrf": "forged"}).status == 403
    assert browser.post("/settings/password", change).status == 403
    assert browser.post("/sign-out", {"csrf": "forged"}).status == 403
    assert browser.get("/settings/password").status == 200  # still signed in
    signed_in(server, user, PASSWORD)  # the password did not change


def test_sign_out_and_sign_out_everywhere(server: Server) -> None:
    user = _user(server, "signout")
    first, second, third = (signed_in(server, user, PASSWORD) for _ in range(3))
    assert first.post("/sign-out", {"csrf": first.csrf()}).status == 303
    assert first.get("/").status == 303
    assert second.get("/settings/password").status == 200
    page = second.post("/sign-out", {"csrf": second.csrf(), "everywhere": "1"})
    assert page.status == 303
    assert second.get("/").status == 303 and third.get("/").status == 303


def test_password_change_needs_the_current_password(server: Server) -> None:
    user = _user(server, "passwd")
    browser, other = signed_in(server, user, PASSWORD), signed_in(server, user, PASSWORD)
    new = "a-new-password-123"
    wrong = browser.post(
        "/settings/password",
        {
            "csrf": browser.csrf(),
            "current_password": "nope",
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert wrong.status == 400 and 'role="alert"' in wrong.body
    done = browser.post(
        "/settings/password",
        {
            "csrf": browser.csrf(),
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert done.status == 200 and "Your password is changed" in done.body
    assert browser.get("/settings/password").status == 200  # this session stays
    assert other.get("/").status == 303  # the others end
    signed_in(server, user, new)


def test_every_page_renders_for_a_reader(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    name = repo("web")
    head = _content(server, name, git, tmp_path)
    reader = signed_in(server, _user(server, "reader", "GitServerReadOnly"), PASSWORD)
    base = f"/repositories/{name}"
    expected = {
        # The session server holds other tests' repositories too: by name, this one may
        # be on a later page; the newest push (this test's, its worker's last) comes first.
        "/": "repositories",
        "/?sort=pushed": name,
        f"/?q={name}&sort=pushed": name,
        base: "Hello",
        f"{base}/tree/main": "src/",
        f"{base}/tree/feature/x/src/pkg": "main.py",
        f"{base}/tree/v1": "README.md",
        f"{base}/tree/feature": "README.md",
        f"{base}/blob/feature/src/pkg/main.py": "&#39;hi&#39;",
        f"{base}/blob/main/src/pkg/main.py": '<span class="nf">hello</span>',
        f"{base}/blob/feature/x/src/pkg/main.py": "&#39;hello&#39;",
        f"{base}/blob/main/bin.dat": "binary file",
        f"{base}/history/main/src/pkg/main.py": "change src/pkg/main.py",
        f"{base}/blame/main/src/pkg/main.py": "def hello",
        f"{base}/log/main": "more &lt;b&gt;files&lt;/b&gt;",
        f"{base}/log/main?page=2": "Page 2",
        f"{base}/commit/{head}": "bin.dat",
        f"{base}/commit/{head}?view=split": "bin.dat",
        f"{base}/commit/{head}?path=page.html": "Showing one file, page.html",
        f"{base}/commit/{head}?view=unified&w=1": "Show whitespace changes",
        f"{base}/compare/main...feature/x": "src/pkg/main.py",
    }
    for browser in (admin, reader):
        for path, text in expected.items():
            page = browser.get(path)
            assert page.status == 200, (path, page.status, page.body[:300])
            assert text in page.body, (path, page.body[:2000])
    # The ref switcher: the same view of the same path at each other branch and tag.
    switcher = reader.get(f"{base}/blob/main/src/pkg/main.py").body
    assert f'href="{base}/blob/feature/x/src/pkg/main.py"' in switcher
    assert f'href="{base}/blob/v1/src/pkg/main.py"' in switcher
    home = reader.get(base).body
    assert "<script>alert(1)</script>" not in home  # the README's HTML is not passed through
    assert '<div class="markdown"><h1>Hello</h1>' in home  # rendered, not shown as source
    assert server.url(name, "x").split("@")[1] in home.replace("http://", "")  # clone URL
    assert 'class="copy"' in home and "/static/site.js" in home


def test_raw_is_streamed_and_never_served_as_html(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    name = repo("raw")
    _content(server, name, git, tmp_path)
    html = admin.get(f"/repositories/{name}/raw/main/page.html")
    assert html.status == 200
    assert html.headers["Content-Type"].startswith("text/plain")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert "filename*=UTF-8''page.html" in html.headers["Content-Disposition"]
    assert html.headers["X-Content-Type-Options"] == "nosniff"  # streamed, still sent
    assert html.headers["X-Frame-Options"] == "DENY"
    assert html.body == "<html><script>alert(1)</script></html>\n"
    binary = admin.get(f"/repositories/{name}/raw/main/bin.dat")
    assert binary.headers["Content-Type"] == "application/octet-stream"
    assert binary.headers["Content-Disposition"].startswith("attachment")
    assert binary.headers["Content-Length"] == str(800)


def test_a_hostile_file_name_renders_as_text(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    name = repo("escape")
    head = _content(server, name, git, tmp_path)
    for path in (f"/repositories/{name}/tree/main", f"/repositories/{name}/commit/{head}"):
        body = admin.get(path).body
        assert "<img src=x onerror" not in body, path
        assert "&lt;img src=x onerror=alert(1)&gt;.txt" in body, path
    blob = admin.get(f"/repositories/{name}/blob/main/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt")
    assert blob.status == 200 and "evil" in blob.body and "<img src=x" not in blob.body


def test_a_denied_repository_looks_missing(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("denied")
    _content(server, name, git, tmp_path)
    nobody = signed_in(server, _user(server, "nobody"), PASSWORD)
    missing = nobody.get("/repositories/no-such-repository-here")
    assert missing.status == 404
    for path in ("", "/tree/main", "/blob/main/README.md", "/raw/main/README.md", "/log/main"):
        page = nobody.get(f"/repositories/{name}{path}")
        assert page.status == 404, path
        assert page.body.replace(name, "X") == missing.body.replace(
            "no-such-repository-here", "X"
        ), path
    listing = nobody.get("/")  # ListRepositories is denied too: said, and nothing listed
    assert listing.status == 403 and "do not allow listing repositories" in listing.body


def test_the_list_shows_only_repositories_the_user_may_read(
    server: Server, repo: Callable[..., str], tmp_path: Path
) -> None:
    seen, hidden = repo("seen"), repo("hidden")
    user = _user(server, "narrow")
    policy = tmp_path / "policy.json"
    arn = f"arn:aws:codecommit:us-east-1:000000000000:{seen}"
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "codecommit:ListRepositories", "Resource": "*"},
        {"Effect": "Allow", "Action": "codecommit:GetRepository", "Resource": arn},
    ]
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    server.cli("policy", "put-user-policy", user, "Narrow", "--document", str(policy))
    browser = signed_in(server, user, PASSWORD)
    listing = browser.get("/").body
    assert seen in listing and hidden not in listing
    home = browser.get(f"/repositories/{seen}")
    assert home.status == 200
    assert "Browse files" not in home.body  # GetFolder is not allowed: no link to it
    assert browser.get(f"/repositories/{hidden}").status == 404


# Every web route, as a concrete request: the pages a signed-in user without policies
# must not see (GET), the forms that must refuse a forged POST, and the public ones.
_REPO_PAGES = {
    "web-repository": "",
    "web-tree": "/tree/main",
    "web-blob": "/blob/main/README.md",
    "web-raw": "/raw/main/README.md",
    "web-history": "/history/main/README.md",
    "web-blame": "/blame/main/README.md",
    "web-log": "/log/main",
    "web-commit": "/commit/main",
    "web-compare": "/compare/main...feature/x",
    "web-pulls": "/pull-requests",
    "web-pull-new-page": "/pull-requests/new?source=feature/x",
    "web-pull": "/pull-requests/{pr}",
    # GetRepositoryTriggers (test_web_settings.py has the forms' PutRepositoryTriggers).
    "web-webhooks": "/settings/webhooks",
    "web-webhook": "/settings/webhooks/00000000-0000-0000-0000-000000000000",
    "web-repo-settings": "/settings",
    "web-notifications": "/settings/notifications",
    # ListAssociatedApprovalRuleTemplatesForRepository.
    "web-approval-templates": "/settings/approval-templates",
    # GetRepository, then ListPipelines (test_web_pipelines.py has the rest).
    "web-repo-pipelines": "/pipelines",
}
# The pull request's forms, posted with a valid token by a user who may not read it:
# "not found", as its pages.
_REPO_FORMS = {
    "web-pull-create": "/pull-requests/new",
    "web-pull-comment": "/pull-requests/{pr}/comments",
    "web-pull-reply": "/pull-requests/{pr}/comments/{comment}/replies",
    "web-pull-edit": "/pull-requests/{pr}/comments/{comment}",
    "web-pull-delete": "/pull-requests/{pr}/comments/{comment}/delete",
    "web-pull-react": "/pull-requests/{pr}/comments/{comment}/reaction",
    "web-pull-approval": "/pull-requests/{pr}/approval",
    "web-pull-override": "/pull-requests/{pr}/override",
    "web-pull-status": "/pull-requests/{pr}/status",
    "web-pull-merge": "/pull-requests/{pr}/merge",
    "web-pull-merge-when-green": "/pull-requests/{pr}/merge-when-green",
    "web-pull-merge-when-green-cancel": "/pull-requests/{pr}/merge-when-green/cancel",
    # The repository's settings forms: "not found" too (test_web_repo_settings.py has
    # the reader who may see the pages but not change them).
    "web-webhook-edit": "/settings/webhooks/00000000-0000-0000-0000-000000000000/edit",
    "web-notification-add": "/settings/notifications",
    "web-notification-delete": "/settings/notifications/X/delete",
    "web-approval-template-associate": "/settings/approval-templates",
    "web-approval-template-disassociate": "/settings/approval-templates/disassociate",
    "web-repo-protect": "/settings/protected-branches",
    "web-repo-unprotect": "/settings/protected-branches/remove",
    "web-repo-push-rules": "/settings/push-rules",
}
_FORMS = {
    "web-signin": "/sign-in",
    "web-signout": "/sign-out",
    "web-password": "/settings/password",
    "web-ssh-key-add": "/settings/ssh-keys",
    "web-ssh-key-status": "/settings/ssh-keys/APKAX/status",
    "web-ssh-key-delete": "/settings/ssh-keys/APKAX/delete",
    "web-git-credential-add": "/settings/credentials/git",
    "web-git-credential-status": "/settings/credentials/git/X/status",
    "web-git-credential-delete": "/settings/credentials/git/X/delete",
    "web-access-key-add": "/settings/credentials/keys",
    "web-access-key-status": "/settings/credentials/keys/X/status",
    "web-access-key-delete": "/settings/credentials/keys/X/delete",
    "web-repo-description": "/repositories/r/settings/description",
    "web-repo-default-branch": "/repositories/r/settings/default-branch",
    "web-repo-require-status": "/repositories/r/settings/required-checks",
    "web-repo-unrequire-status": "/repositories/r/settings/required-checks/remove",
    "web-webhook-add": "/repositories/r/settings/webhooks",
    "web-webhook-delete": "/repositories/r/settings/webhooks/X/delete",
    "web-webhook-test": "/repositories/r/settings/webhooks/X/test",
    "web-webhook-redeliver": "/repositories/r/settings/webhooks/X/deliveries/Y/redeliver",
}
_SIGNED_IN_PAGES = {
    "web-repositories": "/",
    "web-password-page": "/settings/password",
    # Decided by the IAM self-service actions on the user's own ARN: a user with no
    # policy gets a 403 page (test_web_settings.py has the rest).
    "web-ssh-keys": "/settings/ssh-keys",
    "web-credentials": "/settings/credentials",
    # ListPipelines on `*`: 403 for a user without it, as the repository list.
    "web-pipelines": "/pipelines",
}
# A pipeline's pages and forms, decided with `codepipeline:*` on its ARN: to a user who
# may not read it, a pipeline (here one that does not exist) is "not found" either way.
_PIPELINE = "/pipelines/door-p"
_PIPELINE_PAGES = {
    "web-pipeline": _PIPELINE,
    "web-pipeline-execution": _PIPELINE + "/executions/X",
    "web-pipeline-artifact": _PIPELINE + "/executions/X/artifacts/A.zip",
    "web-pipeline-log": _PIPELINE + "/executions/X/log/S/A",
    "web-pipeline-log-text": _PIPELINE + "/executions/X/log/S/A/download",
    "web-pipeline-log-events": _PIPELINE + "/executions/X/log/S/A/events",
}
_PIPELINE_FORMS = {
    "web-pipeline-start": _PIPELINE + "/start",
    "web-pipeline-approve": _PIPELINE + "/executions/X/approval",
    "web-pipeline-retry": _PIPELINE + "/executions/X/retry",
    "web-pipeline-stop": _PIPELINE + "/executions/X/stop",
}
_PUBLIC = {"web-style": "/static/style.css", "web-signin-page": "/sign-in"}
# Administration (IAM's actions on IAM's ARNs, `cloudtrail:LookupEvents` for the audit
# log): a signed-in user without those policies gets a 403 page for each page, and a
# form posted with a valid token is refused too (test_web_admin.py has the rest).
_ADMIN_PAGES = {
    "web-admin": "/admin",
    "web-admin-users": "/admin/users",
    "web-admin-user": "/admin/users/admin",
    "web-admin-groups": "/admin/groups",
    "web-admin-group": "/admin/groups/g",
    "web-admin-policies": "/admin/policies",
    "web-admin-policy-new": "/admin/policies/new",
    "web-admin-policy": "/admin/policies/GitServerReadOnly",
    "web-admin-simulate": "/admin/simulate?user=admin&action=codecommit:GitPull&resource=r",
    "web-admin-audit": "/admin/audit",
}
_ADMIN_FORMS = {
    "web-admin-user-create": "/admin/users",
    "web-admin-user-delete": "/admin/users/admin/delete",
    "web-admin-user-attach": "/admin/users/admin/policies",
    "web-admin-user-detach": "/admin/users/admin/policies/detach",
    "web-admin-user-join": "/admin/users/admin/groups",
    "web-admin-user-leave": "/admin/users/admin/groups/remove",
    "web-admin-group-create": "/admin/groups",
    "web-admin-group-delete": "/admin/groups/g/delete",
    "web-admin-group-attach": "/admin/groups/g/policies",
    "web-admin-group-detach": "/admin/groups/g/policies/detach",
    "web-admin-group-add": "/admin/groups/g/members",
    "web-admin-group-remove": "/admin/groups/g/members/remove",
    "web-admin-policy-create": "/admin/policies",
    "web-admin-policy-update": "/admin/policies/P",
}


def test_every_web_route_asks_the_authorizer(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    from gitserver.web.site import routes

    names = {route.kwargs["name"] for route in routes()}
    covered = {*_REPO_PAGES, *_REPO_FORMS, *_FORMS, *_SIGNED_IN_PAGES, *_PUBLIC}
    covered |= {*_ADMIN_PAGES, *_ADMIN_FORMS, *_PIPELINE_PAGES, *_PIPELINE_FORMS}
    assert names == covered, "a new web route needs a door here"
    name = repo("door-web")
    _content(server, name, git, tmp_path)
    ids = _pull_request_with_a_comment(admin, name)
    nobody = signed_in(server, _user(server, "door"), PASSWORD)
    missing = nobody.get("/repositories/not-there").body.replace("not-there", "X")
    for route, tail in _REPO_PAGES.items():
        page = nobody.get(f"/repositories/{name}{tail.format(**ids)}")
        assert page.status == 404, (route, page.status)
        assert page.body.replace(name, "X") == missing, route
        assert Browser(server).get(f"/repositories/{name}{tail.format(**ids)}").status == 303, route
    assert nobody.get("/").status == 403  # ListRepositories
    assert nobody.get("/pipelines").status == 403  # ListPipelines
    for route, path in _PIPELINE_PAGES.items():
        page = nobody.get(path)
        assert page.status == 404, (route, page.status)
        assert page.body.replace("door-p", "X") == missing, route
        assert Browser(server).get(path).status == 303, route
    for route, path in _SIGNED_IN_PAGES.items():
        assert Browser(server).get(path).status == 303, route
    for route, path in _FORMS.items():
        assert nobody.post(path, {"csrf": "forged"}).status == 403, route
    token = nobody.csrf()
    for route, tail in _REPO_FORMS.items():
        path = f"/repositories/{name}{tail.format(**ids)}"
        assert nobody.post(path, {"csrf": "forged"}).status == 403, route
        form = {"csrf": token, "strategy": "SQUASH_MERGE", "state": "APPROVE"}
        assert nobody.post(path, form).status == 404, route
    for route, path in _PIPELINE_FORMS.items():
        assert nobody.post(path, {"csrf": "forged"}).status == 403, route
        assert nobody.post(path, {"csrf": token, "stage": "S"}).status == 404, route
    for route, path in _PUBLIC.items():
        assert Browser(server).get(path).status == 200, route
    for route, path in _ADMIN_PAGES.items():
        assert nobody.get(path).status == 403, route
        assert Browser(server).get(path).status == 303, route
    admin_form = {"csrf": token, "name": "door-x", "user": "admin", "group": "g", "policy": "P"}
    for route, path in _ADMIN_FORMS.items():
        assert nobody.post(path, {"csrf": "forged"}).status == 403, route
        assert nobody.post(path, admin_form).status == 403, route
    assert "admin" in {u["UserName"] for u in server.cli("user", "list")["users"]}


def _pull_request_with_a_comment(admin: Browser, name: str) -> dict[str, str]:
    """Opens feature/x -> main from the web UI and comments on it: the ids for the doors."""
    base = f"/repositories/{name}/pull-requests"
    form = {"source": "feature/x", "destination": "main", "title": "Door"}
    created = admin.post(base + "/new", {"csrf": admin.csrf(), **form})
    assert created.status == 303, created.body[:300]
    number = created.location.rsplit("/", 1)[1]
    page = admin.get(f"{base}/{number}")
    before = re.search(r'name="before" value="([0-9a-f]+)"', page.body)
    after = re.search(r'name="after" value="([0-9a-f]+)"', page.body)
    assert before and after
    fields = {"before": before.group(1), "after": after.group(1), "content": "door"}
    posted = admin.post(f"{base}/{number}/comments", {"csrf": page.csrf(), **fields})
    assert posted.status == 303, posted.body[:300]
    return {"pr": number, "comment": posted.location.rsplit("#comment-", 1)[1]}


def test_a_huge_file_is_offered_not_shown_and_downloads_whole(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    name = repo("huge")
    work = git.init(tmp_path / "huge")
    line = "0123456789abcdef" * 7 + "\n"  # 113 bytes
    big = line * (3 * 1024 * 1024 // len(line))  # ~3 MiB: over the 1 MiB page limit
    git.commit(work, "big.txt", big)
    git("push", "-q", server.url(name), "main", cwd=work)
    page = admin.get(f"/repositories/{name}/blob/main/big.txt")
    assert page.status == 200 and "too large to show" in page.body
    assert line.strip() not in page.body
    blame = admin.get(f"/repositories/{name}/blame/main/big.txt")
    assert blame.status == 200 and "too large to blame" in blame.body
    raw = admin.get(f"/repositories/{name}/raw/main/big.txt")
    assert raw.status == 200 and raw.headers["Content-Length"] == str(len(big))
    assert raw.body == big


def test_an_empty_repository_has_a_home_and_no_tree(
    server: Server, repo: Callable[..., str], admin: Browser
) -> None:
    name = repo("empty")
    home = admin.get(f"/repositories/{name}")
    assert home.status == 200 and "Empty repository" in home.body
    assert admin.get(f"/repositories/{name}/tree/main").status == 404


def test_links_follow_the_policy_and_forged_requests_are_refused(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("partial")
    _content(server, name, git, tmp_path)
    user = _user(server, "partial")
    arn = f"arn:aws:codecommit:us-east-1:000000000000:{name}"
    actions = ["GetRepository", "GetFolder", "GetFile", "ListBranches"]
    statement = {"Effect": "Allow", "Action": [f"codecommit:{a}" for a in actions], "Resource": arn}
    policy = tmp_path / "partial.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    server.cli("policy", "put-user-policy", user, "Partial", "--document", str(policy))
    browser = signed_in(server, user, PASSWORD)
    base = f"/repositories/{name}"
    blob = browser.get(f"{base}/blob/main/src/pkg/main.py")
    assert blob.status == 200
    assert f"{base}/raw/" not in blob.body and f"{base}/history/" not in blob.body
    assert f"{base}/log/" not in blob.body  # no GetCommit: no "Commits" tab
    assert f"{base}/blob/main/README.md" in browser.get(f"{base}/tree/main").body
    for path in ("/raw/main/README.md", "/history/main/README.md", "/log/main"):
        assert browser.get(base + path).status == 404, path


def test_the_log_pages_through_history(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, admin: Browser
) -> None:
    name = repo("paged")
    work = git.init(tmp_path / "paged")
    git.commit(work, "a.txt", "a\n", "commit 0")
    for number in range(1, 55):
        git("commit", "-q", "--allow-empty", "-m", f"commit {number}", cwd=work)
    git("push", "-q", server.url(name), "main", cwd=work)
    first = admin.get(f"/repositories/{name}/log/main")
    assert "commit 54<" in first.body and "commit 5<" in first.body
    assert "commit 4<" not in first.body and 'rel="next" href="?page=2"' in first.body
    second = admin.get(f"/repositories/{name}/log/main?page=2")
    assert "commit 4<" in second.body and "commit 0<" in second.body
    assert "commit 5<" not in second.body and 'rel="next"' not in second.body
    history = admin.get(f"/repositories/{name}/history/main/a.txt")
    assert "commit 0<" in history.body and "commit 1<" not in history.body


def test_reflected_values_are_escaped(server: Server, admin: Browser) -> None:
    hostile = urllib.parse.quote('/"><script>alert(1)</script>')
    page = Browser(server).get(f"/sign-in?next={hostile}")
    assert page.status == 200 and "<script>alert(1)" not in page.body
    search = admin.get(f"/?q={urllib.parse.quote('<script>alert(1)</script>')}")
    assert search.status == 200 and "<script>alert(1)" not in search.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in search.body
