"""The `gitserver` command line: --json output, exit codes, one-line errors."""

from __future__ import annotations

import stat
from collections.abc import Callable

import pytest

from tests.support import Server


def test_user_group_lifecycle(server: Server, repo: Callable[..., str]) -> None:
    user = server.cli("user", "create", "cli-frank", input="frank-password\n")
    assert user["UserName"] == "cli-frank" and user["Arn"].endswith(":user/cli-frank")
    server.cli("user", "create", "cli-frank-pw", "--password-stdin", input="long-enough-pw\n")
    server.cli("group", "create", "cli-devs")
    server.cli("group", "add-user", "cli-devs", "cli-frank")
    users = {u["UserName"]: u for u in server.cli("user", "list")["users"]}
    assert users["cli-frank"]["Groups"] == ["cli-devs"] and users["admin"]["Admin"] is True
    groups = {g["GroupName"]: g["Users"] for g in server.cli("group", "list")["groups"]}
    assert groups["cli-devs"] == ["cli-frank"]
    server.cli("group", "remove-user", "cli-devs", "cli-frank")
    server.cli("user", "delete", "cli-frank")
    assert "cli-frank" not in {u["UserName"] for u in server.cli("user", "list")["users"]}


def test_errors_are_one_line_with_nonzero_exit(server: Server) -> None:
    for args in (
        ["user", "delete", "nobody-here"],
        ["repo", "create", "bad/name"],
        ["repo", "create", "x.git"],
        ["credential", "create", "nobody-here"],
    ):
        result = server.cli(*args, check=False)
        assert result.returncode != 0
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gitserver: error:"), result.stderr


@pytest.mark.database
def test_duplicate_repository_is_refused(server: Server, repo: Callable[..., str]) -> None:
    name = repo()
    result = server.cli("repo", "create", name, check=False)
    assert result.returncode == 1 and "already exists" in result.stderr


def test_repo_create_output_matches_the_contract(server: Server) -> None:
    data = server.cli("repo", "create", "contract-shape", "--description", "demo repo")
    assert set(data) >= {
        "repositoryName",
        "repositoryId",
        "Arn",
        "cloneUrlHttp",
        "cloneUrlSsh",
        "path",
    }
    assert data["Arn"] == "arn:aws:codecommit:us-east-1:000000000000:contract-shape"
    assert data["cloneUrlHttp"] == f"{server.base_url}/v1/repos/contract-shape"
    assert data["path"].endswith(f"/repos/{data['repositoryId']}.git")
    listed = {r["repositoryName"]: r for r in server.cli("repo", "list")["repositories"]}
    assert listed["contract-shape"]["repositoryDescription"] == "demo repo"
    assert "defaultBranch" not in listed["contract-shape"]


def test_credential_and_access_key_management(server: Server) -> None:
    server.cli("user", "create", "cli-gina")
    cred = server.cli("credential", "create", "cli-gina")
    assert cred["username"] == "cli-gina-at-000000000000"
    listed = server.cli("credential", "list", "cli-gina")["credentials"]
    assert [c["Status"] for c in listed] == ["Active"]
    assert "password" not in listed[0]
    server.cli("credential", "deactivate", cred["ServiceSpecificCredentialId"])
    assert server.cli("credential", "list", "cli-gina")["credentials"][0]["Status"] == "Inactive"
    key = server.cli("access-key", "create", "cli-gina")
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    keys = server.cli("access-key", "list", "cli-gina")["AccessKeyMetadata"]
    assert keys[0]["AccessKeyId"] == key["AccessKeyId"] and "SecretAccessKey" not in keys[0]
    server.cli("access-key", "delete", key["AccessKeyId"])
    assert server.cli("access-key", "list", "cli-gina")["AccessKeyMetadata"] == []


@pytest.mark.database
def test_first_start_creates_admin_once(make_server: Callable[..., Server]) -> None:
    instance = make_server()
    assert instance.admin_password
    secret = instance.data / "initial-admin-password"
    assert secret.read_text().strip() == instance.admin_password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    instance.admin_password = ""
    instance.restart()
    assert instance.admin_password == ""  # not printed again
    users = instance.cli("user", "list")["users"]
    assert [u["UserName"] for u in users] == ["admin"]
