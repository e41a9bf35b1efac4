"""Review and merge: approval rules, approvals per revision, overrides and merges of pull
requests, through real boto3 with refs moved by real `git push`."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, codecommit, error_code
from tests.support import Git, Server

# Approvals are decided inside the merge's transaction: SQL's locking is the subject.
pytestmark = pytest.mark.database

ACCOUNT = "000000000000"


@pytest.fixture(scope="session")
def author(server: Server) -> BaseClient:
    return client_for(server, "review-author", admin=True)


@pytest.fixture(scope="session")
def reviewer(server: Server) -> BaseClient:
    return client_for(server, "review-reviewer", admin=True)


def _rule(*pool: str, needed: int = 1) -> str:
    statement: dict[str, Any] = {"Type": "Approvers", "NumberOfApprovalsNeeded": needed}
    if pool:
        statement["ApprovalPoolMembers"] = list(pool)
    return json.dumps({"Version": "2018-11-08", "Statements": [statement]})


def _setup(git: Git, tmp_path: Path, url: str, branch: str = "feature") -> Path:
    work = git.init(tmp_path / f"work-{uuid.uuid4().hex[:6]}")
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", branch, cwd=work)
    git.commit(work, f"{branch}.py", "print(1)\n", f"{branch} work")
    git("push", "-q", url, branch, cwd=work)
    git("checkout", "-q", "main", cwd=work)
    git.commit(work, "main.txt", "main moves on\n", "diverge")
    git("push", "-q", url, "main", cwd=work)
    return work


def _open(cc: BaseClient, name: str, source: str = "feature") -> dict[str, Any]:
    return dict(
        cc.create_pull_request(
            title=f"Merge {source}",
            targets=[{"repositoryName": name, "sourceReference": source}],
        )["pullRequest"]
    )


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return error_code(info.value)


def test_the_life_of_a_pull_request(
    author: BaseClient,
    reviewer: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("life")
    url = server.url(name)
    work = _setup(git, tmp_path, url)
    pr = _open(author, name)
    pid, rev1 = pr["pullRequestId"], pr["revisionId"]
    rule = author.create_pull_request_approval_rule(
        pullRequestId=pid,
        approvalRuleName="one reviewer",
        approvalRuleContent=_rule(f"CodeCommitApprovers:{ACCOUNT}:review-reviewer"),
    )["approvalRule"]
    assert rule["ruleContentSha256"] and rule["approvalRuleName"] == "one reviewer"

    evaluation = author.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev1)
    assert evaluation["evaluation"]["approved"] is False
    assert evaluation["evaluation"]["approvalRulesNotSatisfied"] == ["one reviewer"]
    assert (
        _code(
            lambda: author.update_pull_request_approval_state(
                pullRequestId=pid, revisionId=rev1, approvalState="APPROVE"
            )
        )
        == "PullRequestCannotBeApprovedByAuthorException"
    )
    reviewer.update_pull_request_approval_state(
        pullRequestId=pid, revisionId=rev1, approvalState="APPROVE"
    )
    states = reviewer.get_pull_request_approval_states(pullRequestId=pid, revisionId=rev1)
    assert [a["approvalState"] for a in states["approvals"]] == ["APPROVE"]
    assert states["approvals"][0]["userArn"].endswith(":user/review-reviewer")
    assert author.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev1)[
        "evaluation"
    ]["approved"]

    # A new commit on the source: a new revision, and the approval no longer counts,
    # even for a merge made at once (the decision is taken after the follower ran).
    git("checkout", "-q", "feature", cwd=work)
    git.commit(work, "feature.py", "print(2)\n", "more work")
    git("push", "-q", url, "feature", cwd=work)
    assert (
        _code(
            lambda: author.merge_pull_request_by_three_way(pullRequestId=pid, repositoryName=name)
        )
        == "PullRequestApprovalRulesNotSatisfiedException"
    )
    rev2 = author.get_pull_request(pullRequestId=pid)["pullRequest"]["revisionId"]
    assert rev2 != rev1
    assert (
        _code(
            lambda: author.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev1)
        )
        == "RevisionNotCurrentException"
    )
    assert not author.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev2)[
        "evaluation"
    ]["approved"]
    reviewer.update_pull_request_approval_state(
        pullRequestId=pid, revisionId=rev2, approvalState="APPROVE"
    )
    source_tip = git.rev_parse(work, "feature")
    assert (
        _code(
            lambda: author.merge_pull_request_by_three_way(
                pullRequestId=pid, repositoryName=name, sourceCommitId="0" * 40
            )
        )
        == "TipOfSourceReferenceIsDifferentException"
    )

    merged = author.merge_pull_request_by_three_way(
        pullRequestId=pid,
        repositoryName=name,
        sourceCommitId=source_tip,
        commitMessage="Merge feature",
        authorName="Ann",
        email="ann@example.com",
    )["pullRequest"]
    assert merged["pullRequestStatus"] == "CLOSED"
    meta = merged["pullRequestTargets"][0]["mergeMetadata"]
    assert meta["isMerged"] and meta["mergeOption"] == "THREE_WAY_MERGE"
    assert meta["mergedBy"].endswith(":user/review-author")

    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    head = git.rev_parse(clone, "HEAD")
    assert head == meta["mergeCommitId"]
    parents = git("log", "-1", "--format=%P", cwd=clone).stdout.split()
    assert parents[1] == source_tip
    assert (clone / "feature.py").read_text() == "print(2)\n"
    assert (clone / "main.txt").exists()
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=clone, capture_output=True)
    assert fsck.returncode == 0, fsck.stderr

    types = [
        e["pullRequestEventType"]
        for e in author.describe_pull_request_events(pullRequestId=pid)["pullRequestEvents"]
    ]
    assert types == [
        "PULL_REQUEST_CREATED",
        "PULL_REQUEST_APPROVAL_RULE_CREATED",
        "PULL_REQUEST_APPROVAL_STATE_CHANGED",
        "PULL_REQUEST_SOURCE_REFERENCE_UPDATED",
        "PULL_REQUEST_APPROVAL_STATE_CHANGED",
        "PULL_REQUEST_MERGE_STATE_CHANGED",
    ]
    outbox = [e["type"] for e in server.events(name)]
    assert outbox.count("pullRequestMergeStatusUpdated") == 1
    assert outbox.count("pullRequestApprovalStateChanged") == 2
    merge_ref = [
        e
        for e in server.events(name)
        if e["type"] == "referenceUpdated" and e["detail"]["commitId"] == head
    ]
    assert len(merge_ref) == 1 and merge_ref[0]["detail"]["transport"] == "api"
    merge_detail = merge_ref[0]["detail"]
    assert merge_detail["mergeOption"] == "THREE_WAY_MERGE"
    assert (merge_detail["sourceCommitId"], merge_detail["conflictDetailsLevel"]) == (
        source_tip,
        "FILE_LEVEL",
    )
    assert merge_detail["destinationCommitId"] == parents[0]
    assert (
        _code(
            lambda: author.merge_pull_request_by_three_way(pullRequestId=pid, repositoryName=name)
        )
        == "PullRequestAlreadyClosedException"
    )


def test_override_and_rule_changes(
    author: BaseClient,
    reviewer: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("override")
    _setup(git, tmp_path, server.url(name))
    pr = _open(author, name)
    pid, rev = pr["pullRequestId"], pr["revisionId"]
    rule = author.create_pull_request_approval_rule(
        pullRequestId=pid, approvalRuleName="two", approvalRuleContent=_rule(needed=2)
    )["approvalRule"]
    assert (
        _code(
            lambda: author.create_pull_request_approval_rule(
                pullRequestId=pid, approvalRuleName="two", approvalRuleContent=_rule()
            )
        )
        == "ApprovalRuleNameAlreadyExistsException"
    )
    assert (
        _code(
            lambda: author.update_pull_request_approval_rule_content(
                pullRequestId=pid,
                approvalRuleName="two",
                existingRuleContentSha256="0" * 64,
                newRuleContent=_rule(),
            )
        )
        == "InvalidRuleContentSha256Exception"
    )
    updated = author.update_pull_request_approval_rule_content(
        pullRequestId=pid,
        approvalRuleName="two",
        existingRuleContentSha256=rule["ruleContentSha256"],
        newRuleContent=_rule(needed=3),
    )["approvalRule"]
    assert updated["ruleContentSha256"] != rule["ruleContentSha256"]
    assert (
        _code(lambda: author.merge_pull_request_by_squash(pullRequestId=pid, repositoryName=name))
        == "PullRequestApprovalRulesNotSatisfiedException"
    )

    assert (
        reviewer.get_pull_request_override_state(pullRequestId=pid, revisionId=rev)["overridden"]
        is False
    )
    reviewer.override_pull_request_approval_rules(
        pullRequestId=pid, revisionId=rev, overrideStatus="OVERRIDE"
    )
    state = reviewer.get_pull_request_override_state(pullRequestId=pid, revisionId=rev)
    assert state["overridden"] is True and state["overrider"].endswith(":user/review-reviewer")
    assert (
        _code(
            lambda: reviewer.override_pull_request_approval_rules(
                pullRequestId=pid, revisionId=rev, overrideStatus="OVERRIDE"
            )
        )
        == "OverrideAlreadySetException"
    )
    evaluation = author.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev)
    assert evaluation["evaluation"]["overridden"] is True

    merged = author.merge_pull_request_by_squash(
        pullRequestId=pid, repositoryName=name, commitMessage="Squashed"
    )["pullRequest"]
    meta = merged["pullRequestTargets"][0]["mergeMetadata"]
    assert meta["mergeOption"] == "SQUASH_MERGE"
    commit = author.get_commit(repositoryName=name, commitId=meta["mergeCommitId"])["commit"]
    assert len(commit["parents"]) == 1 and commit["message"].startswith("Squashed")
    outbox = [e["type"] for e in server.events(name)]
    assert outbox.count("pullRequestApprovalRuleOverridden") == 1
    assert outbox.count("pullRequestApprovalRuleCreated") == 1
    assert outbox.count("pullRequestApprovalRuleUpdated") == 1
    assert (
        _code(
            lambda: author.delete_pull_request_approval_rule(
                pullRequestId=pid, approvalRuleName="two"
            )
        )
        == "PullRequestAlreadyClosedException"
    )


def test_two_merges_into_one_branch_at_once(
    author: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("race")
    url = server.url(name)
    work = _setup(git, tmp_path, url, "one")
    git("checkout", "-q", "-b", "two", "main~1", cwd=work)
    git.commit(work, "two.py", "print(2)\n", "two work")
    git("push", "-q", url, "two", cwd=work)
    first, second = _open(author, name, "one"), _open(author, name, "two")

    def merge(pr: dict[str, Any]) -> str:
        try:
            author.merge_pull_request_by_three_way(
                pullRequestId=pr["pullRequestId"], repositoryName=name
            )
        except ClientError as exc:
            return error_code(exc)
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(merge, [first, second]))
    assert "ok" in outcomes, outcomes
    for pr, outcome in zip([first, second], outcomes, strict=True):
        assert outcome in {"ok", "ConcurrentReferenceUpdateException"}, outcomes
        if outcome != "ok":
            assert merge(pr) == "ok"  # a clean retry succeeds
    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    assert (clone / "one.py").exists() and (clone / "two.py").exists()
    merged = [e for e in server.events(name) if e["type"] == "pullRequestMergeStatusUpdated"]
    assert len(merged) == 2


def test_fast_forward_and_branch_protection(
    author: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("ff")
    url = server.url(name)
    work = _setup(git, tmp_path, url)
    pr = _open(author, name)
    assert (
        _code(
            lambda: author.merge_pull_request_by_fast_forward(
                pullRequestId=pr["pullRequestId"], repositoryName=name
            )
        )
        == "ManualMergeRequiredException"
    )

    # AWS's documented branch protection: deny merges into main, allow everything else.
    dev = f"dev-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", dev)
    server.cli("policy", "attach-user-policy", dev, "GitServerPowerUser")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": [
                    "codecommit:GitPush",
                    "codecommit:MergeBranchesByFastForward",
                    "codecommit:MergeBranchesBySquash",
                    "codecommit:MergeBranchesByThreeWay",
                    "codecommit:MergePullRequestByFastForward",
                    "codecommit:MergePullRequestBySquash",
                    "codecommit:MergePullRequestByThreeWay",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]}
                },
            }
        ],
    }
    document = tmp_path / "deny.json"
    document.write_text(json.dumps(deny))
    server.cli("policy", "put-user-policy", dev, "ProtectMain", "--document", str(document))
    cc = codecommit(server, server.cli("access-key", "create", dev))
    assert (
        _code(
            lambda: cc.merge_pull_request_by_three_way(
                pullRequestId=pr["pullRequestId"], repositoryName=name
            )
        )
        == "AccessDeniedException"
    )
    # A fast-forward that is possible: main is the source's ancestor.
    git("checkout", "-q", "-b", "ahead", "main", cwd=work)
    git.commit(work, "ahead.txt", "x\n", "ahead")
    git("push", "-q", url, "ahead", cwd=work)
    ahead = _open(author, name, "ahead")
    merged = author.merge_pull_request_by_fast_forward(
        pullRequestId=ahead["pullRequestId"], repositoryName=name
    )["pullRequest"]
    meta = merged["pullRequestTargets"][0]["mergeMetadata"]
    assert meta["mergeOption"] == "FAST_FORWARD_MERGE"
    assert meta["mergeCommitId"] == git.rev_parse(work, "ahead")
    # The first pull request now has a new destination, hence a new revision.
    again = author.get_pull_request(pullRequestId=pr["pullRequestId"])["pullRequest"]
    assert again["revisionId"] != pr["revisionId"]
