"""The CodeCommit API with real boto3: repositories and branches, errors as AWS names them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Server

# SQL decides the outcome here (ordering, locking, concurrent writes).
pytestmark = pytest.mark.database


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "api-admin", admin=True)


def _name(prefix: str = "api") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _push_commit(git: Git, server: Server, repo: str, tmp_path: Path, branch: str = "main") -> str:
    work = git.init(tmp_path / f"work-{uuid.uuid4().hex[:6]}", branch=branch)
    git.commit(work, "README.md", "hello\n", "first")
    git("push", server.url(repo), f"{branch}:{branch}", cwd=work)
    return git.rev_parse(work, "HEAD")


def test_create_get_list_delete_repository(cc: BaseClient, server: Server) -> None:
    name = _name()
    created = cc.create_repository(repositoryName=name, repositoryDescription="from boto3")
    meta = created["repositoryMetadata"]
    assert meta["repositoryName"] == name
    assert meta["Arn"] == f"arn:aws:codecommit:us-east-1:000000000000:{name}"
    assert meta["cloneUrlHttp"] == f"{server.base_url}/v1/repos/{name}"
    assert meta["accountId"] == "000000000000"
    assert "defaultBranch" not in meta
    assert created["ResponseMetadata"]["RequestId"]

    got = cc.get_repository(repositoryName=name)["repositoryMetadata"]
    assert got["repositoryId"] == meta["repositoryId"]
    assert got["repositoryDescription"] == "from boto3"
    assert got["creationDate"] == meta["creationDate"]

    listed = cc.list_repositories()["repositories"]
    assert {"repositoryName": name, "repositoryId": meta["repositoryId"]} in listed

    assert cc.delete_repository(repositoryName=name)["repositoryId"] == meta["repositoryId"]
    # Deleting again is not an error on AWS: repositoryId is simply absent.
    assert "repositoryId" not in cc.delete_repository(repositoryName=name)
    with pytest.raises(cc.exceptions.RepositoryDoesNotExistException):
        cc.get_repository(repositoryName=name)


def test_repository_errors_use_the_model_exception_names(cc: BaseClient) -> None:
    name = _name()
    cc.create_repository(repositoryName=name)
    with pytest.raises(cc.exceptions.RepositoryNameExistsException):
        cc.create_repository(repositoryName=name)
    with pytest.raises(cc.exceptions.InvalidRepositoryNameException):
        cc.create_repository(repositoryName="bad name!")
    with pytest.raises(cc.exceptions.InvalidRepositoryNameException):
        cc.create_repository(repositoryName="x" * 101)  # botocore does not check max
    with pytest.raises(cc.exceptions.InvalidRepositoryNameException):
        cc.create_repository(repositoryName="ends-in.git")
    with pytest.raises(cc.exceptions.InvalidRepositoryDescriptionException):
        cc.create_repository(repositoryName=_name(), repositoryDescription="d" * 1001)
    with pytest.raises(cc.exceptions.InvalidSortByException):
        cc.list_repositories(sortBy="size")
    with pytest.raises(cc.exceptions.InvalidOrderException):
        cc.list_repositories(order="sideways")
    with pytest.raises(cc.exceptions.InvalidContinuationTokenException):
        cc.list_repositories(nextToken="not-a-token")


def test_list_repositories_sorting(cc: BaseClient) -> None:
    names = sorted(_name("sort") for _ in range(3))
    for name in names:
        cc.create_repository(repositoryName=name)
    cc.update_repository_description(repositoryName=names[0], repositoryDescription="touched")
    listed = [r["repositoryName"] for r in cc.list_repositories(order="descending")["repositories"]]
    mine = [n for n in listed if n in names]
    assert mine == names[::-1]
    by_date = cc.list_repositories(sortBy="lastModifiedDate", order="descending")
    recent = [r["repositoryName"] for r in by_date["repositories"] if r["repositoryName"] in names]
    assert recent[0] == names[0]  # the description change made it the latest modified


def test_batch_get_rename_and_description(cc: BaseClient) -> None:
    a, b, missing = _name(), _name(), _name()
    cc.create_repository(repositoryName=a)
    cc.create_repository(repositoryName=b)
    batch = cc.batch_get_repositories(repositoryNames=[a, b, missing])
    assert sorted(r["repositoryName"] for r in batch["repositories"]) == sorted([a, b])
    assert batch["repositoriesNotFound"] == [missing]
    with pytest.raises(cc.exceptions.MaximumRepositoryNamesExceededException):
        cc.batch_get_repositories(repositoryNames=[_name() for _ in range(101)])

    renamed = _name()
    cc.update_repository_name(oldName=a, newName=renamed)
    meta = cc.get_repository(repositoryName=renamed)["repositoryMetadata"]
    assert meta["Arn"].endswith(f":{renamed}")
    with pytest.raises(cc.exceptions.RepositoryDoesNotExistException):
        cc.get_repository(repositoryName=a)
    with pytest.raises(cc.exceptions.RepositoryNameExistsException):
        cc.update_repository_name(oldName=renamed, newName=b)

    cc.update_repository_description(repositoryName=b, repositoryDescription="new words")
    assert cc.get_repository(repositoryName=b)["repositoryMetadata"]["repositoryDescription"] == (
        "new words"
    )


def test_branches_round_trip_with_git(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path
) -> None:
    name = _name()
    cc.create_repository(repositoryName=name)
    head = _push_commit(git, server, name, tmp_path)
    assert cc.get_repository(repositoryName=name)["repositoryMetadata"]["defaultBranch"] == "main"
    assert cc.get_branch(repositoryName=name, branchName="main")["branch"] == {
        "branchName": "main",
        "commitId": head,
    }

    cc.create_branch(repositoryName=name, branchName="feature/x", commitId=head)
    assert sorted(cc.list_branches(repositoryName=name)["branches"]) == ["feature/x", "main"]
    remote = git("ls-remote", server.url(name), cwd=tmp_path).stdout
    assert f"{head}\trefs/heads/feature/x" in remote

    cc.update_default_branch(repositoryName=name, defaultBranchName="feature/x")
    meta = cc.get_repository(repositoryName=name)["repositoryMetadata"]
    assert meta["defaultBranch"] == "feature/x"
    clone = tmp_path / "clone"
    git("clone", server.url(name), str(clone), cwd=tmp_path)
    assert git("symbolic-ref", "HEAD", cwd=clone).stdout.strip() == "refs/heads/feature/x"

    with pytest.raises(cc.exceptions.DefaultBranchCannotBeDeletedException):
        cc.delete_branch(repositoryName=name, branchName="feature/x")
    deleted = cc.delete_branch(repositoryName=name, branchName="main")["deletedBranch"]
    assert deleted == {"branchName": "main", "commitId": head}
    assert "deletedBranch" not in cc.delete_branch(repositoryName=name, branchName="main")

    types = [e["type"] for e in server.events(name)]
    assert types.count("referenceCreated") == 2 and types[-1] == "referenceDeleted"
    created = [e for e in server.events(name) if e["type"] == "referenceCreated"][-1]
    assert created["actor"] == "api-admin"
    assert created["detail"]["referenceFullName"] == "refs/heads/feature/x"
    assert created["detail"]["transport"] == "api"


def test_branch_errors(cc: BaseClient, server: Server, git: Git, tmp_path: Path) -> None:
    name = _name()
    cc.create_repository(repositoryName=name)
    head = _push_commit(git, server, name, tmp_path)
    with pytest.raises(cc.exceptions.BranchNameExistsException):
        cc.create_branch(repositoryName=name, branchName="main", commitId=head)
    with pytest.raises(cc.exceptions.InvalidBranchNameException):
        cc.create_branch(repositoryName=name, branchName="bad..name", commitId=head)
    with pytest.raises(cc.exceptions.InvalidCommitIdException):
        cc.create_branch(repositoryName=name, branchName="b", commitId="abc")
    with pytest.raises(cc.exceptions.CommitDoesNotExistException):
        cc.create_branch(repositoryName=name, branchName="b", commitId="1" * 40)
    with pytest.raises(cc.exceptions.BranchDoesNotExistException):
        cc.get_branch(repositoryName=name, branchName="nope")
    with pytest.raises(cc.exceptions.BranchDoesNotExistException):
        cc.update_default_branch(repositoryName=name, defaultBranchName="nope")
    with pytest.raises(cc.exceptions.RepositoryDoesNotExistException):
        cc.list_branches(repositoryName=_name())
    assert cc.list_branches(repositoryName=name)["branches"] == ["main"]


def test_policies_decide_api_calls(
    server: Server, git: Git, tmp_path: Path, repo: Callable[..., str]
) -> None:
    """A read-only user reads but cannot write; branch protection covers API branch writes."""
    name = repo("api-policy")
    admin = client_for(server, "api-admin", admin=True)
    head = _push_commit(git, server, name, tmp_path)
    reader_name = f"reader-{uuid.uuid4().hex[:6]}"
    reader = client_for(server, reader_name)
    server.cli("policy", "attach-user-policy", reader_name, "GitServerReadOnly")
    assert reader.get_repository(repositoryName=name)["repositoryMetadata"]["repositoryName"]
    with pytest.raises(ClientError) as denied:
        reader.create_branch(repositoryName=name, branchName="x", commitId=head)
    assert error_code(denied.value) == "AccessDeniedException"
    assert "codecommit:CreateBranch" in str(denied.value)
    assert admin.get_branch(repositoryName=name, branchName="main")


def test_aws_cli_smoke(server: Server, tmp_path: Path) -> None:
    """`aws --endpoint-url … codecommit …`: the AWS CLI works with only the endpoint changed."""
    name = _name("cli")
    if "api-cli" not in {u["UserName"] for u in server.cli("user", "list")["users"]}:
        server.cli("user", "create", "api-cli", "--admin")
    key = server.cli("access-key", "create", "api-cli")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", server.base_url]
    created = subprocess.run(
        [*aws, "codecommit", "create-repository", "--repository-name", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["repositoryMetadata"]["repositoryName"] == name
    listed = subprocess.run(
        [*aws, "codecommit", "list-repositories"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert name in {r["repositoryName"] for r in json.loads(listed.stdout)["repositories"]}
    missing = subprocess.run(
        [*aws, "codecommit", "get-repository", "--repository-name", _name("none")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode != 0
    assert "RepositoryDoesNotExistException" in missing.stderr


def test_api_calls_are_audited(cc: BaseClient, server: Server) -> None:
    """Every API call leaves a record, reads included, with the API as its transport."""
    name = _name("audited")
    cc.create_repository(repositoryName=name)
    cc.get_repository(repositoryName=name)
    arn = f"arn:aws:codecommit:us-east-1:000000000000:{name}"
    deadline = time.monotonic() + 20
    actions: set[str] = set()
    while time.monotonic() < deadline and len(actions) < 2:
        records = server.cli("audit", "list", "--user", "api-admin", "--limit", "1000")["events"]
        mine = [r for r in records if r["resource"] == arn]
        actions = {r["action"] for r in mine}
        time.sleep(0.3)
    assert actions == {"codecommit:CreateRepository", "codecommit:GetRepository"}
    assert {r["transport"] for r in mine} == {"api"}
    assert all(r["decision"] == "allowed" and r["userAgent"].startswith("Boto3") for r in mine)


def test_pagination_with_next_token(make_server: Callable[..., Server], tmp_path: Path) -> None:
    """ListRepositories and ListBranches page with nextToken (page size 2 on this server)."""
    private = make_server("--no-ssh", "--api-page-size", "2")
    cc = client_for(private, "pager", admin=True)
    names = sorted(_name("page") for _ in range(5))
    for name in names:
        cc.create_repository(repositoryName=name)
    first = cc.list_repositories()
    assert len(first["repositories"]) == 2 and first["nextToken"]
    pages = cc.get_paginator("list_repositories").paginate()
    listed = [r["repositoryName"] for page in pages for r in page["repositories"]]
    assert listed == names
    by_date = cc.get_paginator("list_repositories").paginate(
        sortBy="lastModifiedDate", order="descending"
    )
    assert [r["repositoryName"] for p in by_date for r in p["repositories"]] == names[::-1]
    # A token from one ordering is refused by another.
    with pytest.raises(cc.exceptions.InvalidContinuationTokenException):
        cc.list_repositories(order="descending", nextToken=first["nextToken"])

    git = Git(tmp_path / "home")
    work = git.init(tmp_path / "work")
    git.commit(work, "f", "x\n", "one")
    for n in range(4):
        git("branch", f"b{n}", cwd=work)
    git("push", private.url(names[0]), "--all", cwd=work)
    branches = cc.get_paginator("list_branches").paginate(repositoryName=names[0])
    assert sorted(b for page in branches for b in page["branches"]) == [
        "b0",
        "b1",
        "b2",
        "b3",
        "main",
    ]


def test_tags_and_resource_tag_conditions(
    server: Server, cc: BaseClient, git: Git, tmp_path: Path
) -> None:
    """Tags set through the API decide `aws:ResourceTag/*` conditions for git and the API."""
    name = _name("tags")
    arn = cc.create_repository(repositoryName=name, tags={"team": "blue"})["repositoryMetadata"][
        "Arn"
    ]
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "blue"}
    cc.tag_resource(resourceArn=arn, tags={"frozen": "true", "team": "red"})
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"frozen": "true", "team": "red"}
    cc.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"frozen": "true"}

    with pytest.raises(cc.exceptions.InvalidSystemTagUsageException):
        cc.tag_resource(resourceArn=arn, tags={"aws:owner": "x"})
    with pytest.raises(cc.exceptions.TooManyTagsException):
        cc.tag_resource(resourceArn=arn, tags={f"k{n}": "v" for n in range(50)})
    with pytest.raises(cc.exceptions.InvalidResourceArnException):
        cc.list_tags_for_resource(resourceArn="arn:aws:codecommit:us-east-1:999999999999:other")
    with pytest.raises(cc.exceptions.RepositoryDoesNotExistException):
        cc.tag_resource(resourceArn=arn + "-missing", tags={"a": "b"})
    with pytest.raises(cc.exceptions.InvalidSystemTagUsageException):
        cc.create_repository(repositoryName=_name("tags"), tags={"aws:x": "y"})

    # A user allowed everything except writes to frozen repositories.
    user = f"tagged-{uuid.uuid4().hex[:6]}"
    client = client_for(server, user)
    policy = tmp_path / "frozen.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "codecommit:*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": ["codecommit:GitPush", "codecommit:CreateBranch"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/frozen": "true"}},
                    },
                ],
            }
        )
    )
    server.cli("policy", "put-user-policy", user, "Frozen", "--document", str(policy))
    head = _push_commit(git, server, name, tmp_path)  # admin may push
    with pytest.raises(ClientError) as denied:
        client.create_branch(repositoryName=name, branchName="x", commitId=head)
    assert error_code(denied.value) == "AccessDeniedException"
    cc.untag_resource(resourceArn=arn, tagKeys=["frozen"])
    client.create_branch(repositoryName=name, branchName="x", commitId=head)
