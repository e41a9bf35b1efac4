"""The audit log end to end: real `git` against the real server, read back with the CLI."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import Git, Server, SshIdentity, basic_auth, http_request

# SQL decides the outcome here (ordering, locking, concurrent writes).
pytestmark = pytest.mark.database

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


def test_failed_authentication_is_recorded_without_the_secret(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    """A 401 for credentials that identify no one, a bad SigV4 Git password and an SSH
    connection whose keys were all refused each leave one `authFailed` record; git's
    anonymous first request does not."""
    name = repo("authfail")
    user = f"wrongpw-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user, "--password-stdin", input=PASSWORD + "\n")
    wrong = "not-the-password-" + uuid.uuid4().hex
    failed = git("ls-remote", server.url(name, user, wrong), check=False)
    assert failed.returncode != 0

    status, _, _ = http_request_without_auth(server, name)
    assert status == 401

    key_id = server.cli("access-key", "create", user)["AccessKeyId"]
    bad_signature = "20240101T000000Z" + "0" * 64
    status, _, _ = http_request(
        server,
        "GET",
        f"/v1/repos/{name}/info/refs?service=git-upload-pack",
        headers={"Authorization": basic_auth(key_id, bad_signature)},
    )
    assert status == 401

    stranger = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
    argv = [*stranger.argv(), "-p", str(server.ssh_port), f"{user}@127.0.0.1"]
    refused = subprocess.run(
        [*argv, f"git-upload-pack '/v1/repos/{name}'"], capture_output=True, timeout=60
    )
    assert refused.returncode == 255
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(stranger.public_key)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]

    records = _wait_for_count(server, 2, "--action", "Authenticate", "--user", user)
    by_method = {(r["transport"], r["method"], r["errorCode"]): r for r in records}
    basic = by_method[("http", "basic", "AuthenticationFailed")]
    assert basic["decision"] == "authFailed" and basic["userArn"] == ""
    assert basic["resource"] == _arn(name) and basic["service"] == "git-upload-pack"
    assert basic["sourceIPAddress"] == "127.0.0.1" and basic["userAgent"].startswith("git/")
    assert basic["requestId"]
    ssh_record = by_method[("ssh", "ssh-key", "AuthenticationFailed")]
    assert ssh_record["refusedKeys"] == [fingerprint]
    assert ssh_record["userAgent"].startswith("SSH-2.0-OpenSSH")
    assert len(records) == 2, records

    sigv4 = _wait_for_count(server, 1, "--action", "Authenticate", "--user", key_id)
    assert [r["errorCode"] for r in sigv4] == ["SignatureDoesNotMatch"]
    # git's anonymous first request and ours left nothing: every failure on this
    # repository names who it claimed to be.
    on_repo = [r for r in _audit(server, "--action", "Authenticate") if r["resource"] == _arn(name)]
    assert sorted(r["userName"] for r in on_repo) == sorted([user, key_id])

    everything = json.dumps(_audit(server))
    table = server.cli("audit", "list", "--limit", "1000", check=False).stdout
    for secret in (wrong, bad_signature, PASSWORD):
        assert secret not in everything and secret not in table


def http_request_without_auth(server: Server, name: str) -> tuple[int, dict[str, str], bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("GET", f"/v1/repos/{name}/info/refs?service=git-upload-pack")
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _wait_for_count(server: Server, count: int, *args: str) -> list[dict[str, Any]]:
    """The records once there are `count` (the log is written every second)."""
    deadline = time.monotonic() + 20
    while True:
        found = _audit(server, *args)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)
