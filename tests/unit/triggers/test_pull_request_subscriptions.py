"""`--events pull_request` and what a GitHub hook's ping says it will send."""

from __future__ import annotations

from triggers.events import EventType
from triggers.formats.github import github_events
from triggers.subscriptions import expand_events


def test_the_pull_request_shorthand_selects_every_pr_event_and_no_push() -> None:
    selected = set(expand_events(["pull_request"]))
    assert {
        EventType.PULL_REQUEST_CREATED,
        EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED,
        EventType.PULL_REQUEST_STATUS_CHANGED,
        EventType.PULL_REQUEST_MERGE_STATUS_UPDATED,
        EventType.PULL_REQUEST_EDITED,
        EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED,
        EventType.PULL_REQUEST_APPROVAL_RULE_CREATED,
        EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED,
        EventType.PULL_REQUEST_APPROVAL_RULE_DELETED,
        EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN,
        EventType.PULL_REQUEST_AUTO_MERGE_ENABLED,
        EventType.PULL_REQUEST_AUTO_MERGE_DISABLED,
        EventType.COMMENT_ON_PULL_REQUEST_CREATED,
        EventType.COMMENT_ON_PULL_REQUEST_UPDATED,
    } == selected
    assert github_events(sorted(selected)) == [
        "issue_comment",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
    ]
    assert github_events(expand_events(["push", "pull_request"]))[:2] == [
        "issue_comment",
        "pull_request",
    ]
    assert "push" in github_events(expand_events(["push", "pull_request"]))
