"""Tags end to end: user tags become `aws:PrincipalTag/*`, repository tags
`aws:ResourceTag/*`, for real `git` over HTTP and SSH (front end and pre-receive)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Git, Server, SshIdentity

# SQL decides the outcome here (ordering, locking, concurrent writes).
pytestmark = pytest.mark.database

ACCOUNT = "000000000000"
REGION = "us-east-1"
PASSWORD = "tags-test-password"


def _user(server: Server, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    return name


def _put_policy(server: Server, tmp_path: Path, user: str, *statements: object) -> None:
    path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    server.cli("policy", "put-user-policy", user, "Tagged", "--document", str(path))


def _url(server: Server, transport: str, name: str, user: str, git: Git, tmp_path: Path) -> str:
    if transport == "http":
        return server.url(name, user, PASSWORD)
    identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
    identity.register(server, user)
    git.env.update(identity.git_env())
    return server.ssh_url(name, user)


def _seed(server: Server, git: Git, tmp_path: Path, name: str) -> Path:
    work = git.init(tmp_path / f"seed-{name}")
    git.commit(work, "README.md", "hello\n")
    git("push", server.url(name), "main", cwd=work)
    return work


def test_tag_commands_follow_the_rules_and_change_nothing_when_refused(
    server: Server, repo: Callable[..., str]
) -> None:
    user = _user(server, "tagged")
    tagged = server.cli("user", "tag", user, "team=red", "Env=prod")
    assert tagged["Tags"] == [{"Key": "Env", "Value": "prod"}, {"Key": "team", "Value": "red"}]
    # IAM user tag keys are case-insensitive: Team replaces team.
    server.cli("user", "tag", user, "Team=blue")
    too_many = [f"k{i}=v" for i in range(49)]
    for bad in (["aws:team=x"], ["bad!key=x"], ["novalue"], too_many, [f"{'k' * 129}=v"]):
        refused = server.cli("user", "tag", user, *bad, check=False)
        assert refused.returncode == 1 and refused.stdout == ""
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    shown = server.cli("user", "get", user)
    assert shown["Tags"] == [{"Key": "Env", "Value": "prod"}, {"Key": "Team", "Value": "blue"}]
    assert shown["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}"
    server.cli("user", "untag", user, "ENV", "absent")
    listed = {u["UserName"]: u for u in server.cli("user", "list")["users"]}
    assert listed[user]["Tags"] == [{"Key": "Team", "Value": "blue"}]

    name = repo("tags")
    server.cli("repo", "tag", name, "frozen=true", "Team=a")
    server.cli("repo", "tag", name, "team=b")  # CodeCommit keys are case-sensitive
    refused = server.cli("repo", "tag", name, "aws:x=1", check=False)
    assert refused.returncode == 1 and "aws:" in refused.stderr
    refused = server.cli("repo", "tag", name, *[f"k{i}=" for i in range(48)], check=False)
    assert refused.returncode == 1 and "at most 50" in refused.stderr
    assert server.cli("repo", "get", name)["tags"] == {"frozen": "true", "Team": "a", "team": "b"}
    server.cli("repo", "untag", name, "Team", "team")
    assert server.cli("repo", "get", name)["tags"] == {"frozen": "true"}
    missing = server.cli("repo", "tag", f"nope-{uuid.uuid4().hex[:6]}", "a=b", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_principal_tags_decide_pushes(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, transport: str
) -> None:
    """A team may push to its own `<team>-*` repositories, and only where the repository's
    `team` tag is the user's: a Resource with `${aws:PrincipalTag/team}` and a condition
    comparing `aws:ResourceTag/team` with it."""
    red = repo("red")
    red_untagged = repo("red")
    for name in (red, red_untagged):
        _seed(server, git, tmp_path, name)
    server.cli("repo", "tag", red, "team=red")
    user = _user(server, "teammate")
    server.cli("policy", "attach-user-policy", user, "GitServerReadOnly")
    _put_policy(
        server,
        tmp_path,
        user,
        {
            "Effect": "Allow",
            "Action": "codecommit:GitPush",
            "Resource": f"arn:aws:codecommit:{REGION}:{ACCOUNT}:${{aws:PrincipalTag/team}}-*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        },
    )
    url = _url(server, transport, red, user, git, tmp_path)
    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    git.commit(clone, "change.txt")
    untagged_user = git("push", "origin", "main", cwd=clone, check=False)
    assert untagged_user.returncode != 0 and "codecommit:GitPush" in untagged_user.stderr

    server.cli("user", "tag", user, "team=red")  # the next request sees it
    git("push", "origin", "main", cwd=clone)
    other = url.replace(red, red_untagged)
    refused = git("push", other, "HEAD:refs/heads/x", cwd=clone, check=False)
    assert refused.returncode != 0 and "codecommit:GitPush" in refused.stderr

    server.cli("user", "tag", user, "team=blue")
    git.commit(clone, "more.txt")
    refused = git("push", "origin", "main", cwd=clone, check=False)
    assert refused.returncode != 0 and "codecommit:GitPush" in refused.stderr


def test_deny_on_a_frozen_repository_blocks_pushes_not_clones(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, transport: str
) -> None:
    name = repo("frozen")
    _seed(server, git, tmp_path, name)
    user = _user(server, "freezer")
    server.cli("policy", "attach-user-policy", user, "GitServerPowerUser")
    _put_policy(
        server,
        tmp_path,
        user,
        {
            "Sid": "Frozen",
            "Effect": "Deny",
            "Action": "codecommit:GitPush",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/frozen": "true"}},
        },
    )
    url = _url(server, transport, name, user, git, tmp_path)
    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    git.commit(clone, "one.txt")
    git("push", "origin", "main", cwd=clone)

    server.cli("repo", "tag", name, "frozen=true")
    git.commit(clone, "two.txt")
    refused = git("push", "origin", "main", cwd=clone, check=False)
    assert refused.returncode != 0 and "with an explicit deny" in refused.stderr
    git("fetch", "-q", "origin", cwd=clone)  # reading is not frozen

    server.cli("repo", "untag", name, "frozen")
    git("push", "origin", "main", cwd=clone)
