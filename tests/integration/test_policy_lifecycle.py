"""Customer-managed policies over their life: versions, the default, deletion; and that a
change reaches a user's next request, also on an SSH connection that is already open."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Git, Server, SshIdentity

# SQL decides the outcome here (ordering, locking, concurrent writes).
pytestmark = pytest.mark.database

PASSWORD = "lifecycle-test-password"
PUSH_AND_PULL = {
    "Effect": "Allow",
    "Action": ["codecommit:GitPull", "codecommit:GitPush"],
    "Resource": "*",
}
PULL_ONLY = {"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": "*"}


def _document(tmp_path: Path, statement: dict[str, object]) -> str:
    path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return str(path)


def _refused(server: Server, *args: str) -> str:
    result = server.cli(*args, check=False)
    assert result.returncode == 1 and result.stdout == "", result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _versions(server: Server, name: str) -> list[tuple[str, bool]]:
    listed = server.cli("policy", "list-versions", name)["Versions"]
    return [(v["VersionId"], v["IsDefaultVersion"]) for v in listed]


def test_versions_default_and_delete(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("lifecycle")
    user = f"versioned-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user, "--password-stdin", input=PASSWORD + "\n")
    policy = f"Lifecycle-{user}"
    server.cli("policy", "create", policy, "--document", _document(tmp_path, PUSH_AND_PULL))
    server.cli("policy", "attach-user-policy", user, policy)
    server.cli("policy", "create-version", policy, "--document", _document(tmp_path, PULL_ONLY))
    assert _versions(server, policy) == [("v1", True), ("v2", False)]

    work = git.init(tmp_path / "work")
    git.commit(work)
    url = server.url(name, user, PASSWORD)
    git("push", url, "main", cwd=work)  # v1 is in force

    server.cli("policy", "set-default-version", policy, "v2")
    assert _versions(server, policy) == [("v1", False), ("v2", True)]
    git.commit(work)
    refused = git("push", url, "main", cwd=work, check=False)
    assert refused.returncode != 0 and "codecommit:GitPush" in refused.stderr
    git("ls-remote", url)  # v2 still allows reading

    assert "default version" in _refused(server, "policy", "delete-version", policy, "v2")
    assert "no version v7" in _refused(server, "policy", "set-default-version", policy, "7")
    assert "invalid policy version" in _refused(
        server, "policy", "delete-version", policy, "latest"
    )
    assert "attached to 1 user(s)" in _refused(server, "policy", "delete", policy)
    assert "managed by the server" in _refused(server, "policy", "delete", "GitServerReadOnly")
    assert "managed by the server" in _refused(
        server, "policy", "set-default-version", "GitServerReadOnly", "v1"
    )
    assert server.cli("policy", "list-versions", "GitServerReadOnly")["Versions"][0][
        "IsDefaultVersion"
    ]
    assert _versions(server, policy) == [("v1", False), ("v2", True)]  # nothing changed

    server.cli("policy", "delete-version", policy, "1")
    assert _versions(server, policy) == [("v2", True)]
    server.cli("policy", "detach-user-policy", user, policy)
    server.cli("policy", "delete", policy)
    managed = {p["PolicyName"] for p in server.cli("policy", "list-managed")["policies"]}
    assert policy not in managed
    assert "does not exist" in _refused(server, "policy", "delete", policy)
    assert "does not exist" in _refused(server, "policy", "attach-user-policy", user, policy)
    denied = git("ls-remote", url, check=False)
    assert denied.returncode != 0 and "codecommit:GitPull" in denied.stderr


def test_policy_change_reaches_an_open_ssh_connection(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    """Channels multiplexed over one SSH login (ControlMaster) are decided on the policies
    in force when each starts, not on those read at login."""
    name = repo("multiplexed")
    work = git.init(tmp_path / "work")
    git.commit(work)
    git("push", server.url(name), "main", cwd=work)
    user = f"muxed-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user)
    server.cli("policy", "attach-user-policy", user, "GitServerReadOnly")
    identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
    identity.register(server, user)
    control = tmp_path / "ctl"  # short: unix socket paths are limited
    shared = [
        "-o", "ControlMaster=auto", "-o", f"ControlPath={control}", "-o", "ControlPersist=60",
    ]  # fmt: skip
    env = {"GIT_SSH_COMMAND": " ".join([*identity.argv(), *shared])}
    url = server.ssh_url(name, user)
    try:
        git("ls-remote", url, env=env)
        check = [*identity.argv(), *shared, "-p", str(server.ssh_port), "-O", "check"]
        master = subprocess.run([*check, f"{user}@127.0.0.1"], capture_output=True, timeout=30)
        assert master.returncode == 0, master.stderr  # the next command reuses this login

        server.cli("policy", "detach-user-policy", user, "GitServerReadOnly")
        denied = git("ls-remote", url, env=env, check=False)
        assert denied.returncode != 0 and "codecommit:GitPull" in denied.stderr
        master = subprocess.run([*check, f"{user}@127.0.0.1"], capture_output=True, timeout=30)
        assert master.returncode == 0, master.stderr  # still the same connection
    finally:
        stop = [*identity.argv(), *shared, "-p", str(server.ssh_port), "-O", "exit"]
        subprocess.run([*stop, f"{user}@127.0.0.1"], capture_output=True, timeout=30)
