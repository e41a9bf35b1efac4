"""The audit log end to end: real `git` against the real server, read back with the CLI."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import Git, Server

ACCOUNT = "000000000000"
PASSWORD = "audit-test-password-7f3k"


def _arn(repo: str) -> str:
    return f"arn:aws:codecommit:us-east-1:{ACCOUNT}:{repo}"


def _audit(server: Server, *args: str) -> list[dict[str, Any]]:
    return list(server.cli("audit", "list", "--limit", "1000", *args)["events"])


def _wait_for(
    server: Server, predicate: Callable[[dict[str, Any]], bool], *args: str
) -> list[dict[str, Any]]:
    """The records matching `predicate` once there are any (the log is written every second)."""
    deadline = time.monotonic() + 20
    while True:
        found = [record for record in _audit(server, *args) if predicate(record)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_push_and_denied_clone_are_recorded_without_secrets(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("audit")
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "hello\n")
    git("push", server.url(name), "main", cwd=work)

    pushes = _wait_for(
        server,
        lambda r: r["resource"] == _arn(name) and r["action"] == "codecommit:GitPush",
        "--user",
        "admin",
    )
    assert pushes, "the admin's push was not recorded"
    for record in pushes:
        assert record["decision"] == "allowed"
        assert record["errorCode"] is None
        assert record["transport"] == "http"
        assert record["sourceIPAddress"] == "127.0.0.1"
        assert record["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
        assert record["userAgent"].startswith("git/")
        assert record["requestId"]
    # The per-ref check carries the ref it decided.
    assert any(r.get("references") == ["refs/heads/main"] for r in pushes)

    user = f"auditee-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user, "--password-stdin", input=PASSWORD + "\n")
    denied = git("clone", "-q", server.url(name, user, PASSWORD), str(tmp_path / "c"), check=False)
    assert denied.returncode != 0

    records = _wait_for(server, lambda r: r["resource"] == _arn(name), "--user", user)
    assert records, "the denied clone was not recorded"
    assert {r["userName"] for r in records} == {user}
    record = records[0]
    assert record["action"] == "codecommit:GitPull"
    assert record["decision"] == "implicitDeny"
    assert record["errorCode"] == "AccessDeniedException"
    assert record["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}"
    assert record["transport"] == "http"
    assert record["sourceIPAddress"] == "127.0.0.1"

    # --action filters (the short name and the full one); allowed reads are not kept.
    pulls = _audit(server, "--action", "GitPull")
    assert pulls and {r["action"] for r in pulls} == {"codecommit:GitPull"}
    assert all(r["decision"] != "allowed" for r in pulls)
    assert any(r["userName"] == user for r in pulls)
    assert {r["action"] for r in _audit(server, "--action", "codecommit:GitPush")} == {
        "codecommit:GitPush"
    }
    assert _audit(server, "--since", "2999-01-01T00:00:00Z") == []
    assert len(_audit(server, "--limit", "1")) == 1

    # Nothing secret anywhere: not the passwords used, in JSON or in the table.
    everything = json.dumps(_audit(server))
    table = server.cli("audit", "list", "--limit", "1000", check=False)
    for secret in (PASSWORD, server.admin_password):
        assert secret not in everything
        assert secret not in table.stdout


def test_audit_list_refuses_a_malformed_since(server: Server) -> None:
    result = server.cli("audit", "list", "--since", "yesterday", check=False)
    assert result.returncode != 0
    assert "ISO 8601" in result.stderr
