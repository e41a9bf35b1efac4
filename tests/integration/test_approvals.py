"""Approvals, a pull request's approval rules and overrides, through real boto3, with the
source moved by a real `git push`; events read back through DescribePullRequestEvents
and the outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Server

# Approvals are read in the transaction that follows the refs: SQL's locking matters.
pytestmark = pytest.mark.database

ACCOUNT = "000000000000"


@pytest.fixture(scope="session")
def author(server: Server) -> BaseClient:
    return client_for(server, "appr-author", admin=True)


@pytest.fixture(scope="session")
def ann(server: Server) -> BaseClient:
    return client_for(server, "appr-ann", admin=True)


@pytest.fixture(scope="session")
def bob(server: Server) -> BaseClient:
    return client_for(server, "appr-bob", admin=True)


def _rule(*pool: str, needed: int = 1) -> str:
    statement: dict[str, Any] = {"Type": "Approvers", "NumberOfApprovalsNeeded": needed}
    if pool:
        statement["ApprovalPoolMembers"] = list(pool)
    return json.dumps({"Version": "2018-11-08", "Statements": [statement]})


def _setup(git: Git, tmp_path: Path, url: str) -> Path:
    work = git.init(tmp_path / f"work-{uuid.uuid4().hex[:6]}")
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "print(1)\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)
    return work


def _open(cc: BaseClient, name: str) -> tuple[str, str]:
    pr = cc.create_pull_request(
        title="Add the app", targets=[{"repositoryName": name, "sourceReference": "feature"}]
    )["pullRequest"]
    return pr["pullRequestId"], pr["revisionId"]


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return error_code(info.value)


def _evaluation(cc: BaseClient, pid: str, rev: str) -> dict[str, Any]:
    return dict(
        cc.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev)["evaluation"]
    )


def _history(cc: BaseClient, pid: str) -> list[dict[str, Any]]:
    return list(cc.describe_pull_request_events(pullRequestId=pid)["pullRequestEvents"])


def test_approve_revoke_and_a_push_makes_approvals_stale(
    author: BaseClient,
    ann: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("appr")
    url = server.url(name)
    work = _setup(git, tmp_path, url)
    pid, rev1 = _open(author, name)
    author.create_pull_request_approval_rule(
        pullRequestId=pid,
        approvalRuleName="ann reviews",
        approvalRuleContent=_rule(f"CodeCommitApprovers:{ACCOUNT}:appr-ann"),
    )
    assert _evaluation(author, pid, rev1) == {
        "approved": False,
        "overridden": False,
        "approvalRulesSatisfied": [],
        "approvalRulesNotSatisfied": ["ann reviews"],
    }

    def approve(cc: BaseClient, rev: str, state: str = "APPROVE") -> None:
        cc.update_pull_request_approval_state(
            pullRequestId=pid, revisionId=rev, approvalState=state
        )

    assert _code(lambda: approve(author, rev1)) == "PullRequestCannotBeApprovedByAuthorException"
    approve(ann, rev1)
    approve(ann, rev1)  # again: nothing changes, no second event
    states = ann.get_pull_request_approval_states(pullRequestId=pid, revisionId=rev1)["approvals"]
    assert states == [
        {"userArn": f"arn:aws:iam::{ACCOUNT}:user/appr-ann", "approvalState": "APPROVE"}
    ]
    assert _evaluation(author, pid, rev1)["approvalRulesSatisfied"] == ["ann reviews"]
    approve(ann, rev1, "REVOKE")
    assert not _evaluation(author, pid, rev1)["approved"]
    approve(ann, rev1)
    assert _evaluation(author, pid, rev1)["approved"]

    # A push to the source: a new revision, where Ann's approval does not count.
    git("checkout", "-q", "feature", cwd=work)
    git.commit(work, "app.py", "print(2)\n", "more work")
    git("push", "-q", url, "feature", cwd=work)
    assert _code(lambda: approve(ann, rev1)) == "RevisionNotCurrentException"
    assert _code(lambda: _evaluation(author, pid, rev1)) == "RevisionNotCurrentException"
    rev2 = author.get_pull_request(pullRequestId=pid)["pullRequest"]["revisionId"]
    assert rev2 != rev1
    assert _evaluation(author, pid, rev2)["approvalRulesNotSatisfied"] == ["ann reviews"]
    assert (
        ann.get_pull_request_approval_states(pullRequestId=pid, revisionId=rev2)["approvals"] == []
    )
    approve(ann, rev2)
    assert _evaluation(author, pid, rev2)["approved"]
    assert _code(lambda: approve(ann, "x" * 65)) == "InvalidRevisionIdException"
    assert (
        _code(
            lambda: ann.update_pull_request_approval_state(
                pullRequestId="99999999", revisionId=rev2, approvalState="APPROVE"
            )
        )
        == "PullRequestDoesNotExistException"
    )

    changes = [
        (
            e["approvalStateChangedEventMetadata"]["revisionId"],
            e["approvalStateChangedEventMetadata"]["approvalStatus"],
        )
        for e in _history(author, pid)
        if e["pullRequestEventType"] == "PULL_REQUEST_APPROVAL_STATE_CHANGED"
    ]
    assert changes == [(rev1, "APPROVE"), (rev1, "REVOKE"), (rev1, "APPROVE"), (rev2, "APPROVE")]
    outbox = [e for e in server.events(name) if e["type"] == "pullRequestApprovalStateChanged"]
    assert [e["detail"]["approvalStatus"] for e in outbox] == [
        "APPROVE",
        "REVOKE",
        "APPROVE",
        "APPROVE",
    ]
    assert all(e["detail"]["pullRequestId"] == pid for e in outbox)


def test_pools_by_name_and_by_arn_wildcard(
    author: BaseClient,
    ann: BaseClient,
    bob: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("pool")
    _setup(git, tmp_path, server.url(name))
    pid, rev = _open(author, name)
    author.create_pull_request_approval_rule(
        pullRequestId=pid,
        approvalRuleName="bob by name",
        approvalRuleContent=_rule(f"CodeCommitApprovers:{ACCOUNT}:appr-bob"),
    )
    author.create_pull_request_approval_rule(
        pullRequestId=pid,
        approvalRuleName="two by wildcard",
        approvalRuleContent=_rule(f"arn:aws:iam::{ACCOUNT}:user/appr-?n?", needed=1),
    )
    author.create_pull_request_approval_rule(
        pullRequestId=pid, approvalRuleName="any two", approvalRuleContent=_rule(needed=2)
    )
    ann.update_pull_request_approval_state(
        pullRequestId=pid, revisionId=rev, approvalState="APPROVE"
    )
    evaluation = _evaluation(author, pid, rev)
    assert evaluation["approvalRulesSatisfied"] == ["two by wildcard"]
    assert sorted(evaluation["approvalRulesNotSatisfied"]) == ["any two", "bob by name"]
    bob.update_pull_request_approval_state(
        pullRequestId=pid, revisionId=rev, approvalState="APPROVE"
    )
    evaluation = _evaluation(author, pid, rev)
    assert evaluation["approved"] and evaluation["approvalRulesNotSatisfied"] == []

    for index in range(27):  # 30 rules in all
        author.create_pull_request_approval_rule(
            pullRequestId=pid, approvalRuleName=f"rule {index}", approvalRuleContent=_rule()
        )
    assert (
        _code(
            lambda: author.create_pull_request_approval_rule(
                pullRequestId=pid, approvalRuleName="one too many", approvalRuleContent=_rule()
            )
        )
        == "NumberOfRulesExceededException"
    )

    bad = _rule("Mary_Major")
    with pytest.raises(ClientError) as info:
        author.create_pull_request_approval_rule(
            pullRequestId=pid, approvalRuleName="bad", approvalRuleContent=bad
        )
    assert error_code(info.value) == "InvalidApprovalRuleContentException"
    assert "ApprovalPoolMembers[0]" in info.value.response["Error"]["Message"]


def test_rule_changes_and_override(
    author: BaseClient,
    ann: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo("ovr")
    _setup(git, tmp_path, server.url(name))
    pid, rev = _open(author, name)
    created = author.create_pull_request_approval_rule(
        pullRequestId=pid, approvalRuleName="two", approvalRuleContent=_rule(needed=2)
    )["approvalRule"]
    assert "originApprovalRuleTemplate" not in created
    assert created["lastModifiedUser"] == f"arn:aws:iam::{ACCOUNT}:user/appr-author"
    updated = author.update_pull_request_approval_rule_content(
        pullRequestId=pid,
        approvalRuleName="two",
        existingRuleContentSha256=created["ruleContentSha256"],
        newRuleContent=_rule(needed=1),
    )["approvalRule"]
    assert updated["approvalRuleId"] == created["approvalRuleId"]
    assert (
        _code(
            lambda: author.update_pull_request_approval_rule_content(
                pullRequestId=pid,
                approvalRuleName="two",
                existingRuleContentSha256=created["ruleContentSha256"],
                newRuleContent=_rule(needed=3),
            )
        )
        == "InvalidRuleContentSha256Exception"
    )
    rules = author.get_pull_request(pullRequestId=pid)["pullRequest"]["approvalRules"]
    assert [(r["approvalRuleName"], r["approvalRuleContent"]) for r in rules] == [
        ("two", _rule(needed=1))
    ]

    def override(status: str) -> None:
        ann.override_pull_request_approval_rules(
            pullRequestId=pid, revisionId=rev, overrideStatus=status
        )

    def state() -> dict[str, Any]:
        return dict(ann.get_pull_request_override_state(pullRequestId=pid, revisionId=rev))

    assert state()["overridden"] is False and "overrider" not in state()
    override("OVERRIDE")
    assert state()["overridden"] and state()["overrider"] == f"arn:aws:iam::{ACCOUNT}:user/appr-ann"
    assert _code(lambda: override("OVERRIDE")) == "OverrideAlreadySetException"
    evaluation = _evaluation(author, pid, rev)
    assert evaluation["overridden"] and not evaluation["approved"]
    override("REVOKE")
    override("REVOKE")  # again: nothing to revoke, no second event
    assert state()["overridden"] is False
    assert not _evaluation(author, pid, rev)["overridden"]

    deleted = author.delete_pull_request_approval_rule(pullRequestId=pid, approvalRuleName="two")
    assert deleted["approvalRuleId"] == created["approvalRuleId"]
    assert _evaluation(author, pid, rev) == {
        "approved": True,
        "overridden": False,
        "approvalRulesSatisfied": [],
        "approvalRulesNotSatisfied": [],
    }

    history = _history(author, pid)
    types = [e["pullRequestEventType"] for e in history]
    assert types == [
        "PULL_REQUEST_CREATED",
        "PULL_REQUEST_APPROVAL_RULE_CREATED",
        "PULL_REQUEST_APPROVAL_RULE_UPDATED",
        "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN",
        "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN",
        "PULL_REQUEST_APPROVAL_RULE_DELETED",
    ]
    assert [
        e["approvalRuleOverriddenEventMetadata"]["overrideStatus"]
        for e in history
        if "approvalRuleOverriddenEventMetadata" in e
    ] == ["OVERRIDE", "REVOKE"]
    assert history[1]["approvalRuleEventMetadata"]["approvalRuleName"] == "two"
    outbox = [e["type"] for e in server.events(name)]
    for kind in (
        "pullRequestApprovalRuleCreated",
        "pullRequestApprovalRuleUpdated",
        "pullRequestApprovalRuleDeleted",
    ):
        assert outbox.count(kind) == 1, kind
    assert outbox.count("pullRequestApprovalRuleOverridden") == 2
    detail = next(
        e["detail"] for e in server.events(name) if e["type"] == "pullRequestApprovalRuleCreated"
    )
    assert (
        detail["approvalRuleName"],
        detail["approvalRuleId"],
        detail["approvalRuleContentSha256"],
        detail["pullRequestId"],
    ) == ("two", created["approvalRuleId"], created["ruleContentSha256"], pid)

    author.update_pull_request_status(pullRequestId=pid, pullRequestStatus="CLOSED")
    assert _code(lambda: override("OVERRIDE")) == "PullRequestAlreadyClosedException"
    assert (
        _code(
            lambda: author.create_pull_request_approval_rule(
                pullRequestId=pid, approvalRuleName="late", approvalRuleContent=_rule()
            )
        )
        == "PullRequestAlreadyClosedException"
    )
