"""Push protection with real git (HTTP and SSH) and boto3: secret scanning, its audited
bypass, protected branches, the file size limit, and the same rules on API writes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import codecommit, error_code
from tests.support import Git, Remote, Server, run_sql
from tests.web_support import signed_in

# Made up for this test, shaped like a real key id (AWS's documented example is skipped).
AWS_KEY = "AKIAZ7Q3VJX4N2LKP5RT"
ARN = "arn:aws:codecommit:us-east-1:000000000000:{}"


@pytest.fixture(scope="module")
def cc(server: Server) -> BaseClient:
    user = f"protect-{uuid.uuid4().hex[:6]}"  # new: two CLI starts, no listing first
    server.cli("user", "create", user, "--admin")
    return codecommit(server, server.cli("access-key", "create", user))


def _bare(server: Server, name: str) -> tuple[str, Path]:
    """The repository's id and bare directory (read from SQL: no CLI start per check)."""
    (row,) = run_sql(server, "SELECT id FROM repositories WHERE name = :n", params={"n": name})
    return row[0], server.data / "repos" / f"{row[0]}.git"


def _events(server: Server, repository_id: str) -> list[Any]:
    query = "SELECT seq FROM events WHERE repository_id = :r"
    return run_sql(server, query, params={"r": repository_id})


def _exists(git: Git, bare: Path, oid: str) -> bool:
    return git("cat-file", "-e", oid, env={"GIT_DIR": str(bare)}, check=False).returncode == 0


def _allow_bypass(server: Server, tmp_path: Path, name: str) -> None:
    """Allow admin gitserver:BypassPushProtection on `name` only (no other repository)."""
    statement = {
        "Effect": "Allow",
        "Action": "gitserver:BypassPushProtection",
        "Resource": ARN.format(name),
    }
    document = tmp_path / "bypass.json"
    document.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    server.cli("policy", "put-user-policy", "admin", f"Bypass-{name}", "--document", str(document))


def _bypasses(server: Server, name: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    action = ("--action", "gitserver:BypassPushProtection")
    while True:
        records = server.cli("audit", "list", *action, "--limit", "100")["events"]
        found = [r for r in records if r["resource"] == ARN.format(name)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_secret_in_an_added_line_refuses_the_whole_push(
    remote: Remote, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("secret")
    url = remote.url(name)
    work = git.init(tmp_path / "work")
    base = git.commit(work, "README.md", "hello\n")
    git("push", "-q", url, "main", cwd=work)
    repository_id, bare = _bare(server, name)
    before = _events(server, repository_id)
    secret = git.commit(work, "conf/settings.py", f"# settings\nregion = 'eu'\nkey = '{AWS_KEY}'\n")
    git.commit(work, "other.txt", "fine\n")

    refused = git(
        "push", url, "main", "-o", "secret_push_protection.skip_all", cwd=work, check=False
    )
    assert refused.returncode != 0
    assert f"aws_access_key_id in conf/settings.py line 3 (commit {secret[:12]})" in refused.stderr
    assert "remote: gitserver: push refused by push protection" in refused.stderr
    assert "git push -o secret_push_protection.skip_all" in refused.stderr
    assert AWS_KEY not in refused.stderr and "AKIA********" in refused.stderr
    # No ref moved, no object stayed, no event: the admin lacks the bypass permission,
    # so the push option changed nothing.
    assert git("ls-remote", url, "main", cwd=work).stdout.split()[0] == base
    assert not _exists(git, bare, secret)
    # The first push's commit, tree and blob; the refused objects left with the quarantine.
    assert "in-pack: 3\n" in git("count-objects", "-v", env={"GIT_DIR": str(bare)}).stdout
    assert not list((bare / "objects").glob("tmp_objdir-*"))
    assert _events(server, repository_id) == before
    git("fsck", "--no-dangling", env={"GIT_DIR": str(bare)})


def test_bypass_is_audited_and_history_is_not_scanned_again(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("bypass")
    _allow_bypass(server, tmp_path, name)
    url = server.url(name)
    work = git.init(tmp_path / "work")
    git.commit(work, "deploy/key.pem", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n")
    refused = git("push", url, "main", cwd=work, check=False)
    assert refused.returncode != 0
    assert "private_key in deploy/key.pem line 1" in refused.stderr

    git("push", "-q", "-o", "secret_push_protection.skip_all", url, "main", cwd=work)
    # Already in history: a later push that adds nothing secret goes through.
    binary = b"\x00\x01PNG" + f"token={AWS_KEY}".encode() + b"\x00" * 16
    (work / "logo.png").write_bytes(binary)  # binary files are not scanned
    git("add", "logo.png", cwd=work)
    git("commit", "-q", "-m", "logo", cwd=work)
    tip = git.commit(work, "notes.txt", "more\n")
    git("push", "-q", url, "main", cwd=work)
    assert git("ls-remote", url, "main", cwd=work).stdout.split()[0] == tip

    records = _bypasses(server, name)
    assert records and records[0]["decision"] == "allowed"
    findings = records[0]["pushProtectionFindings"]
    assert any(f.startswith("private_key in deploy/key.pem:1") for f in findings)


def test_protected_branches_on_pushes_api_writes_and_merges(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path
) -> None:
    name = f"protect-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    url = server.url(name)
    work = git.init(tmp_path / "work")
    base = git.commit(work, "README.md", "hello\n")
    git("push", "-q", url, "main", "main:release/1", "main:feature", cwd=work)
    server.cli("repo", "protect", name, "release/*", "--no-force-push", "--no-deletion")
    server.cli("repo", "protect", name, "main", "--require-pull-request")

    git("checkout", "-q", "-b", "rewrite", cwd=work)
    git("commit", "-q", "--amend", "-m", "rewritten", cwd=work)
    forced = git("push", url, "+rewrite:release/1", cwd=work, check=False)
    assert "refs/heads/release/1: force-pushing to this branch is not allowed" in forced.stderr
    deleted = git("push", url, ":release/1", cwd=work, check=False)
    assert "deleting this branch is not allowed" in deleted.stderr
    git("push", "-q", url, "+rewrite:feature", cwd=work)  # unprotected: allowed
    git("push", "-q", url, ":feature", cwd=work)
    heads = git("ls-remote", "--heads", url, cwd=work).stdout
    assert f"{base}\trefs/heads/release/1" in heads and "refs/heads/feature" not in heads

    git("checkout", "-q", "main", cwd=work)
    ahead = git.commit(work, "change.txt", "direct\n")
    direct = git("push", url, "main", cwd=work, check=False)
    assert "this branch changes only by merging a pull request" in direct.stderr
    with pytest.raises(ClientError) as put:
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=b"x",
            filePath="x.txt",
            parentCommitId=base,
        )
    assert error_code(put.value) == "BranchProtectedException"
    with pytest.raises(ClientError) as removed:
        cc.delete_branch(repositoryName=name, branchName="release/1")
    assert "deleting this branch is not allowed" in str(removed.value)

    git("push", "-q", url, "main:topic", cwd=work)
    target = {"repositoryName": name, "sourceReference": "topic", "destinationReference": "main"}
    pr = cc.create_pull_request(title="change", targets=[target])["pullRequest"]
    cc.merge_pull_request_by_fast_forward(pullRequestId=pr["pullRequestId"], repositoryName=name)
    assert git("ls-remote", url, "main", cwd=work).stdout.split()[0] == ahead


def test_file_size_limit_and_secrets_in_api_writes(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path
) -> None:
    name = f"limits-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    url = server.url(name)
    rules = server.cli("repo", "push-rules", name, "--max-file-size", "1k")
    assert rules["maxFileSize"] == 1024 and rules["secretScanningEffective"] is True
    work = git.init(tmp_path / "work")
    git.commit(work, "small.txt", "small\n")
    git.commit(work, "data/big.bin", "x" * 2000)
    refused = git("push", url, "main", cwd=work, check=False)
    assert "data/big.bin: 2000 bytes is over this repository's limit of 1024 bytes" in (
        refused.stderr
    )
    assert git("ls-remote", url, cwd=work).stdout == ""

    commit = cc.put_file(
        repositoryName=name, branchName="main", fileContent=b"ok\n", filePath="a.txt"
    )["commitId"]
    content = f"[default]\naws_access_key_id = {AWS_KEY}\n".encode()
    with pytest.raises(ClientError) as put:
        cc.put_file(
            repositoryName=name,
            branchName="main",
            fileContent=content,
            filePath="creds.ini",
            parentCommitId=commit,
        )
    assert error_code(put.value) == "SecretsDetectedException"
    assert "aws_access_key_id in creds.ini line 2" in str(put.value)
    assert AWS_KEY not in str(put.value)

    server.cli("repo", "push-rules", name, "--secret-scanning", "off")
    cc.put_file(
        repositoryName=name,
        branchName="main",
        fileContent=content,
        filePath="creds.ini",
        parentCommitId=commit,
    )


def test_settings_page_changes_the_rules_the_cli_reads(
    server: Server, repo: Callable[..., str]
) -> None:
    name = repo("webrules")
    admin = signed_in(server, "admin", server.admin_password)
    form = f"/repositories/{name}/settings/protected-branches"
    fields = {"csrf": admin.csrf(), "pattern": "release/*", "no_deletion": "on"}
    assert admin.post(form, fields).status == 303
    refused = admin.post(form, {"csrf": admin.csrf(), "pattern": "-x", "no_deletion": "on"})
    assert refused.status == 400 and "Not saved: The branch pattern is not valid" in refused.body
    rules = {"csrf": admin.csrf(), "secret_scanning": "off", "max_file_size": "2048"}
    assert admin.post(f"/repositories/{name}/settings/push-rules", rules).status == 303
    assert (
        admin.post(form, {"csrf": "forged", "pattern": "main", "no_deletion": "on"}).status == 403
    )

    shown = server.cli("repo", "protections", name)["protectedBranches"]
    assert shown == [
        {
            "pattern": "release/*",
            "noForcePush": False,
            "noDeletion": True,
            "requirePullRequest": False,
            "requireStatusChecks": False,
        }
    ]
    page = admin.get(f"/repositories/{name}/settings").body
    assert 'aria-label="Unprotect release/*"' in page
    assert "Secret scanning: <strong>off</strong>." in page
    assert "Maximum file size: <strong>2048 bytes</strong>" in page
