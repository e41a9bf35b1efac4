"""EventBridge payloads for pull-request and comment events, as AWS documents them
(`CodeCommit Pull Request State Change`, `CodeCommit Comment on Pull Request/Commit`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.triggers.pr_events import (
    ACCOUNT,
    ALICE,
    BASE,
    DESTINATION,
    SOURCE,
    convert,
    event,
    pull_request,
    repository,
)
from triggers.events import Event, EventType

COMMON = {
    "author",
    "callerUserArn",
    "creationDate",
    "description",
    "destinationCommit",
    "destinationReference",
    "event",
    "isMerged",
    "lastModifiedDate",
    "notificationBody",
    "pullRequestId",
    "pullRequestStatus",
    "repositoryNames",
    "revisionId",
    "sourceCommit",
    "sourceReference",
    "title",
}
RULE = {"approvalRuleContentSha256": "e" * 64, "approvalRuleId": "r-1", "approvalRuleName": "two"}


def _body(item: Event) -> dict[str, Any]:
    payload = convert("eventbridge", item)
    assert payload is not None
    assert payload.body["source"] == "aws.codecommit"
    assert payload.body["account"] == ACCOUNT
    assert payload.body["resources"] == [f"arn:aws:codecommit:eu-west-1:{ACCOUNT}:shop"]
    return payload.body


def test_created_has_the_documented_detail() -> None:
    body = _body(event(EventType.PULL_REQUEST_CREATED))
    assert body["detail-type"] == "CodeCommit Pull Request State Change"
    detail = body["detail"]
    assert set(detail) == COMMON
    assert detail["event"] == "pullRequestCreated"
    assert detail["author"] == detail["callerUserArn"] == ALICE
    assert (detail["isMerged"], detail["pullRequestStatus"]) == ("False", "Open")
    assert detail["creationDate"] == "Sat Dec 05 10:00:00 UTC 2026"
    assert detail["repositoryNames"] == ["shop"]
    assert (detail["sourceCommit"], detail["destinationCommit"]) == (SOURCE, DESTINATION)
    assert detail["sourceReference"] == "refs/heads/feature/cart"
    assert f"{BASE}/repositories/shop/pull-requests/7" in detail["notificationBody"]


def test_merge_status_updated_says_merged_closed_and_how() -> None:
    merged = pull_request(status="CLOSED", is_merged=True, merge_option="SQUASH_MERGE")
    detail = _body(
        event(EventType.PULL_REQUEST_MERGE_STATUS_UPDATED, pr=merged, mergeOption="SQUASH_MERGE")
    )["detail"]
    assert set(detail) == COMMON | {"mergeOption"}
    assert (detail["isMerged"], detail["pullRequestStatus"]) == ("True", "Closed")
    assert detail["mergeOption"] == "SQUASH_MERGE"


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED, {}),
        (EventType.PULL_REQUEST_STATUS_CHANGED, {}),
        (EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED, {"approvalStatus": "APPROVE"}),
        (EventType.PULL_REQUEST_APPROVAL_RULE_CREATED, RULE),
        (EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED, RULE),
        (EventType.PULL_REQUEST_APPROVAL_RULE_DELETED, RULE),
        (EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN, {"overrideStatus": "OVERRIDE"}),
    ],
)
def test_every_state_change_carries_its_own_fields(kind: EventType, extra: dict[str, str]) -> None:
    body = _body(event(kind, "bob", **extra))
    assert body["detail-type"] == "CodeCommit Pull Request State Change"
    detail = body["detail"]
    assert set(detail) == COMMON | set(extra)
    assert detail["event"] == str(kind)
    assert detail["callerUserArn"].endswith(":user/bob")
    assert detail["author"] == ALICE
    for key, value in extra.items():
        assert detail[key] == value


def test_a_title_edit_has_no_eventbridge_event() -> None:
    edited = event(EventType.PULL_REQUEST_EDITED, previousTitle="x", previousDescription="")
    assert convert("eventbridge", edited) is None


def test_comment_on_pull_request() -> None:
    comment = {
        "commentId": "c-1",
        "inReplyTo": "c-0",
        "content": "Looks good",
        "beforeCommitId": DESTINATION,
        "afterCommitId": SOURCE,
        "filePath": "cart.py",
        "filePosition": 3,
        "relativeFileVersion": "AFTER",
    }
    body = _body(event(EventType.COMMENT_ON_PULL_REQUEST_CREATED, "bob", **comment))
    assert body["detail-type"] == "CodeCommit Comment on Pull Request"
    assert body["detail"] == {
        "afterCommitId": SOURCE,
        "beforeCommitId": DESTINATION,
        "callerUserArn": f"arn:aws:iam::{ACCOUNT}:user/bob",
        "commentId": "c-1",
        "event": "commentOnPullRequestCreated",
        "inReplyTo": "c-0",
        "notificationBody": body["detail"]["notificationBody"],
        "pullRequestId": "7",
        "repositoryId": repository().id,
        "repositoryName": "shop",
    }
    assert "Pull Request: 7" in body["detail"]["notificationBody"]


def test_comment_on_commit() -> None:
    repo = repository()
    detail = {
        "commentId": "c-2",
        "inReplyTo": "",
        "content": "Why?",
        "beforeCommitId": DESTINATION,
        "afterCommitId": SOURCE,
        "repositoryName": repo.name,
        "repositoryId": repo.id,
        "callerUserArn": f"arn:aws:iam::{ACCOUNT}:user/bob",
    }
    item = Event(EventType.COMMENT_ON_COMMIT_UPDATED, repo.name, "bob", detail, repo.id)
    body = _body(item)
    assert body["detail-type"] == "CodeCommit Comment on Commit"
    assert "pullRequestId" not in body["detail"] and "inReplyTo" not in body["detail"]
    assert body["detail"]["event"] == "commentOnCommitUpdated"
    assert f"{BASE}/repositories/shop/commit/{SOURCE}" in body["detail"]["notificationBody"]
