"""The web UI's admin pages against a real server: users, groups, policies (the JSON
editor and its line-numbered errors), `policy simulate` and the audit log, each form
checked end to end against the CLI, and what must be refused: users whose policies do
not allow administration, forged forms."""

from __future__ import annotations

import html
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from markupsafe import escape

from tests.support import Server
from tests.web_support import Browser, signed_in

PASSWORD = "web-admin-password-4vz"
ADMIN_PAGES = [
    "/admin/users",
    "/admin/users/admin",
    "/admin/groups",
    "/admin/policies",
    "/admin/policies/new",
    "/admin/policies/GitServerReadOnly",
    "/admin/simulate",
    "/admin/audit",
]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _user(server: Server, prefix: str, *policies: str) -> str:
    name = _name(prefix)
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    for policy in policies:
        server.cli("policy", "attach-user-policy", name, policy)
    return name


def _users(server: Server) -> dict[str, dict[str, Any]]:
    return {u["UserName"]: u for u in server.cli("user", "list")["users"]}


def _managed(server: Server) -> set[str]:
    return {p["PolicyName"] for p in server.cli("policy", "list-managed")["policies"]}


@pytest.fixture
def admin(server: Server) -> Browser:
    return signed_in(server, "admin", server.admin_password)


def test_every_admin_page_renders_for_an_admin(server: Server, admin: Browser) -> None:
    home = admin.get("/")
    assert 'href="/admin"' in home.body
    assert admin.get("/admin").location == "/admin/users"
    for path in ADMIN_PAGES:
        page = admin.get(path)
        assert page.status == 200, (path, page.status, page.body[:300])
        assert 'aria-label="Administration"' in page.body, path


def test_a_user_created_in_the_page_signs_in(server: Server, admin: Browser) -> None:
    name = _name("made")
    page = admin.post("/admin/users", {"csrf": admin.csrf(), "name": name, "password": PASSWORD})
    assert page.status == 303 and page.location == f"/admin/users/{name}", page.body[:300]
    assert name in _users(server)
    assert name in admin.get("/admin/users").body
    signed_in(server, name, PASSWORD)
    # The CLI's password rule, now the service's: refused, nothing created.
    short = _name("short")
    refused = admin.post("/admin/users", {"csrf": admin.csrf(), "name": short, "password": "x"})
    assert refused.status == 400 and "at least 8 characters" in refused.body
    assert short not in _users(server)
    taken = admin.post("/admin/users", {"csrf": admin.csrf(), "name": name, "password": PASSWORD})
    assert taken.status == 409 and "already exists" in taken.body
    deleted = admin.post(f"/admin/users/{name}/delete", {"csrf": admin.csrf()})
    assert deleted.status == 303 and name not in _users(server)


def test_policies_and_groups_from_the_pages_reach_the_cli(server: Server, admin: Browser) -> None:
    user = _user(server, "member")
    group = _name("team")
    base = f"/admin/users/{user}"
    form = {"csrf": admin.csrf(), "policy": "GitServerReadOnly"}
    assert admin.post(base + "/policies", form).status == 303
    attached = server.cli("policy", "list", "--user", user)["policies"]
    assert [p["PolicyName"] for p in attached] == ["GitServerReadOnly"]
    assert admin.post(base + "/policies/detach", form).status == 303
    assert server.cli("policy", "list", "--user", user)["policies"] == []
    again = admin.post(base + "/policies/detach", form)
    assert again.status == 404 and "is not attached" in again.body

    created = admin.post("/admin/groups", {"csrf": admin.csrf(), "name": group})
    assert created.status == 303 and created.location == f"/admin/groups/{group}"
    assert admin.post(base + "/groups", {"csrf": admin.csrf(), "group": group}).status == 303
    listed = {g["GroupName"]: g["Users"] for g in server.cli("group", "list")["groups"]}
    assert listed[group] == [user]
    page = admin.get(f"/admin/groups/{group}")
    assert page.status == 200 and user in page.body
    gform = {"csrf": admin.csrf(), "policy": "GitServerPowerUser"}
    assert admin.post(f"/admin/groups/{group}/policies", gform).status == 303
    assert [
        p["PolicyName"] for p in server.cli("policy", "list", "--group", group)["policies"]
    ] == ["GitServerPowerUser"]
    removed = admin.post(
        f"/admin/groups/{group}/members/remove", {"csrf": gform["csrf"], "user": user}
    )
    assert removed.status == 303
    assert admin.post(f"/admin/groups/{group}/policies/detach", gform).status == 303
    assert admin.post(f"/admin/groups/{group}/delete", {"csrf": gform["csrf"]}).status == 303
    assert group not in {g["GroupName"] for g in server.cli("group", "list")["groups"]}


# The syntax error (a missing comma after the Version member) is on line 3.
_BROKEN = """{
  "Version": "2012-10-17"
  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
}
"""


def test_a_json_error_is_shown_at_its_line_and_nothing_is_created(
    server: Server, admin: Browser
) -> None:
    name = _name("Broken")
    page = admin.post("/admin/policies", {"csrf": admin.csrf(), "name": name, "document": _BROKEN})
    assert page.status == 400
    assert "Line 3, column 3" in page.body
    assert 'class="error-line" id="error-line"><td class="ln">3</td>' in page.body
    assert str(escape(_BROKEN)) in page.body  # the text is kept in the editor
    assert name not in _managed(server)


def test_a_grammar_error_is_shown_at_its_line_and_the_policy_is_unchanged(
    server: Server, admin: Browser
) -> None:
    name = _name("Edited")
    good = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        },
        indent=2,
    )
    created = admin.post("/admin/policies", {"csrf": admin.csrf(), "name": name, "document": good})
    assert created.status == 303 and created.location == f"/admin/policies/{name}"
    bad = good.replace('"Allow"', '"Alow"').replace('"*"', '"<script>x</script>"', 1)
    line = bad.split("\n").index('      "Effect": "Alow",') + 1
    page = admin.post(f"/admin/policies/{name}", {"csrf": admin.csrf(), "document": bad})
    assert page.status == 400
    assert f"Line {line}, column 7" in page.body and "Effect must be Allow or Deny" in page.body
    assert "<script>x</script>" not in page.body and "&lt;script&gt;x&lt;/script&gt;" in page.body
    versions = server.cli("policy", "list-versions", name)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v1"]
    updated = admin.post(
        f"/admin/policies/{name}",
        {"csrf": admin.csrf(), "document": good.replace("*", "codecommit:*", 1)},
    )
    assert updated.status == 303
    versions = server.cli("policy", "list-versions", name)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v1", False),
        ("v2", True),
    ]
    assert "codecommit:*" in admin.get(f"/admin/policies/{name}").body
    builtin = admin.get("/admin/policies/GitServerReadOnly")
    assert builtin.status == 200 and "<textarea" not in builtin.body
    refused = admin.post(
        "/admin/policies/GitServerReadOnly", {"csrf": admin.csrf(), "document": good}
    )
    assert refused.status == 400 and "cannot be changed" in refused.body


_PROTECT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "codecommit:GitPush",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]}},
        }
    ],
}


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        pytest.param(
            "codecommit:GitPush",
            "repo-x",
            ["codecommit:References=refs/heads/main"],
            "explicitDeny",
            id="deny",
        ),
        pytest.param(
            "codecommit:GitPush",
            "arn:aws:codecommit:us-east-1:000000000000:repo-x",
            ["codecommit:References=refs/heads/dev"],
            "allowed",
            id="allow",
        ),
        pytest.param("codecommit:DeleteRepository", "repo-x", [], "implicitDeny", id="implicit"),
    ],
)
def test_simulate_decides_as_the_cli(
    server: Server,
    admin: Browser,
    tmp_path: Any,
    action: str,
    resource: str,
    context: list[str],
    expected: str,
) -> None:
    user = _user(server, "sim", "GitServerPowerUser")
    document = tmp_path / "protect.json"
    document.write_text(json.dumps(_PROTECT))
    server.cli("policy", "put-user-policy", user, "ProtectMain", "--document", str(document))
    arn = (
        resource
        if resource.startswith("arn:")
        else f"arn:aws:codecommit:us-east-1:000000000000:{resource}"
    )
    args = [
        "policy",
        "simulate",
        "--user",
        user,
        "--action",
        action,
        "--resource",
        arn,
    ]
    for pair in context:
        args += ["--context", pair]
    cli = server.cli(*args)
    assert cli["decision"] == expected
    query = urllib.parse.urlencode(
        {
            "user": user,
            "action": action,
            "resource": resource,
            "context": "\n".join(context),
        }
    )
    page = admin.get(f"/admin/simulate?{query}")
    assert page.status == 200
    assert f"decision-{expected}" in page.body
    matched = ", ".join(cli["matchedStatements"]) or "no statement matched"
    assert html.escape(f"{expected}: {matched}") in page.body
    for statement in cli["matchedStatements"]:
        assert statement in page.body
    bad = admin.get(
        "/admin/simulate?"
        + urllib.parse.urlencode({**dict(urllib.parse.parse_qsl(query)), "context": "nokey"})
    )
    assert bad.status == 400 and "expected KEY=VALUE" in bad.body
    missing = admin.get("/admin/simulate?user=nobody-zz&action=codecommit:GitPull&resource=r")
    assert missing.status == 404


def _wait(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_audit_filters_narrow_the_list(
    server: Server, admin: Browser, repo: Callable[..., str]
) -> None:
    name = repo("audited")
    user = _user(server, "audited")
    browser = signed_in(server, user, PASSWORD)
    assert browser.get(f"/repositories/{name}").status == 404  # a denial, recorded
    mine = f"/admin/audit?principal={user}"
    _wait(lambda: "codecommit:GetRepository" in admin.get(mine).body)
    page = admin.get(mine)
    assert page.status == 200 and user in page.body
    rows = page.body.count("<tr class=")
    assert rows >= 1
    assert "admin</td>" not in page.body  # only this principal's records
    denied = admin.get(f"{mine}&decision=denied&repository={name}")
    assert "codecommit:GetRepository" in denied.body and "implicitDeny" in denied.body
    assert "No records match" in admin.get(f"{mine}&decision=allowed&repository={name}").body
    assert "No records match" in admin.get(f"{mine}&since=2999-01-01T00:00").body
    assert "codecommit:GetRepository" in admin.get(f"{mine}&until=2999-01-01T00:00").body
    assert "No records match" in admin.get(f"{mine}&action=GitPush").body
    assert admin.get("/admin/audit?since=yesterday").status == 400
    assert admin.get("/admin/audit?decision=maybe").status == 400
    assert admin.get("/admin/audit?page=0").status == 400


def test_a_read_only_user_sees_no_admin_and_is_refused(server: Server, admin: Browser) -> None:
    reader = signed_in(server, _user(server, "reader", "GitServerReadOnly"), PASSWORD)
    home = reader.get("/")
    assert home.status == 200 and 'href="/admin"' not in home.body
    assert reader.get("/admin").status == 403
    for path in ADMIN_PAGES:
        assert reader.get(path).status == 403, path
    token = reader.csrf()
    victim = _user(server, "victim")
    forms = {
        "/admin/users": {"name": _name("forged"), "password": PASSWORD},
        f"/admin/users/{victim}/delete": {},
        f"/admin/users/{victim}/policies": {"policy": "GitServerFullAccess"},
        "/admin/groups": {"name": _name("forged")},
        "/admin/policies": {"name": _name("Forged"), "document": _BROKEN},
    }
    before = (_users(server), _managed(server))
    for path, form in forms.items():
        page = reader.post(path, {"csrf": token, **form})
        assert page.status == 403, (path, page.status)
    assert (_users(server), _managed(server)) == before
    assert server.cli("policy", "list", "--user", victim)["policies"] == []


def test_an_iam_admin_by_policy_sees_the_pages(server: Server) -> None:
    """Administration is a policy (`GitServerIAMFullAccess`), not the `--admin` flag."""
    browser = signed_in(server, _user(server, "iamadmin", "GitServerIAMFullAccess"), PASSWORD)
    assert 'href="/admin"' in browser.get("/settings/password").body
    assert browser.get("/admin/users").status == 200


def test_a_post_without_the_token_is_refused_and_changes_nothing(
    server: Server, admin: Browser
) -> None:
    name = _name("nocsrf")
    page = admin.post("/admin/users", {"name": name, "password": PASSWORD})
    assert page.status == 403 and "did not come from this site" in page.body
    page = admin.post("/admin/groups", {"csrf": "forged", "name": name})
    assert page.status == 403
    assert name not in _users(server)
    assert name not in {g["GroupName"] for g in server.cli("group", "list")["groups"]}
