"""A pull request's whole life through `aws codecommit` with only `--endpoint-url` changed:
the AWS CLI's own argument parsing, JSON-in-a-flag arguments and output, as a team moving
off CodeCommit runs it in scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.support import Git, Server

ACCOUNT = "000000000000"
AWS = str(Path(sys.executable).parent / "aws")


class AwsCli:
    """`aws codecommit …` as one user, with nothing from this machine's ~/.aws."""

    def __init__(self, server: Server, user: str, tmp_path: Path) -> None:
        if user not in {u["UserName"] for u in server.cli("user", "list")["users"]}:
            server.cli("user", "create", user, "--admin")
        key = server.cli("access-key", "create", user)
        self.endpoint = server.base_url
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AWS, "--endpoint-url", self.endpoint, "--output", "json", "codecommit", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def __call__(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}


def _diverged(git: Git, tmp_path: Path, url: str) -> tuple[Path, str]:
    """main and feature each change a file of their own; returns the feature tip."""
    work = git.init(tmp_path / "work")
    git.commit(work, "app.py", "def main():\n    return 1\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    tip = git.commit(work, "feature.py", "print('feature')\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)
    git("checkout", "-q", "main", cwd=work)
    git.commit(work, "NOTES.md", "main moves on\n", "diverge")
    git("push", "-q", url, "main", cwd=work)
    return work, tip


def test_a_pull_request_from_open_to_merged_with_the_aws_cli(
    server: Server, git: Git, tmp_path: Path
) -> None:
    author = AwsCli(server, "cli-pr-author", tmp_path)
    reviewer = AwsCli(server, "cli-pr-reviewer", tmp_path)
    name = f"cli-pr-{uuid.uuid4().hex[:8]}"
    author("create-repository", "--repository-name", name)
    work, feature_tip = _diverged(git, tmp_path, server.url(name))

    targets = json.dumps([{"repositoryName": name, "sourceReference": "feature"}])
    pr = author(
        "create-pull-request",
        "--title",
        "Add the feature",
        "--description",
        "Adds *feature.py*",
        "--targets",
        targets,
        "--client-request-token",
        "cli-token-1",
    )["pullRequest"]
    pid = pr["pullRequestId"]
    assert pr["pullRequestStatus"] == "OPEN"
    assert pr["pullRequestTargets"][0]["sourceCommit"] == feature_tip
    # The same token and input give the same pull request back, as AWS does.
    again = author(
        "create-pull-request",
        "--title",
        "Add the feature",
        "--description",
        "Adds *feature.py*",
        "--targets",
        targets,
        "--client-request-token",
        "cli-token-1",
    )["pullRequest"]
    assert again["pullRequestId"] == pid
    listed = author("list-pull-requests", "--repository-name", name)
    assert listed["pullRequestIds"] == [pid]

    target = pr["pullRequestTargets"][0]
    before, after = target["destinationCommit"], target["sourceCommit"]
    located = author(
        "post-comment-for-pull-request",
        "--pull-request-id",
        pid,
        "--repository-name",
        name,
        "--before-commit-id",
        before,
        "--after-commit-id",
        after,
        "--location",
        "filePath=feature.py,filePosition=1,relativeFileVersion=AFTER",
        "--content",
        "Print something more useful?",
    )
    assert located["location"] == {
        "filePath": "feature.py",
        "filePosition": 1,
        "relativeFileVersion": "AFTER",
    }
    comment_id = located["comment"]["commentId"]
    reviewer("post-comment-reply", "--in-reply-to", comment_id, "--content", "Fine as it is")
    comments = author(
        "get-comments-for-pull-request", "--pull-request-id", pid, "--repository-name", name
    )["commentsForPullRequestData"]
    assert [c["content"] for c in comments[0]["comments"]] == [
        "Print something more useful?",
        "Fine as it is",
    ]

    rule = json.dumps(
        {
            "Version": "2018-11-08",
            "Statements": [
                {
                    "Type": "Approvers",
                    "NumberOfApprovalsNeeded": 1,
                    "ApprovalPoolMembers": [f"CodeCommitApprovers:{ACCOUNT}:cli-pr-reviewer"],
                }
            ],
        }
    )
    author(
        "create-pull-request-approval-rule",
        "--pull-request-id",
        pid,
        "--approval-rule-name",
        "one reviewer",
        "--approval-rule-content",
        rule,
    )
    revision = author("get-pull-request", "--pull-request-id", pid)["pullRequest"]["revisionId"]
    blocked = author.run(
        "merge-pull-request-by-squash",
        "--pull-request-id",
        pid,
        "--repository-name",
        name,
    )
    assert blocked.returncode != 0
    assert "PullRequestApprovalRulesNotSatisfiedException" in blocked.stderr
    reviewer(
        "update-pull-request-approval-state",
        "--pull-request-id",
        pid,
        "--revision-id",
        revision,
        "--approval-state",
        "APPROVE",
    )
    evaluation = author(
        "evaluate-pull-request-approval-rules",
        "--pull-request-id",
        pid,
        "--revision-id",
        revision,
    )["evaluation"]
    assert evaluation["approved"] is True
    assert evaluation["approvalRulesSatisfied"] == ["one reviewer"]

    conflicts = author(
        "get-merge-conflicts",
        "--repository-name",
        name,
        "--source-commit-specifier",
        "feature",
        "--destination-commit-specifier",
        "main",
        "--merge-option",
        "SQUASH_MERGE",
    )
    assert conflicts["mergeable"] is True and conflicts["conflictMetadataList"] == []

    merged = author(
        "merge-pull-request-by-squash",
        "--pull-request-id",
        pid,
        "--repository-name",
        name,
        "--source-commit-id",
        feature_tip,
        "--commit-message",
        "Add the feature (squashed)",
        "--author-name",
        "Cli Author",
        "--email",
        "cli@example.com",
    )["pullRequest"]
    metadata = merged["pullRequestTargets"][0]["mergeMetadata"]
    assert merged["pullRequestStatus"] == "CLOSED"
    assert metadata["isMerged"] is True and metadata["mergeOption"] == "SQUASH_MERGE"

    # What git sees: one squashed commit on main with both sides' files.
    git("fetch", "-q", server.url(name), "main:merged", cwd=work)
    assert git.rev_parse(work, "merged") == metadata["mergeCommitId"]
    log = git("log", "-1", "--format=%P|%an|%s", "merged", cwd=work).stdout.strip()
    assert log == f"{git.rev_parse(work, 'main')}|Cli Author|Add the feature (squashed)"
    files = git("ls-tree", "--name-only", "merged", cwd=work).stdout.split()
    assert files == ["NOTES.md", "app.py", "feature.py"]

    events = author("describe-pull-request-events", "--pull-request-id", pid)
    kinds = [e["pullRequestEventType"] for e in events["pullRequestEvents"]]
    assert kinds == [
        "PULL_REQUEST_CREATED",
        "PULL_REQUEST_APPROVAL_RULE_CREATED",
        "PULL_REQUEST_APPROVAL_STATE_CHANGED",
        "PULL_REQUEST_MERGE_STATE_CHANGED",
    ]
    closed = author(
        "list-pull-requests", "--repository-name", name, "--pull-request-status", "CLOSED"
    )
    assert closed["pullRequestIds"] == [pid]
