"""GitHub payloads for every pull-request event, from details built by details.py's
builder, each validated against GitHub's published schema (@octokit/webhooks-schemas)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.octokit import validate
from tests.unit.triggers.pr_events import (
    BASE,
    BOB,
    DESTINATION,
    SOURCE,
    convert,
    event,
    pull_request,
)
from triggers.events import EventType

PAGE = f"{BASE}/repositories/shop/pull-requests/7"


def _github(kind: EventType, definition: str, actor: str = "alice", **extra: Any) -> Any:
    payload = convert("github", event(kind, actor, extra.pop("pr", None), **extra))
    assert payload is not None
    validate(definition, payload.body)
    return payload


def test_opened_names_head_base_user_and_the_web_page() -> None:
    payload = _github(EventType.PULL_REQUEST_CREATED, "pull_request$opened")
    assert payload.event_name == "pull_request"
    body = payload.body
    assert (body["action"], body["number"]) == ("opened", 7)
    pr = body["pull_request"]
    assert pr["html_url"] == PAGE
    assert (pr["head"]["ref"], pr["head"]["sha"]) == ("feature/cart", SOURCE)
    assert (pr["base"]["ref"], pr["base"]["sha"]) == ("main", DESTINATION)
    assert pr["head"]["repo"]["full_name"] == pr["base"]["repo"]["full_name"] == "gitserver/shop"
    assert pr["user"]["login"] == "alice"
    assert (pr["state"], pr["merged"], pr["merge_commit_sha"]) == ("open", False, None)
    assert (pr["commits"], pr["changed_files"]) == (2, 2)
    assert body["sender"]["login"] == "alice"


def test_synchronize_carries_before_and_after() -> None:
    body = _github(
        EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED,
        "pull_request$synchronize",
        beforeCommitId="1" * 40,
        afterCommitId=SOURCE,
    ).body
    assert (body["action"], body["before"], body["after"]) == ("synchronize", "1" * 40, SOURCE)


def test_closed_without_merge() -> None:
    closed = pull_request(status="CLOSED")
    body = _github(EventType.PULL_REQUEST_STATUS_CHANGED, "pull_request$closed", pr=closed).body
    assert body["action"] == "closed"
    assert body["pull_request"]["merged"] is False
    assert body["pull_request"]["closed_at"] == "2026-12-05T10:00:00Z"


def test_reopened() -> None:
    body = _github(EventType.PULL_REQUEST_STATUS_CHANGED, "pull_request$reopened").body
    assert (body["action"], body["pull_request"]["state"]) == ("reopened", "open")


def test_merge_is_closed_with_merged_true_and_the_merge_commit() -> None:
    merged = pull_request(
        status="CLOSED",
        is_merged=True,
        merged_by=BOB,
        merge_commit_id="9" * 40,
        merge_option="THREE_WAY_MERGE",
    )
    body = _github(
        EventType.PULL_REQUEST_MERGE_STATUS_UPDATED, "pull_request$closed", "bob", pr=merged
    ).body
    pr = body["pull_request"]
    assert (body["action"], pr["merged"], pr["merge_commit_sha"]) == ("closed", True, "9" * 40)
    assert pr["merged_by"]["login"] == "bob"
    assert pr["merged_at"] == "2026-12-05T10:00:00Z"


def test_edited_says_what_changed_from_what() -> None:
    body = _github(
        EventType.PULL_REQUEST_EDITED,
        "pull_request$edited",
        previousTitle="WIP cart",
        previousDescription="Adds a cart.",
    ).body
    assert body["action"] == "edited"
    assert body["changes"] == {"title": {"from": "WIP cart"}}


@pytest.mark.parametrize(
    ("status", "definition", "state"),
    [
        ("APPROVE", "pull_request_review$submitted", "approved"),
        ("REVOKE", "pull_request_review$dismissed", "dismissed"),
    ],
)
def test_approvals_are_reviews(status: str, definition: str, state: str) -> None:
    payload = _github(
        EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED, definition, "bob", approvalStatus=status
    )
    assert payload.event_name == "pull_request_review"
    review = payload.body["review"]
    assert (review["state"], review["user"]["login"], review["commit_id"]) == (
        state,
        "bob",
        SOURCE,
    )
    assert payload.body["pull_request"]["html_url"] == PAGE


def _comment(**located: Any) -> dict[str, Any]:
    return {
        "commentId": "5e0c1d2e-0000-4000-8000-000000000001",
        "inReplyTo": "",
        "content": "Looks good",
        "beforeCommitId": DESTINATION,
        "afterCommitId": SOURCE,
        **located,
    }


UPDATED = EventType.COMMENT_ON_PULL_REQUEST_UPDATED
EDIT = {"previousContent": "Looks OK", "deleted": False}
DELETE = {"previousContent": "Looks good", "deleted": True}


@pytest.mark.parametrize(
    ("kind", "extra", "definition"),
    [
        (EventType.COMMENT_ON_PULL_REQUEST_CREATED, {}, "issue_comment$created"),
        (UPDATED, EDIT, "issue_comment$edited"),
        (UPDATED, DELETE, "issue_comment$deleted"),
    ],
)
def test_general_comments_are_issue_comments(
    kind: EventType, extra: dict[str, Any], definition: str
) -> None:
    payload = _github(kind, definition, "bob", **_comment(**extra))
    assert payload.body["action"] == definition.partition("$")[2]
    if extra is EDIT:
        assert payload.body["changes"] == {"body": {"from": "Looks OK"}}
    assert payload.event_name == "issue_comment"
    body = payload.body
    assert body["comment"]["body"] == "Looks good"
    assert body["comment"]["user"]["login"] == "bob"
    assert body["comment"]["html_url"].startswith(PAGE + "#comment-")
    assert body["issue"]["number"] == 7
    assert body["issue"]["pull_request"]["html_url"] == PAGE


@pytest.mark.parametrize(
    ("kind", "extra", "definition"),
    [
        (EventType.COMMENT_ON_PULL_REQUEST_CREATED, {}, "pull_request_review_comment$created"),
        (UPDATED, EDIT, "pull_request_review_comment$edited"),
        (UPDATED, DELETE, "pull_request_review_comment$deleted"),
    ],
)
def test_located_comments_are_review_comments(
    kind: EventType, extra: dict[str, Any], definition: str
) -> None:
    located = _comment(
        **extra,
        filePath="cart.py",
        filePosition=12,
        relativeFileVersion="BEFORE",
        inReplyTo="5e0c1d2e-0000-4000-8000-000000000000",
    )
    payload = _github(kind, definition, "bob", **located)
    assert payload.event_name == "pull_request_review_comment"
    assert payload.body["action"] == definition.partition("$")[2]
    comment = payload.body["comment"]
    assert (comment["path"], comment["line"], comment["side"]) == ("cart.py", 12, "LEFT")
    assert comment["commit_id"] == DESTINATION  # the BEFORE side's commit
    assert "in_reply_to_id" in comment
    assert payload.body["pull_request"]["number"] == 7


@pytest.mark.parametrize(
    "kind",
    [
        EventType.PULL_REQUEST_APPROVAL_RULE_CREATED,
        EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED,
        EventType.PULL_REQUEST_APPROVAL_RULE_DELETED,
        EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN,
    ],
)
def test_no_github_counterpart_sends_nothing(kind: EventType) -> None:
    assert convert("github", event(kind, approvalRuleName="two")) is None
