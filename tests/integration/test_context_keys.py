"""Every condition key of issue 4 item 4 reaches the authorizer from each door: the HTTP
and SSH front ends and the pre-receive hook.

One Allow needs all of them at once, each with its true value (a missing key makes a
plain operator false, so the Allow would not match): a push that succeeds has passed
the repository-level check, the front end's per-ref check (HTTP) and pre-receive's
per-ref check with every key present. A Deny on `codecommit:References` shows that key
arriving where refs are known.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support import Git, Server, SshIdentity

ACCOUNT = "000000000000"
REGION = "us-east-1"
PASSWORD = "context-keys-password"


def test_every_context_key_reaches_every_check(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, transport: str
) -> None:
    name = repo("context")
    work = git.init(tmp_path / "seed")
    git.commit(work)
    git("push", server.url(name), "main", cwd=work)
    server.cli("repo", "tag", name, "team=red")
    user = f"context-{uuid.uuid4().hex[:6]}"
    user_id = server.cli("user", "create", user, "--password-stdin", input=PASSWORD + "\n")[
        "UserId"
    ]
    server.cli("user", "tag", user, "team=red")
    arn = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{name}"
    every_key = {
        "StringEquals": {
            "aws:username": user,
            "aws:userid": user_id,
            "aws:PrincipalTag/team": "red",
            "aws:ResourceTag/team": "red",
            "aws:RequestedRegion": REGION,
        },
        "IpAddress": {"aws:SourceIp": "127.0.0.1/32"},
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        "NumericGreaterThan": {"aws:EpochTime": "1577836800"},
        "Bool": {"aws:SecureTransport": "true" if transport == "ssh" else "false"},
    }
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EveryKey",
                "Effect": "Allow",
                "Action": ["codecommit:GitPull", "codecommit:GitPush"],
                "Resource": arn,
                "Condition": every_key,
            },
            {
                "Sid": "Blocked",
                "Effect": "Deny",
                "Action": "codecommit:GitPush",
                "Resource": arn,
                "Condition": {"StringLike": {"codecommit:References": "refs/heads/blocked/*"}},
            },
        ],
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    server.cli("policy", "put-user-policy", user, "EveryKey", "--document", str(path))

    url = server.url(name, user, PASSWORD)
    if transport == "ssh":
        identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
        identity.register(server, user)
        git.env.update(identity.git_env())
        url = server.ssh_url(name, user)
    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    git.commit(clone, "change.txt")
    git("push", "origin", "main", cwd=clone)
    blocked = git("push", "origin", "HEAD:refs/heads/blocked/x", cwd=clone, check=False)
    assert blocked.returncode != 0 and "with an explicit deny" in blocked.stderr

    # The control: one key's value no longer matches and the same push is refused.
    server.cli("user", "tag", user, "team=blue")
    git.commit(clone, "again.txt")
    refused = git("push", "origin", "main", cwd=clone, check=False)
    assert refused.returncode != 0 and "codecommit:GitPush" in refused.stderr
