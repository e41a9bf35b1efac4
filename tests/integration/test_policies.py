"""IAM-style policies end to end: the CLI stores them, real `git` over HTTP meets them.

Each test makes its own users and repositories on the shared server; pushes and clones
go through the real front ends and the pre-receive hook. The read-only test runs over
HTTP and SSH; the others over HTTP (both front ends share the engine's checks).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support import Git, Server, SshIdentity

ACCOUNT = "000000000000"
REGION = "us-east-1"
PASSWORD = "policy-test-password"


def _arn(repo: str) -> str:
    return f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{repo}"


def _user(server: Server, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    return name


def _document(tmp_path: Path, *statements: dict[str, object]) -> str:
    path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    return str(path)


def _seeded(server: Server, git: Git, tmp_path: Path, name: str) -> Path:
    """A repository with `main` pushed by admin; returns the admin's working copy."""
    work = git.init(tmp_path / f"seed-{name}")
    git.commit(work, "README.md", "hello\n")
    git("push", server.url(name), "main", cwd=work)
    return work


def _clone_as(server: Server, git: Git, tmp_path: Path, name: str, user: str) -> Path:
    clone = tmp_path / f"clone-{user}-{name}"
    git("clone", "-q", server.url(name, user, PASSWORD), str(clone))
    return clone


def test_read_only_user_clones_but_cannot_push(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, transport: str
) -> None:
    name = repo()
    _seeded(server, git, tmp_path, name)
    reader = _user(server, "reader")
    url = server.url(name, reader, PASSWORD)
    if transport == "ssh":
        identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
        identity.register(server, reader)
        git.env.update(identity.git_env())
        url = server.ssh_url(name, reader)
    denied = git("ls-remote", url, check=False)
    assert denied.returncode != 0  # no policy yet: implicit deny
    assert "because no identity-based policy allows the codecommit:GitPull" in denied.stderr
    server.cli("policy", "attach-user-policy", reader, "GitServerReadOnly")

    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    git.commit(clone, "new.txt")
    pushed = git("push", "origin", "main", cwd=clone, check=False)
    assert pushed.returncode != 0
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/{reader} is not authorized to perform: "
        f"codecommit:GitPush on resource: {_arn(name)}"
    ) in pushed.stderr


def test_branch_protection_pattern_blocks_main_and_allows_features(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    """AWS CodeCommit UG "Limit pushes and merges to branches in AWS CodeCommit"."""
    name = repo()
    seed = _seeded(server, git, tmp_path, name)
    main_before = git.rev_parse(seed, "main")
    dev = _user(server, "dev")
    server.cli("policy", "attach-user-policy", dev, "GitServerPowerUser")
    deny_main = {
        "Effect": "Deny",
        "Action": [
            "codecommit:GitPush",
            "codecommit:DeleteBranch",
            "codecommit:PutFile",
            "codecommit:Merge*",
        ],
        "Resource": _arn(name),
        "Condition": {
            "StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]},
            "Null": {"codecommit:References": "false"},
        },
    }
    server.cli(
        "policy",
        "put-user-policy",
        dev,
        "ProtectMain",
        "--document",
        _document(tmp_path, deny_main),
    )

    clone = _clone_as(server, git, tmp_path, name, dev)
    git.commit(clone, "change.txt")
    to_main = git("push", "origin", "main", cwd=clone, check=False)
    assert to_main.returncode != 0
    assert "with an explicit deny" in to_main.stderr
    deleted = git("push", "origin", ":main", cwd=clone, check=False)
    assert deleted.returncode != 0 and "explicit deny" in deleted.stderr
    git("push", "origin", "HEAD:refs/heads/feature/x", cwd=clone)

    refs = git("ls-remote", server.url(name), cwd=clone).stdout
    assert f"{main_before}\trefs/heads/main" in refs
    assert "refs/heads/feature/x" in refs

    simulated = server.cli(
        "policy", "simulate", "--user", dev, "--action", "codecommit:GitPush",
        "--resource", _arn(name), "--context", "codecommit:References=refs/heads/feature/x",
        "--context", "codecommit:References=refs/heads/main",
    )  # fmt: skip
    assert simulated == {
        "decision": "explicitDeny",
        "matchedStatements": ["ProtectMain/Statement[0]"],
    }
    without_refs = server.cli(
        "policy", "simulate", "--user", dev, "--action", "codecommit:GitPush",
        "--resource", _arn(name),
    )  # fmt: skip
    assert without_refs["decision"] == "allowed"  # the first, repository-level check


def test_group_deny_beats_user_allow(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo()
    _seeded(server, git, tmp_path, name)
    user = _user(server, "frozen")
    group = f"frozen-{uuid.uuid4().hex[:6]}"
    server.cli("group", "create", group)
    server.cli("group", "add-user", group, user)
    allow = {"Effect": "Allow", "Action": "codecommit:Git*", "Resource": "*"}
    deny = {"Sid": "Freeze", "Effect": "Deny", "Action": "codecommit:GitPush", "Resource": "*"}
    server.cli(
        "policy", "put-user-policy", user, "AllowGit", "--document", _document(tmp_path, allow)
    )
    server.cli(
        "policy", "put-group-policy", group, "Freeze", "--document", _document(tmp_path, deny)
    )

    clone = _clone_as(server, git, tmp_path, name, user)
    git.commit(clone, "x.txt")
    pushed = git("push", "origin", "main", cwd=clone, check=False)
    assert pushed.returncode != 0 and "with an explicit deny" in pushed.stderr

    listed = server.cli("policy", "list", "--group", group)["policies"]
    assert [(p["PolicyName"], p["Kind"]) for p in listed] == [("Freeze", "inline")]
    server.cli("policy", "delete-group-policy", group, "Freeze")
    git("push", "origin", "main", cwd=clone)  # takes effect without a restart


def test_username_variable_in_resource_arn(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    user = _user(server, "owner")
    own = user  # a repository named after the user
    server.cli("repo", "create", own)
    other = repo()
    _seeded(server, git, tmp_path, other)
    statement = {
        "Effect": "Allow",
        "Action": ["codecommit:GitPull", "codecommit:GitPush"],
        "Resource": f"arn:aws:codecommit:{REGION}:{ACCOUNT}:${{aws:username}}",
    }
    server.cli("policy", "create", f"OwnRepo-{user}", "--document", _document(tmp_path, statement))
    server.cli("policy", "attach-user-policy", user, f"OwnRepo-{user}")

    work = git.init(tmp_path / "own")
    git.commit(work)
    git("push", server.url(own, user, PASSWORD), "main", cwd=work)
    refused = git("push", server.url(other, user, PASSWORD), "main", cwd=work, check=False)
    assert refused.returncode != 0 and "codecommit:GitPush" in refused.stderr


def test_validate_and_refuse_invalid_documents(server: Server, tmp_path: Path) -> None:
    good = _document(tmp_path, {"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": "*"})
    assert server.cli("policy", "validate", "--document", good) == {"valid": True}
    bad = _document(tmp_path, {"Effect": "Permit", "Action": "codecommit:GitPull", "Resource": "*"})
    user = _user(server, "invalid")
    for args in (
        ["policy", "validate", "--document", bad],
        ["policy", "put-user-policy", user, "Bad", "--document", bad],
        ["policy", "create", f"Bad-{user}", "--document", bad],
    ):
        result = server.cli(*args, check=False)
        assert result.returncode == 1 and result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Statement[0].Effect" in lines[0], result.stderr
    assert server.cli("policy", "list", "--user", user)["policies"] == []

    name = f"Versioned-{user}"
    server.cli("policy", "create", name, "--document", good)
    version = server.cli("policy", "create-version", name, "--document", good, "--set-default")
    assert version["VersionId"] == "v2"
    managed = {p["PolicyName"]: p for p in server.cli("policy", "list-managed")["policies"]}
    assert {"GitServerFullAccess", "GitServerPowerUser", "GitServerReadOnly"} <= set(managed)
    assert managed[name]["DefaultVersionId"] == "v2" and managed[name]["Type"] == "customer"
