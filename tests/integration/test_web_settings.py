"""The web UI's settings pages against a real server: a user's own SSH keys, Git
credentials and access keys (the CLI's rules, the IAM self-service actions), and what
the pages must refuse: forged forms, other users' ids, markup in user text."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.receivers import Receiver
from tests.support import Git, Server, SshIdentity
from tests.web_support import Browser, signed_in

PASSWORD = "web-settings-password-7kq"
SSH_PAGE = "/settings/ssh-keys"
CREDENTIALS = "/settings/credentials"


def _user(server: Server, prefix: str, *policies: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    for policy in policies:
        server.cli("policy", "attach-user-policy", name, policy)
    return name


def _power_user(server: Server, prefix: str) -> tuple[str, Browser]:
    name = _user(server, prefix, "GitServerPowerUser")
    return name, signed_in(server, name, PASSWORD)


def _key(tmp_path: Path, comment: str = "test") -> tuple[SshIdentity, str]:
    identity = SshIdentity.generate(tmp_path / uuid.uuid4().hex[:6], tmp_path / "known_hosts")
    kind, body = identity.public_key.read_text().split()[:2]
    return identity, f"{kind} {body} {comment}"


def _cli_keys(server: Server, user: str) -> list[dict[str, str]]:
    return list(server.cli("ssh-key", "list", user)["SSHPublicKeys"])


def test_ssh_key_added_in_the_page_clones_over_ssh(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    user, browser = _power_user(server, "sshweb")
    identity, text = _key(tmp_path)
    page = browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": text})
    assert page.status == 303 and page.location == SSH_PAGE
    [listed] = _cli_keys(server, user)
    shown = browser.get(SSH_PAGE)
    assert shown.status == 200
    assert listed["FingerprintSHA256"].startswith("SHA256:")
    assert listed["FingerprintSHA256"] in shown.body and listed["SSHPublicKeyId"] in shown.body
    name = repo("sshweb")
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "a\n")
    git("push", "-q", server.url(name), "main", cwd=work)
    server.known_hosts(identity.known_hosts)
    git.env.update(identity.git_env())
    clone = tmp_path / "clone"
    git("clone", "-q", server.ssh_url(name, user), str(clone))
    assert (clone / "a.txt").read_text() == "a\n"


def test_ssh_key_deactivate_activate_delete(server: Server, tmp_path: Path) -> None:
    user, browser = _power_user(server, "sshstate")
    browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": _key(tmp_path)[1]})
    key_id = _cli_keys(server, user)[0]["SSHPublicKeyId"]
    form = {"csrf": browser.csrf(), "status": "Inactive"}
    assert browser.post(f"{SSH_PAGE}/{key_id}/status", form).status == 303
    assert _cli_keys(server, user)[0]["Status"] == "Inactive"
    assert "Activate" in browser.get(SSH_PAGE).body
    form["status"] = "Active"
    assert browser.post(f"{SSH_PAGE}/{key_id}/status", form).status == 303
    assert _cli_keys(server, user)[0]["Status"] == "Active"
    form["status"] = "Revoked"
    assert browser.post(f"{SSH_PAGE}/{key_id}/status", form).status == 400
    delete = browser.post(f"{SSH_PAGE}/{key_id}/delete", {"csrf": browser.csrf()})
    assert delete.status == 303
    assert _cli_keys(server, user) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ssh-ed25519 AAAAnotbase64!!", "not a supported SSH public key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "this is a private key"),
        ("", "the SSH public key is empty"),
    ],
)
def test_an_invalid_key_shows_the_reason_and_stores_nothing(
    server: Server, text: str, reason: str
) -> None:
    user, browser = _power_user(server, "sshbad")
    page = browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": text})
    assert page.status == 400
    assert 'role="alert"' in page.body and reason in page.body
    assert _cli_keys(server, user) == []


def test_a_key_someone_has_is_refused_with_the_reason(server: Server, tmp_path: Path) -> None:
    _, text = _key(tmp_path)
    first, browser = _power_user(server, "sshdup")
    browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": text})
    second, other = _power_user(server, "sshdup")
    page = other.post(SSH_PAGE, {"csrf": other.csrf(), "key": text})
    assert page.status == 400 and "already registered" in page.body
    assert len(_cli_keys(server, first)) == 1 and _cli_keys(server, second) == []


def test_a_key_comment_is_shown_as_text(server: Server, tmp_path: Path) -> None:
    _, browser = _power_user(server, "sshevil")
    text = _key(tmp_path, comment="<script>alert(1)</script>")[1]
    assert browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": text}).status == 303
    body = browser.get(SSH_PAGE).body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_another_users_key_cannot_be_changed_by_id(server: Server, tmp_path: Path) -> None:
    owner, browser = _power_user(server, "sshown")
    browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": _key(tmp_path)[1]})
    key_id = _cli_keys(server, owner)[0]["SSHPublicKeyId"]
    _, thief = _power_user(server, "sshthief")
    token = thief.csrf()
    assert thief.post(f"{SSH_PAGE}/{key_id}/delete", {"csrf": token}).status == 404
    status = {"csrf": token, "status": "Inactive"}
    assert thief.post(f"{SSH_PAGE}/{key_id}/status", status).status == 404
    assert key_id not in thief.get(SSH_PAGE).body
    [kept] = _cli_keys(server, owner)
    assert kept["Status"] == "Active"


def test_forged_settings_posts_are_refused_and_change_nothing(
    server: Server, tmp_path: Path
) -> None:
    user, browser = _power_user(server, "forge")
    browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": _key(tmp_path)[1]})
    key_id = _cli_keys(server, user)[0]["SSHPublicKeyId"]
    posts = {
        SSH_PAGE: {"key": _key(tmp_path)[1]},
        f"{SSH_PAGE}/{key_id}/status": {"status": "Inactive"},
        f"{SSH_PAGE}/{key_id}/delete": {},
        f"{CREDENTIALS}/git": {},
        f"{CREDENTIALS}/keys": {},
    }
    for path, form in posts.items():
        assert browser.post(path, {**form, "csrf": "forged"}).status == 403, path
        assert browser.post(path, form).status == 403, path
    [kept] = _cli_keys(server, user)
    assert kept["Status"] == "Active"
    assert server.cli("credential", "list", user)["credentials"] == []


def test_a_reader_sees_no_controls_and_forged_requests_are_refused(
    server: Server, tmp_path: Path
) -> None:
    user = _user(server, "sshread", "GitServerReadOnly")
    browser = signed_in(server, user, PASSWORD)
    page = browser.get(SSH_PAGE)
    assert page.status == 200 and "Add key" not in page.body
    refused = browser.post(SSH_PAGE, {"csrf": browser.csrf(), "key": _key(tmp_path)[1]})
    assert refused.status == 403
    assert _cli_keys(server, user) == []
    credentials = browser.get(CREDENTIALS)
    assert credentials.status == 200 and "Generate a Git credential" not in credentials.body
    assert browser.post(f"{CREDENTIALS}/git", {"csrf": browser.csrf()}).status == 403
    # No policy at all: not even the list.
    nobody = signed_in(server, _user(server, "nopolicy"), PASSWORD)
    assert nobody.get(SSH_PAGE).status == 403


def _secret(body: str) -> str:
    found = re.search(r'<code id="new-secret">([^<]+)</code>', body)
    assert found, body[:500]
    return found.group(1)


def test_git_credential_secret_is_shown_once_and_works_for_git(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    user, browser = _power_user(server, "credweb")
    page = browser.post(f"{CREDENTIALS}/git", {"csrf": browser.csrf()})
    assert page.status == 200 and page.headers.get("Cache-Control") == "no-store"
    password = _secret(page.body)
    [credential] = server.cli("credential", "list", user)["credentials"]
    username = credential["ServiceUserName"]
    assert username in page.body
    later = browser.get(CREDENTIALS).body
    assert password not in later and credential["ServiceSpecificCredentialId"] in later
    name = repo("credweb")
    assert git("ls-remote", server.url(name, username, password)).returncode == 0
    ident = credential["ServiceSpecificCredentialId"]
    form = {"csrf": browser.csrf(), "status": "Inactive"}
    assert browser.post(f"{CREDENTIALS}/git/{ident}/status", form).status == 303
    refused = git("ls-remote", server.url(name, username, password), check=False)
    assert refused.returncode != 0
    assert browser.post(f"{CREDENTIALS}/git/{ident}/delete", {"csrf": form["csrf"]}).status == 303
    assert server.cli("credential", "list", user)["credentials"] == []


def test_the_credential_limit_is_the_clis(server: Server) -> None:
    _, browser = _power_user(server, "credmax")
    for _ in range(2):
        assert browser.post(f"{CREDENTIALS}/git", {"csrf": browser.csrf()}).status == 200
    page = browser.post(f"{CREDENTIALS}/git", {"csrf": browser.csrf()})
    assert page.status == 400 and "already has 2 Git credentials" in page.body


def test_access_keys_need_their_own_iam_actions(server: Server, tmp_path: Path) -> None:
    user, browser = _power_user(server, "akweb")
    # The managed policies grant no iam:CreateAccessKey (as AWS's CodeCommit ones).
    assert "Create an access key" not in browser.get(CREDENTIALS).body
    assert browser.post(f"{CREDENTIALS}/keys", {"csrf": browser.csrf()}).status == 403
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:*AccessKey*"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            }
        ],
    }
    policy = tmp_path / "keys.json"
    policy.write_text(json.dumps(document))
    server.cli("policy", "put-user-policy", user, "OwnKeys", "--document", str(policy))
    page = browser.post(f"{CREDENTIALS}/keys", {"csrf": browser.csrf()})
    assert page.status == 200
    secret = _secret(page.body)
    [key] = server.cli("access-key", "list", user)["AccessKeyMetadata"]
    later = browser.get(CREDENTIALS).body
    assert key["AccessKeyId"] in later and secret not in later
    _, thief = _power_user(server, "akthief")
    path = f"{CREDENTIALS}/keys/{key['AccessKeyId']}/delete"
    assert thief.post(path, {"csrf": thief.csrf()}).status in (403, 404)
    assert browser.post(path, {"csrf": browser.csrf()}).status == 303
    assert server.cli("access-key", "list", user)["AccessKeyMetadata"] == []


# --- Repository webhooks ---------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def _hooks_page(name: str) -> str:
    return f"/repositories/{name}/settings/webhooks"


def _wait_for_delivery(admin: Browser, page: str, wanted: str) -> str:
    body = ""
    deadline = time.monotonic() + 30
    while wanted not in body and time.monotonic() < deadline:
        time.sleep(0.3)
        body = admin.get(page).body
    return body


def test_a_webhook_made_in_the_page_delivers_and_is_logged(
    server: Server, repo: Callable[..., str], receiver: Receiver
) -> None:
    name = repo("hookweb")
    admin = signed_in(server, "admin", server.admin_password)
    assert "/settings/webhooks" in admin.get(f"/repositories/{name}").body
    form = {
        "csrf": admin.csrf(),
        "url": receiver.url,
        "format": "github",
        "events": "push",
        "secret": "s3cret-value",
    }
    page = admin.post(_hooks_page(name), form)
    assert page.status == 303, page.body[:500]
    [hook] = server.cli("webhook", "list", "--repo", name)["webhooks"]
    assert hook["format"] == "github" and hook["hasSecret"]
    [ping] = receiver.wait_for(1)
    detail = f"{_hooks_page(name)}/{hook['webhookId']}"
    body = _wait_for_delivery(admin, detail, "HTTP 200")
    delivery = ping.headers["X-GitServer-Delivery"]
    assert delivery in body and "HTTP 200" in body and "s3cret-value" not in body
    test = admin.post(f"{detail}/test", {"csrf": admin.csrf()})
    assert test.status == 303 and len(receiver.wait_for(2)) == 2
    again = admin.post(f"{detail}/deliveries/{delivery}/redeliver", {"csrf": admin.csrf()})
    assert again.status == 303
    assert receiver.wait_for(3)[2].headers["X-GitServer-Delivery"] == delivery
    gone = admin.post(f"{detail}/delete", {"csrf": admin.csrf()})
    assert gone.status == 303
    assert server.cli("webhook", "list", "--repo", name)["webhooks"] == []


def test_a_refused_url_shows_the_reason_and_stores_nothing(
    server: Server, repo: Callable[..., str]
) -> None:
    name = repo("hookssrf")
    admin = signed_in(server, "admin", server.admin_password)
    for url in ("http://169.254.169.254/latest/meta-data", "file:///etc/passwd"):
        form = {"csrf": admin.csrf(), "url": url, "format": "native", "events": "push"}
        page = admin.post(_hooks_page(name), form)
        assert page.status == 400 and 'role="alert"' in page.body, url
    assert server.cli("webhook", "list", "--repo", name)["webhooks"] == []


def test_a_webhook_url_is_shown_as_text(
    server: Server, repo: Callable[..., str], receiver: Receiver
) -> None:
    name = repo("hookevil")
    admin = signed_in(server, "admin", server.admin_password)
    url = receiver.url + "?x=<script>alert(1)</script>"
    form = {"csrf": admin.csrf(), "url": url, "format": "native", "events": "push"}
    assert admin.post(_hooks_page(name), form).status == 303
    body = admin.get(_hooks_page(name)).body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_webhooks_need_the_trigger_actions(
    server: Server, repo: Callable[..., str], receiver: Receiver
) -> None:
    name = repo("hookread")
    admin = signed_in(server, "admin", server.admin_password)
    form = {"csrf": admin.csrf(), "url": receiver.url, "format": "native", "events": "push"}
    admin.post(_hooks_page(name), form)
    [hook] = server.cli("webhook", "list", "--repo", name)["webhooks"]
    reader = signed_in(server, _user(server, "hookreader", "GitServerReadOnly"), PASSWORD)
    page = reader.get(_hooks_page(name))
    assert page.status == 200 and 'name="url"' not in page.body and "/delete" not in page.body
    token = reader.csrf()
    assert reader.post(_hooks_page(name), {**form, "csrf": token}).status == 404
    delete = f"{_hooks_page(name)}/{hook['webhookId']}/delete"
    assert reader.post(delete, {"csrf": token}).status == 404
    assert admin.post(delete, {"csrf": "forged"}).status == 403
    assert len(server.cli("webhook", "list", "--repo", name)["webhooks"]) == 1
    nobody = signed_in(server, _user(server, "hooknone"), PASSWORD)
    assert "/settings/webhooks" not in nobody.get(f"/repositories/{name}").body
    assert nobody.get(_hooks_page(name)).status == 404
    # Another repository's page does not reach this hook by its id.
    other = repo("hookother")
    stolen = f"{_hooks_page(other)}/{hook['webhookId']}/delete"
    assert admin.post(stolen, {"csrf": admin.csrf()}).status == 404
    assert len(server.cli("webhook", "list", "--repo", name)["webhooks"]) == 1


# --- Repository settings ---------------------------------------------------------------


def test_description_and_default_branch_through_the_apis_actions(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("settings")
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "a\n")
    git("push", "-q", server.url(name), "main", "main:develop", cwd=work)
    admin = signed_in(server, "admin", server.admin_password)
    page = admin.get(f"/repositories/{name}/settings")
    assert page.status == 200 and "Change default branch" in page.body
    assert f'/repositories/{name}/settings"' in admin.get(f"/repositories/{name}").body
    form = {"csrf": admin.csrf(), "description": "<script>x</script> notes"}
    assert admin.post(f"/repositories/{name}/settings/description", form).status == 303
    form = {"csrf": admin.csrf(), "branch": "develop"}
    assert admin.post(f"/repositories/{name}/settings/default-branch", form).status == 303
    got = server.cli("repo", "get", name)
    assert "develop" in json.dumps(got) and "<script>x</script> notes" in json.dumps(got)
    assert "&lt;script&gt;x" in admin.get(f"/repositories/{name}").body
    reader = signed_in(server, _user(server, "setread", "GitServerReadOnly"), PASSWORD)
    assert "Change default branch" not in reader.get(f"/repositories/{name}/settings").body
    form = {"csrf": reader.csrf(), "branch": "main"}
    assert reader.post(f"/repositories/{name}/settings/default-branch", form).status == 404
    form = {"csrf": reader.csrf(), "description": "changed"}
    assert reader.post(f"/repositories/{name}/settings/description", form).status == 404
    assert (
        admin.post(f"/repositories/{name}/settings/description", {"description": "y"}).status == 403
    )
    assert "changed" not in json.dumps(server.cli("repo", "get", name))
